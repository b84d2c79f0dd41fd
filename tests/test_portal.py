"""The customer's portal: /my/signatures, its documents' pages, Sign from the portal, the
downloads, the home entries, the quotation page; each route against the access matrix (the
participant's portal user, a colleague of the same company who is not a participant, the
company's own login, another customer, the public), and the API closed to portal users."""

import base64
import json
from datetime import timedelta
from unittest.mock import patch
from xmlrpc.client import Fault

import pymupdf
from freezegun import freeze_time

from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.portal.controllers.portal import CustomerPortal

from .common import signature_data_url
from .test_sale import DigitalSignSaleCommon

PNG_SIGNATURE = signature_data_url()


class DigitalSignPortalCommon(DigitalSignSaleCommon):
    """Acme AB, a customer company: Petra (a portal user, who signs), Per (her colleague, who
    signs nothing) and Acme's own login; Olle, a portal user of another customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = cls.env["res.partner"].create(
            {"name": "Acme AB", "is_company": True, "email": "office@acme.example"}
        )
        cls.petra = cls._portal_user("ds_petra", "Petra Portal", "petra@acme.example", cls.acme)
        cls.per = cls._portal_user("ds_per", "Per Colleague", "per@acme.example", cls.acme)
        cls.olle = cls._portal_user("ds_olle", "Olle Other", "olle@other.example")
        cls.acme_login = new_test_user(
            cls.env,
            login="ds_acmeab",
            groups="base.group_portal",
            name="Acme AB login",
            email="login@acme.example",
        )
        cls.acme_login.partner_id = cls.acme
        cls.finalize_cron = cls.env.ref("digital_sign.ir_cron_finalize_documents")

    @classmethod
    def _portal_user(cls, login, name, email, company=None):
        user = new_test_user(
            cls.env, login=login, groups="base.group_portal", name=name, email=email
        )
        user.partner_id.write(
            {"parent_id": company.id if company else False, "phone": "+46 70 555 01 02"}
        )
        return user

    @classmethod
    def _participant(cls, user, role="Customer", **values):
        partner = user.partner_id
        return {
            "partner_id": partner.id,
            "name": partner.name,
            "email": partner.email,
            "mobile": "+46705550102",
            "role": role,
            **values,
        }

    def _sent(self, name, participants=None, customer=None, order=None, pdf=None):
        """A document sent for signature, Petra's by default (its customer and signer)."""
        values = {"res_model": "sale.order", "res_id": order.id} if order else {}
        sign_request = self._create_request(
            name=name,
            pdf=pdf,
            participants=participants or [self._participant(self.petra)],
            partner_id=(customer or self.petra.partner_id).id,
            user_id=self.user_a.id,
            **values,
        )
        with self.mock_mail_gateway():
            sign_request.action_send()
        return sign_request

    def _sign_as(self, participant):
        """``participant`` signs through the flow, then the final document is built."""
        mine = participant.request_id.field_ids.filtered(lambda f: f.participant_id == participant)
        values = {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"}
        result = participant._submit(values, True, participant.request_id.original_sha256)
        self.assertEqual(result["status"], "ok")
        with self.mock_mail_gateway():
            self.finalize_cron.method_direct_trigger()

    def _login(self, user):
        if user:
            self.authenticate(user.login, user.login)
        elif self.session:
            self.logout()

    def _get(self, url):
        return self.url_open(url, allow_redirects=False)

    def _events(self, sign_request, event_type):
        sign_request.invalidate_recordset()
        return sign_request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)


@tagged("post_install", "-at_install")
class TestPortalSignatures(DigitalSignPortalCommon):
    # === /my/signatures === #
    def test_the_list_shows_each_user_their_own_documents(self):
        mine = self._sent("Petra contract")
        # addressed to Petra, signed by someone else: Petra sees it, without Sign
        addressed = self._sent(
            "Petra guarantee",
            participants=[
                {
                    "partner_id": self.cosigner.id,
                    "name": self.cosigner.name,
                    "email": self.cosigner.email,
                    "role": "Customer",
                }
            ],
        )
        others = self._sent(
            "Olle contract",
            participants=[self._participant(self.olle)],
            customer=self.olle.partner_id,
        )
        draft = self._create_request(
            name="Petra draft",
            partner_id=self.petra.partner_id.id,
            participants=[self._participant(self.petra)],
        )
        sign_mine = f"/my/signatures/{mine.id}/sign"

        self._login(self.petra)
        page = self._get("/my/signatures")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Petra contract", page.text)
        self.assertIn("Petra guarantee", page.text)
        self.assertNotIn("Olle contract", page.text)
        self.assertNotIn("Petra draft", page.text, "a draft was never sent")
        self.assertIn(sign_mine, page.text)
        self.assertNotIn(f"/my/signatures/{addressed.id}/sign", page.text)
        self.assertIn("Waiting for your signature", page.text)
        self.assertIn("Alice Sender", page.text, "the sender")
        self.assertNotIn("/digital_sign/s/", page.text, "no signing link in the page")
        self.assertNotIn(self.cosigner.email, page.text, "no contact of other participants")

        # the colleague who signs nothing sees nothing, another customer only their own
        self._login(self.per)
        page = self._get("/my/signatures")
        self.assertEqual(page.status_code, 200)
        for name in ("Petra contract", "Petra guarantee", "Olle contract"):
            self.assertNotIn(name, page.text)
        self.assertIn("There are no documents to show here.", page.text)
        self._login(self.olle)
        page = self._get("/my/signatures")
        self.assertIn("Olle contract", page.text)
        self.assertNotIn("Petra", page.text)
        self.assertIn(f"/my/signatures/{others.id}/sign", page.text)

        # the company's own login sees what is addressed to its contacts, and signs nothing
        self._login(self.acme_login)
        page = self._get("/my/signatures")
        self.assertIn("Petra contract", page.text)
        self.assertIn("Petra guarantee", page.text)
        self.assertNotIn("Olle contract", page.text)
        self.assertNotIn(sign_mine, page.text)

        # the public is sent to the login page
        self._login(None)
        page = self._get("/my/signatures")
        self.assertEqual(page.status_code, 303)
        self.assertIn("/web/login", page.headers["Location"])
        self.assertTrue(draft)

    def test_filters_search_sorting_and_pages(self):
        first = self._sent("Alpha agreement")
        second = self._sent("Beta agreement")
        done = self._sent("Gamma agreement")
        self._sign_as(done.participant_ids)
        late = self._sent("Delta agreement")
        late.sudo().deadline = late.sent_on + timedelta(minutes=1)
        self._login(self.petra)

        def names(url):
            page = self._get(url)
            self.assertEqual(page.status_code, 200, url)
            return [name for name in ("Alpha", "Beta", "Gamma", "Delta") if name in page.text]

        with freeze_time(late.sent_on + timedelta(hours=1)):
            self.assertEqual(names("/my/signatures?filterby=to_sign"), ["Alpha", "Beta"])
            self.assertEqual(names("/my/signatures?filterby=signed"), ["Gamma"])
            self.assertEqual(names("/my/signatures?filterby=closed"), ["Delta"])
            self.assertEqual(names("/my/signatures?filterby=waiting"), [])
            self.assertEqual(names("/my/signatures?search=beta"), ["Beta"])
            self.assertEqual(
                names("/my/signatures?filterby=nonsense&sortby=nonsense"),
                ["Alpha", "Beta", "Gamma", "Delta"],
                "bad values: the defaults",
            )
            page = self._get("/my/signatures?sortby=name").text
            self.assertLess(page.index("Alpha agreement"), page.index("Beta agreement"))
            self.assertLess(page.index("Delta agreement"), page.index("Gamma agreement"))
            with patch.object(CustomerPortal, "_items_per_page", 3):
                page_1 = names("/my/signatures?sortby=name")
                page_2 = names("/my/signatures/page/2?sortby=name")
            self.assertEqual(page_1, ["Alpha", "Beta", "Delta"])
            self.assertEqual(page_2, ["Gamma"])
        self.assertTrue(first and second)

    # === /my/signatures/<id> === #
    def test_the_document_page_shows_names_states_and_timeline_only(self):
        sign_request = self._sent(
            "Joint contract",
            pdf=self.pdf_two_roles,
            participants=[
                self._participant(self.petra),
                {
                    "partner_id": self.cosigner.id,
                    "name": self.cosigner.name,
                    "role": "Cosigner",
                    "email": self.cosigner.email,
                    "mobile": "+46707654321",
                    "mandatory": False,
                },
            ],
        )
        url = f"/my/signatures/{sign_request.id}"
        self._login(self.petra)
        page = self._get(url)
        self.assertEqual(page.status_code, 200)
        for text in (
            "Joint contract",
            sign_request.reference,
            "Petra Portal",
            "Carl Cosigner",
            "Cosigner",
            "Invited",
            "Sent",
            "Invitation sent",
            f"{url}/sign",
            "Waiting for your signature",
        ):
            self.assertIn(text, page.text)
        for secret in ("carl@example.com", "+46707654321", "/digital_sign/s/"):
            self.assertNotIn(secret, page.text)

        # a colleague, another customer, an unknown or absurd id: the same 404
        for user in (self.per, self.olle):
            self._login(user)
            with mute_logger("odoo.http"):
                self.assertEqual(self._get(url).status_code, 404, user.login)
        self._login(self.petra)
        with mute_logger("odoo.http"):
            for bad in ("/my/signatures/999999", "/my/signatures/99999999999999999999"):
                self.assertEqual(self._get(bad).status_code, 404, bad)
        # the company's own login reads it, without Sign
        self._login(self.acme_login)
        page = self._get(url)
        self.assertEqual(page.status_code, 200)
        self.assertNotIn(f"{url}/sign", page.text)
        self._login(None)
        self.assertIn("/web/login", self._get(url).headers["Location"])

    def test_a_draft_is_never_shown(self):
        draft = self._create_request(
            name="Not yet",
            partner_id=self.petra.partner_id.id,
            participants=[self._participant(self.petra)],
        )
        self._login(self.petra)
        with mute_logger("odoo.http"):
            for suffix in ("", "/sign", "/signed", "/certificate"):
                self.assertEqual(
                    self._get(f"/my/signatures/{draft.id}{suffix}").status_code, 404, suffix
                )

    # === Sign === #
    def test_sign_goes_straight_to_the_users_own_signing_page(self):
        sign_request = self._sent(
            "Joint contract",
            pdf=self.pdf_two_roles,
            participants=[
                self._participant(self.petra, signing_order=1),
                self._participant(self.per, role="Cosigner", signing_order=2),
            ],
        )
        petra, per = sign_request.participant_ids.sorted("signing_order")
        sign = f"/my/signatures/{sign_request.id}/sign"

        self._login(self.petra)
        response = self._get(sign)
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith(petra._get_signing_path()))
        self.assertIn("no-store", response.headers["Cache-Control"])
        self.assertEqual(response.headers["Referrer-Policy"], "no-referrer")
        page = self.url_open(sign)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Sign here", page.text, "the document to sign, no code asked")

        # Per signs after Petra: not his turn yet, so back to the document's page
        self._login(self.per)
        response = self._get(sign)
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith(f"/my/signatures/{sign_request.id}"))
        self.assertFalse(per._get_signing_path())
        self.assertTrue(
            self._get(f"{sign}?participant={petra.id}")
            .headers["Location"]
            .endswith(f"/my/signatures/{sign_request.id}"),
            "never someone else's link",
        )
        self._sign_as(petra)
        response = self._get(sign)
        self.assertTrue(response.headers["Location"].endswith(per._get_signing_path()))
        # Petra signed: her Sign leads back to the page; others get a 404 or the login
        self._login(self.petra)
        self.assertTrue(
            self._get(sign).headers["Location"].endswith(f"/my/signatures/{sign_request.id}")
        )
        self._login(self.olle)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(sign).status_code, 404)
        self._login(None)
        self.assertIn("/web/login", self._get(sign).headers["Location"])

    def test_a_document_with_an_external_service_has_no_sign(self):
        sign_request = self._sent("Contract")
        self._login(self.petra)
        # The document is out with GetAccept (as the provider's outbox leaves it): its
        # participants sign at the service.
        sign_request.sudo().provider_id = self.env["digital.sign.provider"].create(
            {
                "name": "GetAccept",
                "code": "getaccept",
                "state": "test",
                "getaccept_api_token": "ga-token",
            }
        )
        page = self._get(f"/my/signatures/{sign_request.id}")
        self.assertNotIn(f"/my/signatures/{sign_request.id}/sign", page.text)
        self.assertIn("Waiting for your signature", page.text)
        self.assertTrue(
            self._get(f"/my/signatures/{sign_request.id}/sign")
            .headers["Location"]
            .endswith(f"/my/signatures/{sign_request.id}")
        )

    # === downloads === #
    def test_signed_pdf_and_certificate_downloads(self):
        sign_request = self._sent("Contract")
        base = f"/my/signatures/{sign_request.id}"
        self._login(self.petra)
        with mute_logger("odoo.http"):
            self.assertEqual(self._get(f"{base}/signed").status_code, 404, "not signed yet")
        self._sign_as(sign_request.participant_ids)
        self.assertEqual(sign_request.finalize_state, "done")
        signed = base64.b64decode(sign_request.signed_pdf)
        page = self._get(base)
        certificate_page = sign_request.page_count + 1
        self.assertIn(f"{base}/signed", page.text)
        self.assertIn(f"{base}/certificate#page={certificate_page}", page.text)

        for _i in range(2):
            response = self._get(f"{base}/signed")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, signed)
            self.assertIn("attachment", response.headers["Content-Disposition"])
            self.assertIn("no-store", response.headers["Cache-Control"])
        response = self._get(f"{base}/certificate")
        self.assertEqual(response.content, signed, "the sealed document itself")
        self.assertIn("inline", response.headers["Content-Disposition"])
        doc = pymupdf.open(stream=response.content, filetype="pdf")
        self.assertIn("Certificate of completion", doc[certificate_page - 1].get_text())
        self.assertNotIn("Certificate of completion", doc[certificate_page - 2].get_text())
        downloads = self._events(sign_request, "downloaded")
        self.assertEqual(
            sorted(json.loads(e.details)["document"] for e in downloads),
            ["certificate", "signed"],
            "once per session each",
        )
        self.assertEqual(downloads.participant_id, sign_request.participant_ids)
        self.assertEqual(set(downloads.mapped("channel")), {"portal"})

        # the company's login may download it; the colleague, another customer may not
        self._login(self.acme_login)
        self.assertEqual(self._get(f"{base}/signed").status_code, 200)
        for user in (self.per, self.olle):
            self._login(user)
            with mute_logger("odoo.http"):
                for which in ("signed", "certificate"):
                    self.assertEqual(self._get(f"{base}/{which}").status_code, 404)
        self._login(None)
        self.assertIn("/web/login", self._get(f"{base}/signed").headers["Location"])

    def test_downloads_refuse_hostile_paths_cleanly(self):
        """The one download route (``signed`` or ``certificate``) answers anything else, an
        id of the wrong type, out of PostgreSQL's range or of nobody's document, with the
        same 404: never a server error, never a download logged."""
        sign_request = self._sent("Contract")
        self._sign_as(sign_request.participant_ids)
        self.assertEqual(sign_request.finalize_state, "done")
        self._login(self.petra)
        base = "/my/signatures"
        hostile = [
            f"{base}/{sign_request.id}/original",
            f"{base}/{sign_request.id}/SIGNED",
            f"{base}/{sign_request.id}/signed.pdf",
            f"{base}/{sign_request.id}/certificate/x",
            f"{base}/abc/signed",
            f"{base}/-1/signed",
            f"{base}/99999999999999999999/signed",
            f"{base}/{sign_request.id + 1000}/certificate",
        ]
        with mute_logger("odoo.http"):
            for path in hostile:
                with self.subTest(path=path):
                    self.assertEqual(self._get(path).status_code, 404)
        self.assertFalse(self._events(sign_request, "downloaded"), "nothing was served")
        self.assertEqual(self._get(f"{base}/{sign_request.id}/signed").status_code, 200)

    # === the portal home === #
    def test_home_entries_count_documents_to_sign_and_signed(self):
        first = self._sent("Contract")
        self._sent("Annex")
        counters = ["digital_sign_to_sign_count", "digital_sign_signed_count"]
        self._login(self.petra)
        home = self._get("/my/home")
        self.assertIn("Documents to sign", home.text)
        self.assertIn("Signed documents", home.text)
        self.assertIn("/my/signatures?filterby=to_sign", home.text)
        self.assertEqual(
            self.make_jsonrpc_request("/my/counters", {"counters": counters}),
            {"digital_sign_to_sign_count": 2, "digital_sign_signed_count": 0},
        )
        self._sign_as(first.participant_ids)
        self.assertEqual(
            self.make_jsonrpc_request("/my/counters", {"counters": counters}),
            {"digital_sign_to_sign_count": 1, "digital_sign_signed_count": 1},
        )
        self._login(self.per)
        self.assertEqual(
            self.make_jsonrpc_request("/my/counters", {"counters": counters}),
            {"digital_sign_to_sign_count": 0, "digital_sign_signed_count": 0},
        )

    # === the API === #
    @mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc")
    def test_portal_users_read_nothing_through_the_api(self):
        sign_request = self._sent("Contract")
        self._sign_as(sign_request.participant_ids)
        db = self.env.cr.dbname
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "digital.sign.request"),
                    ("res_id", "=", sign_request.id),
                    ("res_field", "=", "signed_pdf"),
                ]
            )
        )
        self.assertTrue(attachment)
        for user in (self.petra, self.acme_login):
            uid = self.xmlrpc_common.authenticate(db, user.login, user.login, {})
            self.assertTrue(uid)
            for model, method, args in (
                ("digital.sign.request", "search_read", [[]]),
                ("digital.sign.request", "read", [sign_request.ids, ["name"]]),
                ("digital.sign.participant", "read", [sign_request.participant_ids.ids, ["email"]]),
                ("digital.sign.participant", "search_count", [[]]),
                ("digital.sign.event", "search_read", [[]]),
                ("digital.sign.field", "search_read", [[]]),
                ("ir.attachment", "read", [attachment.ids, ["datas"]]),
            ):
                with (
                    self.subTest(user=user.login, model=model, method=method),
                    self.assertRaises(Fault) as caught,
                ):
                    self.xmlrpc_object.execute_kw(db, uid, user.login, model, method, args)
                self.assertRegex(
                    caught.exception.faultString,
                    r"not allowed to access|doesn't have 'read' access",
                )
        # nor the file by its attachment id
        self._login(self.petra)
        self.assertIn(self._get(f"/web/content/{attachment.id}").status_code, (403, 404))


@tagged("post_install", "-at_install")
class TestPortalSigningPage(DigitalSignPortalCommon):
    """A portal user who opens their signing page while logged in."""

    def test_the_audit_trail_says_who_was_logged_in(self):
        sign_request = self._sent("Contract")
        participant = sign_request.participant_ids
        self._login(self.petra)
        for _i in range(2):
            self.assertEqual(self._get(f"/my/signatures/{sign_request.id}/sign").status_code, 303)
            self.assertEqual(self.url_open(participant._get_signing_path()).status_code, 200)
        event = self._events(sign_request, "opened_logged_in")
        self.assertEqual(len(event), 1, "once per session")
        self.assertEqual(
            json.loads(event.details),
            {"user": "portal user Petra Portal (ds_petra)", "is_participant": True},
        )
        self.assertEqual(event.actor_id, self.petra)
        # a colleague holding her link (forwarded) is named, as not the participant
        self._login(self.per)
        self.url_open(participant._get_signing_path())
        event = self._events(sign_request, "opened_logged_in") - event
        self.assertEqual(
            json.loads(event.details),
            {"user": "portal user Per Colleague (ds_per)", "is_participant": False},
        )
        row = sign_request._prepare_completion_data().participants[0]
        self.assertIn("portal user Petra Portal (ds_petra)", row.logged_in_as)

    def test_the_login_replaces_the_code_only_when_the_sender_required_none(self):
        sign_request = self._sent("Contract")
        participant = sign_request.participant_ids
        self._sign_as(participant)
        path = participant._get_signing_path()
        with freeze_time(participant.signed_at + timedelta(days=31)):
            self._login(None)
            self.assertIn("Confirm it is you", self.url_open(path).text, "the link alone")
            with mute_logger("odoo.http"):
                self.assertEqual(self._get(f"{path}/download/signed").status_code, 404)
            self._login(self.per)
            self.assertIn("Confirm it is you", self.url_open(path).text, "not his link")
            self._login(self.petra)
            page = self.url_open(path)
            self.assertNotIn("Confirm it is you", page.text)
            self.assertIn("Download the signed document", page.text)
            self.assertIn(f'href="/my/signatures/{sign_request.id}"', page.text)
            self.assertEqual(self._get(f"{path}/download/signed").status_code, 200)

    def test_a_code_the_sender_required_is_still_asked(self):
        sign_request = self._sent(
            "Contract", participants=[self._participant(self.petra, otp_channel="sms")]
        )
        participant = sign_request.participant_ids
        self._login(self.petra)
        page = self.url_open(f"/my/signatures/{sign_request.id}/sign")
        self.assertIn("Confirm it is you", page.text)
        self.assertNotIn("Sign here", page.text)
        with mute_logger("odoo.http"):
            self.assertEqual(
                self._get(f"{participant._get_signing_path()}/page/1").status_code, 404
            )


@tagged("post_install", "-at_install")
class TestPortalQuotation(DigitalSignPortalCommon):
    """The quotation's portal page (/my/orders/<id>) while it is out for signature."""

    def _order(self, **values):
        order = self._create_quotation(partner=self.petra.partner_id, **values)
        sign_request = self._sent(f"Quotation {order.name}", order=order)
        self.assertEqual(order.digital_sign_state, "sent")
        return order, sign_request

    def test_the_quotation_page_offers_sign_to_its_participant_only(self):
        order, sign_request = self._order(require_payment=True)
        url = f"/my/orders/{order.id}"
        sign = f"/my/signatures/{sign_request.id}/sign"
        self._login(self.petra)
        page = self._get(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Digital signature", page.text)
        self.assertIn("Waiting for your signature", page.text)
        self.assertIn(sign, page.text)
        self.assertIn("Sign this quotation", page.text)
        self.assertNotIn("Accept &amp; Sign", page.text, "Odoo's own signature is hidden")
        self.assertNotIn("Accept &amp; Pay", page.text, "paying would accept it unsigned")
        self.assertFalse(order._has_to_be_paid())
        self.assertNotIn("/digital_sign/s/", page.text)
        # the quotation is among her quotations to review, although it is a draft
        self.assertEqual(order.state, "draft")
        self.assertIn(order.name, self._get("/my/quotes").text)
        self.assertEqual(
            self.make_jsonrpc_request("/my/counters", {"counters": ["quotation_count"]})[
                "quotation_count"
            ],
            1,
        )

        # her colleague reads the quotation (Odoo's rule), sees the status, not her link
        self._login(self.per)
        page = self._get(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Waiting for signatures", page.text)
        self.assertNotIn(sign, page.text)
        self.assertNotIn("Sign this quotation", page.text)
        # another customer is sent away; the public with the order's token sees the status
        self._login(self.olle)
        page = self._get(url)
        self.assertIn(page.status_code, (302, 303))
        self._login(None)
        token = order._portal_ensure_token()
        page = self._get(f"{url}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Digital signature", page.text)
        self.assertNotIn(sign, page.text)
        self.assertNotIn("/digital_sign/s/", page.text)
        # no digital signature under way any more: Odoo's payment is back
        sign_request._set_cancelled("Accepted by phone")
        self.assertTrue(order._has_to_be_paid())

    def test_the_signed_pdf_sits_beside_the_orders_documents(self):
        order, sign_request = self._order()
        self._sign_as(sign_request.participant_ids)
        self.assertEqual(order.state, "sale")
        download = f"/my/orders/{order.id}/signed/{sign_request.id}"
        self._login(self.petra)
        page = self._get(f"/my/orders/{order.id}")
        self.assertIn(download, page.text)
        self.assertIn("Signed PDF", page.text)
        self.assertNotIn("Sign this quotation", page.text)
        response = self._get(download)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, base64.b64decode(sign_request.signed_pdf))
        downloads = self._events(sign_request, "downloaded")
        self.assertEqual(json.loads(downloads.details), {"document": "signed", "order": order.id})
        # whoever reads the order downloads it; others get a 404
        self._login(self.per)
        self.assertEqual(self._get(download).status_code, 200)
        other_order = self._create_quotation(partner=self.olle.partner_id)
        with mute_logger("odoo.http"):
            self.assertEqual(
                self._get(f"/my/orders/{other_order.id}/signed/{sign_request.id}").status_code, 404
            )
            self._login(self.olle)
            self.assertEqual(self._get(download).status_code, 404)
            self._login(None)
            self.assertEqual(self._get(download).status_code, 404)
            self.assertEqual(self._get(f"{download}?access_token=wrong").status_code, 404)
        token = order._portal_ensure_token()
        self.assertEqual(self._get(f"{download}?access_token={token}").status_code, 200)


@tagged("post_install", "-at_install")
class TestPortalTour(DigitalSignPortalCommon):
    def test_a_portal_customer_signs_the_quotation_from_the_portal(self):
        order = self._create_quotation(partner=self.petra.partner_id)
        with self.mock_mail_gateway():
            sign_request = self._send(order)
        participant = sign_request.participant_ids
        self.assertEqual(participant.partner_id, self.petra.partner_id)
        self.start_tour("/my", "digital_sign_portal_sign_quotation", login=self.petra.login)
        self.assertEqual(participant.state, "signed")
        self.assertEqual(sign_request.state, "signed")
        self.assertEqual(
            json.loads(self._events(sign_request, "opened_logged_in").details),
            {"user": "portal user Petra Portal (ds_petra)", "is_participant": True},
        )
        with self.mock_mail_gateway():
            self.finalize_cron.method_direct_trigger()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.signed_by, "Petra Portal")
