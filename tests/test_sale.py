import base64
import hashlib
import re
from datetime import timedelta
from unittest.mock import patch

import pymupdf
from freezegun import freeze_time
from lxml import etree

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from odoo.addons.mail.tests.common import MockEmail
from odoo.addons.sale.models.sale_order import SaleOrder as SaleOrderBase
from odoo.addons.sms.tests.common import SMSCase

from ..engine import anchors, pdf_sanitize
from .common import DigitalSignCommon, signature_data_url

PNG_SIGNATURE = signature_data_url()
# wkhtmltopdf fetches the report's style sheets from report.url. The test server cannot
# answer it while the test holds the database cursor, so the tests point it to a closed
# port: the PDF is built at once, unstyled, and its links (the anchors) are kept.
UNREACHABLE_REPORT_URL = "http://127.0.0.1:9"
KINDS = ("quote", "quick_quote", "upsell", "order_confirmation")


class DigitalSignSaleCommon(DigitalSignCommon, SMSCase, MockEmail):
    """Quotations sent for signature through the wizard, as a salesperson does it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("report.url", UNREACHABLE_REPORT_URL)
        cls.product = cls.env["product.product"].create(
            {
                "name": "Kitchen installation",
                "type": "service",
                "list_price": 1200.0,
            }
        )
        cls.signing_cron = cls.env.ref("digital_sign.ir_cron_finalize_documents")

    # === helpers === #
    @classmethod
    def _create_quotation(cls, user=None, partner=None, **values):
        user = user or cls.user_a
        team = cls.team_b if user == cls.user_b else cls.team_a
        order = (
            cls.env["sale.order"]
            .with_user(user)
            .create(
                {
                    "partner_id": (partner or cls.customer).id,
                    "user_id": user.id,
                    "team_id": team.id,
                    "validity_date": fields.Date.today() + timedelta(days=20),
                    "order_line": [
                        Command.create({"product_id": cls.product.id, "product_uom_qty": 2})
                    ],
                    **values,
                }
            )
        )
        return order.with_user(cls.env.user)

    def _open_wizard(self, order, user=None):
        action = order.with_user(user or self.user_a).action_digital_sign_send()
        self.assertEqual(action["res_model"], "digital.sign.request.send")
        wizard_model = self.env[action["res_model"]].with_user(user or self.user_a)
        return Form(wizard_model.with_context(**action["context"]))

    def _send(self, order, user=None, document_kind=None, invite_channel="email", cosigner=None):
        """Send ``order`` through the "Send for signature" wizard and return the request."""
        wizard_form = self._open_wizard(order, user)
        if document_kind:
            wizard_form.document_kind = document_kind
        wizard_form.invite_channel = invite_channel
        if cosigner:
            with wizard_form.line_ids.new() as line:
                line.partner_id = cosigner
                line.role = "Cosigner"
                line.signing_order = 1
                line.mandatory = False
                line.invite_channel = "email"
        wizard = wizard_form.save()
        result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "success")
        return order.digital_sign_request_id

    def _csrf(self, participant):
        page = self.url_open(participant._get_signing_path(), allow_redirects=False)
        self.assertEqual(page.status_code, 200)
        return re.search(r'csrf_token: "([^"]+)"', page.text).group(1)

    def _rpc(self, participant, route, **params):
        params["csrf_token"] = self._csrf(participant)
        return self.make_jsonrpc_request(f"{participant._get_signing_path()}/{route}", params)

    def _sign(self, participant):
        mine = participant.request_id.field_ids.filtered(lambda f: f.participant_id == participant)
        values = {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"}
        return self._rpc(
            participant,
            "submit",
            values=values,
            consent=True,
            document_sha256=participant.request_id.original_sha256,
        )

    def _activities(self, record, user):
        return record.activity_ids.filtered(lambda a: a.user_id == user)


@tagged("post_install", "-at_install")
class TestSale(DigitalSignSaleCommon):
    # === sending === #
    def test_each_kind_is_mailed_with_its_own_template_and_the_link(self):
        subjects = {
            "quote": "is ready to sign",
            "quick_quote": "Quick quote",
            "upsell": "A suggestion for your order",
            "order_confirmation": "Please confirm your order",
        }
        for kind in KINDS:
            with self.subTest(kind=kind):
                order = self._create_quotation()
                with self.mock_mail_gateway(), self.mockSMSGateway():
                    request = self._send(order, document_kind=kind)
                self.assertEqual(request.state, "sent")
                self.assertEqual(request.document_kind, kind)
                self.assertEqual((request.res_model, request.res_id), ("sale.order", order.id))
                self.assertEqual(request.user_id, self.user_a)
                self.assertEqual(request.team_id, self.team_a)
                self.assertEqual(order.digital_sign_state, "sent")
                participant = request.participant_ids
                self.assertEqual(participant.partner_id, self.customer)
                url = participant._get_signing_url()
                self.assertTrue(url)
                self.assertEqual(order.digital_sign_url, url, "the order shows the link sent")
                mail = self._find_mail_mail_wemail("ingrid@example.com", "outgoing")
                self.assertIn(subjects[kind], mail.subject)
                self.assertIn(url, mail.body_html)
                # A credential: linked to no document, so no chatter or message list shows it.
                self.assertFalse(mail.model)
                self.assertEqual(mail.digital_sign_participant_id, participant)
                self.assertFalse(self._new_sms, "no SMS for an e-mail invitation")
                token = participant.sudo().access_token
                for record in (order, request):
                    self.assertFalse(
                        record.message_ids.filtered(lambda m, token=token: token in str(m.body)),
                        "the link never goes to the chatter",
                    )
                self.assertFalse(order._has_to_be_signed())

    def test_each_kind_is_texted_to_the_e164_mobile(self):
        wording = {
            "quote": "is ready to sign",
            "quick_quote": "a quick quote",
            "upsell": "suggests an addition",
            "order_confirmation": "please confirm your order",
        }
        for kind in KINDS:
            with self.subTest(kind=kind):
                order = self._create_quotation()
                with self.mock_mail_gateway(), self.mockSMSGateway():
                    request = self._send(order, document_kind=kind, invite_channel="sms")
                    participant = request.participant_ids
                    self.assertEqual(participant.invite_channel, "sms")
                    self.assertEqual(participant.mobile, "+46701234567")
                    url = participant._get_signing_url()
                    self.assertSMSOutgoing(self.customer, "+46701234567", content=url)
                    sms = self._find_sms_sms(self.customer, "+46701234567", "outgoing")
                    self.assertIn(wording[kind], sms.body)
                    self.assertIn(order.name, sms.body)
                    self.assertFalse(
                        self._new_mails.filtered(lambda m: m.model == "digital.sign.participant")
                    )
                token = participant.sudo().access_token
                for record in (order, request):
                    self.assertFalse(
                        record.message_ids.filtered(lambda m, token=token: token in str(m.body))
                    )
                self.assertEqual(
                    request.event_ids.filtered(lambda e: e.event_type == "invited").channel, "sms"
                )
                # the SMS queue sends it through Odoo's gateway
                with self.mockSMSGateway():
                    self.env["sms.sms"].sudo().search([("id", "=", sms.id)])._send()
                    self.assertSMSIapSent(["+46701234567"], content=url)

    def test_wizard_reports_contacts_without_a_usable_number(self):
        for phone in (False, "12"):
            with self.subTest(phone=phone):
                partner = self.env["res.partner"].create(
                    {
                        "name": "Nils Nonumber",
                        "email": "nils@example.com",
                        "phone": phone,
                        "country_id": self.env.ref("base.se").id,
                    }
                )
                order = self._create_quotation(partner=partner)
                wizard_form = self._open_wizard(order)
                self.assertFalse(wizard_form.contact_warning)
                wizard_form.invite_channel = "sms"
                self.assertIn(
                    "Nils Nonumber has no usable mobile number", wizard_form.contact_warning
                )
                wizard = wizard_form.save()
                with self.assertRaises(UserError), self.mockSMSGateway():
                    wizard.action_send()
                self.assertFalse(self._new_sms)
                self.assertEqual(order.digital_sign_state, "none")

    def test_wizard_defaults_come_from_the_quotation(self):
        order = self._create_quotation()
        wizard_form = self._open_wizard(order)
        self.assertEqual(wizard_form.document_kind, "quote")
        self.assertEqual(wizard_form.name, f"Quotation {order.name}")
        self.assertEqual(wizard_form.deadline.date(), order.validity_date)
        self.assertEqual(len(wizard_form.line_ids), 1)
        line = wizard_form.line_ids.edit(0)
        self.assertEqual(line.partner_id, self.customer)
        self.assertEqual(line.role, "Customer")
        line.save()
        # a confirmed order is sent as an order confirmation
        order.action_confirm()
        self.assertEqual(self._open_wizard(order).document_kind, "order_confirmation")
        # a cancelled or empty quotation cannot be sent
        empty = self._create_quotation(order_line=[])
        with self.assertRaises(UserError):
            empty.with_user(self.user_a).action_digital_sign_send()

    # === the PDF: Odoo's report with its anchors === #
    def test_quotation_pdf_is_the_report_with_anchors_for_each_participant(self):
        order = self._create_quotation()
        Report = type(self.env["ir.actions.report"])
        render = Report._render_qweb_pdf
        calls = []

        def spy(report, report_ref, res_ids=None, data=None):
            calls.append((report_ref, res_ids, report.env.context.get("digital_sign_anchors")))
            return render(report, report_ref, res_ids=res_ids, data=data)

        with self.mock_mail_gateway(), patch.object(Report, "_render_qweb_pdf", spy):
            request = self._send(order, cosigner=self.cosigner)
        self.assertEqual(calls[0][:2], ("sale.action_report_saleorder", order.ids))
        self.assertEqual([block["role"] for block in calls[0][2]], ["Customer", "Cosigner"])
        pdf = base64.b64decode(request.original_pdf)
        doc = pymupdf.open(stream=pdf, filetype="pdf")
        links = {}
        for page in doc:
            for link in page.get_links():
                if (link.get("uri") or "").startswith(anchors.ANCHOR_LINK_PREFIX):
                    links[link["uri"]] = (page.number + 1, pymupdf.Rect(link["from"]))
        expected = {
            anchors.anchor_link("signature", "Customer"): ("Customer", "signature", True),
            anchors.anchor_link("date", "Customer"): ("Customer", "date", True),
            anchors.anchor_link("signature", "Cosigner", True): ("Cosigner", "signature", False),
            anchors.anchor_link("date", "Cosigner", True): ("Cosigner", "date", False),
        }
        self.assertEqual(set(links), set(expected))
        customer = request.participant_ids.filtered(lambda p: p.partner_id == self.customer)
        cosigner = request.participant_ids.filtered(lambda p: p.partner_id == self.cosigner)
        self.assertEqual(len(request.field_ids), 4)
        for uri, (role, kind, mandatory) in expected.items():
            page_number, rect = links[uri]
            field = request.field_ids.filtered(
                lambda f, r=role, k=kind: f.role == r and f.kind == k
            )
            self.assertEqual(len(field), 1, uri)
            self.assertEqual(field.source, "link")
            self.assertEqual(field.page, page_number)
            self.assertEqual(field.mandatory, mandatory)
            self.assertEqual(field.participant_id, customer if role == "Customer" else cosigner)
            for got, want in zip(field.marker, rect, strict=True):
                self.assertAlmostEqual(got, want, delta=0.05)
            box = pymupdf.Rect(field.x0, field.y0, field.x1, field.y1)
            self.assertTrue(box.intersects(rect), "the place sits on its anchor")
        signature = request.field_ids.filtered(
            lambda f: f.role == "Customer" and f.kind == "signature"
        )
        self.assertGreater(pymupdf.Rect(*signature.marker).width, 80, "a 4.6 cm signature line")
        # the anchors are in the report only when digital_sign renders it
        plain, _type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("sale.action_report_saleorder", res_ids=order.ids)
        )
        plain_doc = pymupdf.open(stream=plain, filetype="pdf")
        self.assertFalse(
            [
                link
                for page in plain_doc
                for link in page.get_links()
                if (link.get("uri") or "").startswith(anchors.ANCHOR_LINK_PREFIX)
            ]
        )
        # what the customer sees has no anchor link left
        shown = pymupdf.open(stream=request._get_display_pdf(), filetype="pdf")
        self.assertFalse(
            [
                link
                for page in shown
                for link in page.get_links()
                if (link.get("uri") or "").startswith(anchors.ANCHOR_LINK_PREFIX)
            ]
        )

    def test_the_quotation_pdf_has_no_active_content_and_is_kept_byte_for_byte(self):
        order = self._create_quotation()
        Report = type(self.env["ir.actions.report"])
        render = Report._render_qweb_pdf
        rendered = []

        def spy(report, report_ref, res_ids=None, data=None):
            result = render(report, report_ref, res_ids=res_ids, data=data)
            rendered.append(result[0])
            return result

        with self.mock_mail_gateway(), patch.object(Report, "_render_qweb_pdf", spy):
            request = self._send(order)
        self.assertEqual(len(rendered), 1)
        self.assertEqual(pdf_sanitize.find_active_content(rendered[0]), ())
        self.assertEqual(base64.b64decode(request.original_pdf), rendered[0])
        self.assertEqual(request.original_sha256, hashlib.sha256(rendered[0]).hexdigest())
        self.assertEqual(request.uploaded_sha256, request.original_sha256)
        self.assertFalse(request.removed_content)
        self.assertNotIn("sanitized", request.sudo().event_ids.mapped("event_type"))
        # Odoo's own print embeds the order as a UBL file (sale_edi_ubl, installed with sale
        # through account_edi_ubl_cii): the copy to sign leaves it out, rather than have
        # intake remove it every time
        self.assertTrue(order._get_edi_builders())
        plain, _type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("sale.action_report_saleorder", res_ids=order.ids)
        )
        self.assertEqual(
            {item.kind for item in pdf_sanitize.find_active_content(plain)}, {"embedded_file"}
        )

    def test_a_role_that_cannot_be_an_anchor_is_refused_clearly(self):
        order = self._create_quotation()
        wizard_form = self._open_wizard(order)
        with wizard_form.line_ids.edit(0) as line:
            line.role = "Main customer"
        with self.assertRaisesRegex(UserError, "write it as one word"):
            wizard_form.save().action_send()
        self.assertEqual(order.digital_sign_state, "none")

    def test_builtin_online_signature_is_not_offered_while_a_digital_one_is_live(self):
        order = self._create_quotation(require_signature=True)
        self.assertTrue(order._has_to_be_signed())
        with self.mock_mail_gateway():
            request = self._send(order)
        self.assertFalse(order._has_to_be_signed())
        request.participant_ids._mark_viewed()
        self.assertEqual(order.digital_sign_state, "viewed")
        self.assertFalse(order._has_to_be_signed())
        request._set_cancelled("Signed on paper")
        self.assertTrue(order._has_to_be_signed(), "once cancelled, Odoo's own way is back")

    # === a new version === #
    def test_resend_after_a_change_cancels_the_old_request_and_links_the_versions(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            first = self._send(order)
        old_path = first.participant_ids._get_signing_path()
        self.assertEqual(self.url_open(old_path).status_code, 200)
        order.order_line[0].product_uom_qty = 3
        wizard_form = self._open_wizard(order)
        self.assertEqual(wizard_form.live_request_id, first, "the wizard warns it replaces it")
        with self.mock_mail_gateway():
            wizard_form.save().action_send()
            second = order.digital_sign_request_id
            self._find_mail_mail_wemail("ingrid@example.com", "outgoing")
        self.assertNotEqual(first, second)
        self.assertEqual(first.state, "cancelled")
        self.assertEqual(first.cancel_reason, "Replaced by a new version.")
        self.assertEqual(second.state, "sent")
        self.assertEqual(second.previous_request_id, first)
        self.assertEqual((first.version, second.version), (1, 2))
        self.assertNotEqual(first.original_sha256, second.original_sha256, "the new quotation")
        self.assertEqual(self.url_open(old_path).status_code, 404, "the old link is dead")
        new_path = second.participant_ids._get_signing_path()
        self.assertEqual(self.url_open(new_path).status_code, 200)
        self.assertEqual(order.digital_sign_state, "sent", "opening the link is not viewing")
        self.assertEqual(self._rpc(second.participant_ids, "viewed"), {"status": "ok"})
        self.assertEqual(order.digital_sign_state, "viewed")
        self.assertEqual(order.digital_sign_request_ids, first | second, "the history keeps both")
        self.assertEqual(order.digital_sign_request_count, 2)

    def test_a_quotation_changed_after_sending_can_no_longer_be_signed(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        participant = request.participant_ids
        order.order_line[0].price_unit += 10  # the customer's PDF shows the old price
        result = self._sign(participant)
        self.assertEqual(result["status"], "changed")
        self.assertEqual(participant.state, "sent", "nothing signed")
        self.assertEqual(request.state, "cancelled")
        self.assertIn("changed after it was sent", request.cancel_reason)
        self.assertEqual(order.digital_sign_state, "cancelled")
        self.assertEqual(order.state, "draft")

    # === cancel === #
    def test_cancel_digital_quote_logs_the_reason_kills_links_and_allows_manual_confirm(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        path = request.participant_ids._get_signing_path()
        action = order.with_user(self.user_a).action_digital_sign_cancel()
        self.assertEqual(action["res_model"], "digital.sign.request.cancel")
        cancel_form = Form(
            self.env[action["res_model"]].with_user(self.user_a).with_context(**action["context"])
        )
        cancel_form.reason = "Accepted by phone"
        cancel_form.save().action_cancel()
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(order.digital_sign_state, "cancelled")
        self.assertEqual(self.url_open(path).status_code, 404)
        self.assertTrue(order.message_ids.filtered(lambda m: "Accepted by phone" in str(m.body)))
        self.assertFalse(order.digital_sign_url)
        with self.assertRaises(UserError):
            order.with_user(self.user_a).action_digital_sign_cancel()
        order.with_user(self.user_a).action_confirm()
        self.assertEqual(order.state, "sale")

    # === when it is signed === #
    def test_signing_confirms_the_order_with_the_signed_pdf_in_its_chatter(self):
        order = self._create_quotation(require_signature=True)
        with self.mock_mail_gateway():
            request = self._send(order)
        participant = request.participant_ids
        self.assertEqual(self._sign(participant)["status"], "ok")
        self.assertEqual(order.digital_sign_state, "signed")
        self.assertEqual(order.state, "draft", "confirmed once the signed document exists")
        with self.mock_mail_gateway():
            self.signing_cron.method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.digital_sign_error)
        self.assertEqual(order.signed_by, "Ingrid Customer")
        self.assertEqual(order.signed_on, request.signed_on)
        self.assertTrue(order.signature)
        attachments = order.message_ids.attachment_ids.filtered(
            lambda a: a.mimetype == "application/pdf" and "(signed)" in a.name
        )
        self.assertEqual(len(attachments), 1)
        self.assertEqual(attachments.raw, base64.b64decode(request.signed_pdf))
        activity = self._activities(order, self.user_a)
        self.assertEqual(len(activity), 1)
        self.assertIn("Signed and confirmed", activity.summary)
        self.assertFalse(order._has_to_be_signed())

    def test_setting_activity_only_marks_signed_and_leaves_an_activity(self):
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.sale_on_signed", "activity")
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        self._sign(request.participant_ids)
        with self.mock_mail_gateway():
            self.signing_cron.method_direct_trigger()
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.digital_sign_state, "signed")
        self.assertIn("Signed: confirm", self._activities(order, self.user_a).summary)

    def test_failing_confirmation_keeps_the_signature(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        self._sign(request.participant_ids)

        def refuse(self_):
            raise UserError("The product has no income account.")  # pylint: disable=translation-required

        with (
            patch.object(SaleOrderBase, "action_confirm", refuse),
            self.mock_mail_gateway(),
            mute_logger("odoo.addons.digital_sign.models.sale_order"),
        ):
            self.signing_cron.method_direct_trigger()
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.finalize_state, "done")
        self.assertTrue(request.signed_pdf)
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.digital_sign_state, "signed")
        self.assertTrue(order.signature, "the signature is kept")
        self.assertIn("The product has no income account.", order.digital_sign_error)
        self.assertTrue(
            order.message_ids.filtered(lambda m: "could not be confirmed" in str(m.body))
        )
        activity = self._activities(order, self.user_a)
        self.assertIn("Signed, but not confirmed", activity.summary)
        # fixed by hand: the salesperson confirms it, and the warning goes
        order.with_user(self.user_a).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.digital_sign_error)

    # === rejection, expiry === #
    def test_rejection_reason_goes_to_the_chatter_and_an_activity(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        result = self._rpc(request.participant_ids, "reject", reason="The price is too high")
        self.assertEqual(result["status"], "ok")
        self.assertEqual(order.digital_sign_state, "rejected")
        self.assertTrue(
            order.message_ids.filtered(lambda m: "The price is too high" in str(m.body))
        )
        activity = self._activities(order, self.user_a)
        self.assertIn("Quotation rejected", activity.summary)
        self.assertIn("The price is too high", str(activity.note))
        self.assertEqual(order.state, "draft")

    def test_expiry_proposes_to_resend(self):
        order = self._create_quotation()
        with self.mock_mail_gateway():
            request = self._send(order)
        self.assertEqual(request.deadline.date(), order.validity_date)
        with freeze_time(request.deadline + timedelta(minutes=1)):
            self.env.ref("digital_sign.ir_cron_expire_requests").method_direct_trigger()
        self.assertEqual(request.state, "expired")
        self.assertEqual(order.digital_sign_state, "expired")
        activity = self._activities(order, self.user_a)
        self.assertIn(f"Resend {order.name} for signature?", activity.summary)
        # the salesperson sends it again
        with self.mock_mail_gateway():
            again = self._send(order)
        self.assertEqual(again.state, "sent")
        self.assertFalse(again.previous_request_id, "nothing live was replaced")

    def test_check_status_refreshes_the_current_request(self):
        order = self._create_quotation()
        with self.assertRaises(UserError):
            order.with_user(self.user_a).action_digital_sign_check_status()
        with self.mock_mail_gateway():
            request = self._send(order)
        result = order.with_user(self.user_a).action_digital_sign_check_status()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(order.digital_sign_state, "sent")
        with freeze_time(request.deadline + timedelta(minutes=1)):
            order.with_user(self.user_a).action_digital_sign_check_status()
        self.assertEqual(order.digital_sign_state, "expired")

    # === access === #
    def test_salespeople_see_only_their_digital_quotes_and_requests(self):
        with self.mock_mail_gateway():
            order_a = self._create_quotation(self.user_a)
            request_a = self._send(order_a, self.user_a)
            order_b = self._create_quotation(self.user_b)
            request_b = self._send(order_b, self.user_b)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.sale_order_action_digital_quotes"
        )
        domain = Domain(safe_eval(action["domain"])) & Domain("id", "in", (order_a | order_b).ids)
        for user, order, request in (
            (self.user_a, order_a, request_a),
            (self.user_b, order_b, request_b),
        ):
            with self.subTest(user=user.login):
                orders = (
                    self.env["sale.order"]
                    .with_user(user)
                    .search_read(domain, ["name", "digital_sign_state"])
                )
                self.assertEqual([o["id"] for o in orders], order.ids)
                self.assertEqual(orders[0]["digital_sign_state"], "sent")
                requests = (
                    self.env["digital.sign.request"]
                    .with_user(user)
                    .search([("id", "in", (request_a | request_b).ids)])
                )
                self.assertEqual(requests, request)
        with self.assertRaises(AccessError):
            request_a.with_user(self.user_b).read(["name"])
        with self.assertRaises(AccessError):
            order_a.with_user(self.user_b).action_digital_sign_send()
        with self.assertRaises(AccessError):
            order_a.with_user(self.user_b).action_digital_sign_cancel()
        # a colleague of the same team sees the team's requests
        colleague = new_test_user(
            self.env,
            login="sign_user_a2",
            name="Anna Colleague",
            groups="digital_sign.group_user,sales_team.group_sale_salesman",
        )
        self.team_a.member_ids = [Command.link(colleague.id)]
        self.assertEqual(
            self.env["digital.sign.request"]
            .with_user(colleague)
            .search([("id", "in", (request_a | request_b).ids)]),
            request_a,
        )
        # the manager of signatures sees every request
        self.assertEqual(
            self.env["digital.sign.request"]
            .with_user(self.manager)
            .search([("id", "in", (request_a | request_b).ids)]),
            request_a | request_b,
        )

    def test_views_load_for_salespeople(self):
        salesman = new_test_user(
            self.env,
            login="plain_salesman",
            name="Pia Plain",
            groups="sales_team.group_sale_salesman",
        )
        self.assertTrue(
            salesman.has_group("digital_sign.group_user"),
            "every salesperson may send quotations for signature",
        )
        for user in (self.user_a, salesman):
            with self.subTest(user=user.login):
                order = self._create_quotation(user)
                SaleOrder = self.env["sale.order"].with_user(user)
                views = SaleOrder.get_views([(False, "form"), (False, "list"), (False, "search")])
                form = views["views"]["form"]["arch"]
                for name in (
                    "action_digital_sign_send",
                    "action_digital_sign_cancel",
                    "action_digital_sign_check_status",
                    "digital_sign_state",
                    "digital_sign_url",
                    "digital_sign_error",
                ):
                    self.assertIn(name, form)
                self.assertIn("digital_sign_state", views["views"]["list"]["arch"])
                quotations = SaleOrder.get_views(
                    [(self.env.ref("sale.view_quotation_tree").id, "list")]
                )
                self.assertIn(
                    "digital_sign_state",
                    quotations["views"]["list"]["arch"],
                    "the quotation list shows the digital status",
                )
                SaleOrder.browse(order.ids).web_read(
                    {
                        "digital_sign_state": {},
                        "digital_sign_url": {},
                        "digital_sign_request_count": {},
                        "digital_sign_error": {},
                    }
                )
                action = (
                    self.env["ir.actions.act_window"]
                    .with_user(user)
                    ._for_xml_id("digital_sign.sale_order_action_digital_quotes")
                )
                SaleOrder.get_views([(view_id, mode) for view_id, mode in action["views"]])

    # === tracking === #
    def test_digital_status_filters_and_group_by(self):
        states = ["none", "sent", "viewed", "signed", "rejected", "cancelled", "expired", "sent"]
        orders = self.env["sale.order"]
        for state in states:
            order = self._create_quotation()
            order.sudo().digital_sign_state = state
            orders |= order
        by_state = {}
        for order in orders:
            by_state.setdefault(order.digital_sign_state, self.env["sale.order"])
            by_state[order.digital_sign_state] |= order
        arch = (
            self.env["sale.order"]
            .with_user(self.user_a)
            .get_views([(False, "search")])["views"]["search"]["arch"]
        )
        search_view = etree.fromstring(arch)
        expected = {
            "digital_sign_waiting": by_state["sent"] | by_state["viewed"],
            "digital_sign_viewed": by_state["viewed"],
            "digital_sign_signed": by_state["signed"],
            "digital_sign_rejected": by_state["rejected"],
            "digital_sign_expired": by_state["expired"],
        }
        for name, want in expected.items():
            with self.subTest(filter=name):
                node = search_view.xpath(f"//filter[@name='{name}']")
                self.assertEqual(len(node), 1)
                domain = Domain(safe_eval(node[0].get("domain"))) & Domain("id", "in", orders.ids)
                found = self.env["sale.order"].with_user(self.user_a).search_read(domain, ["id"])
                self.assertEqual({o["id"] for o in found}, set(want.ids))
        group_by = search_view.xpath("//filter[@name='group_digital_sign_state']")
        self.assertEqual(safe_eval(group_by[0].get("context"))["group_by"], "digital_sign_state")
        groups = (
            self.env["sale.order"]
            .with_user(self.user_a)
            .formatted_read_group([("id", "in", orders.ids)], ["digital_sign_state"], ["__count"])
        )
        counts = {group["digital_sign_state"]: group["__count"] for group in groups}
        self.assertEqual(counts, {state: len(records) for state, records in by_state.items()})
        # Sales > Digital quotes: every order with a digital status, grouped by it
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.sale_order_action_digital_quotes"
        )
        domain = Domain(safe_eval(action["domain"])) & Domain("id", "in", orders.ids)
        self.assertEqual(self.env["sale.order"].search(domain), orders - by_state["none"])
        self.assertEqual(safe_eval(action["context"])["search_default_group_digital_sign_state"], 1)

    # === CRM === #
    def test_opportunity_shows_the_digital_status_of_its_quotations(self):
        lead = self.env["crm.lead"].create(
            {
                "name": "New kitchen",
                "type": "opportunity",
                "partner_id": self.customer.id,
                "user_id": self.user_a.id,
                "team_id": self.team_a.id,
            }
        )
        first = self._create_quotation(opportunity_id=lead.id)
        second = self._create_quotation(opportunity_id=lead.id)
        self._create_quotation(opportunity_id=lead.id)
        self.assertEqual(lead.digital_sign_order_count, 0)
        self.assertFalse(lead.digital_sign_summary)
        with self.mock_mail_gateway():
            self._send(first)
            request = self._send(second)
        request._set_cancelled("Accepted at the counter")
        lead.invalidate_recordset()
        self.assertEqual(lead.digital_sign_order_count, 2)
        self.assertEqual(lead.digital_sign_order_ids, first | second)
        self.assertEqual(lead.digital_sign_summary, "1 sent, 1 cancelled")
        action = lead.with_user(self.user_a).action_view_digital_sign_quotes()
        self.assertEqual(
            self.env["sale.order"].with_user(self.user_a).search(action["domain"]), first | second
        )
        self.assertEqual(action["views"][0][1], "list")
        self.env["sale.order"].with_user(self.user_a).get_views(action["views"])
        form = (
            self.env["crm.lead"]
            .with_user(self.user_a)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("action_view_digital_sign_quotes", form)
        self.assertIn("action_digital_sign_send", form)


@tagged("post_install", "-at_install")
class TestSaleTour(DigitalSignSaleCommon):
    def test_salesperson_sends_and_the_customer_signs_in_the_browser(self):
        order = self._create_quotation()
        self.start_tour(
            f"/odoo/sales/{order.id}", "digital_sign_sale_send", login=self.user_a.login
        )
        request = order.digital_sign_request_id
        self.assertEqual(request.state, "sent")
        self.assertEqual(request.document_kind, "quote")
        self.assertEqual(request.user_id, self.user_a)
        participant = request.participant_ids
        self.assertEqual(participant.partner_id, self.customer)
        self.assertEqual(request.field_ids.filtered(lambda f: f.kind == "signature").source, "link")
        # the customer opens the link, draws a signature, consents and signs
        self.start_tour(participant._get_signing_path(), "digital_sign_sale_sign")
        self.assertEqual(participant.state, "signed")
        self.assertEqual(request.state, "signed")
        signature = request.field_ids.filtered(lambda f: f.kind == "signature")
        self.assertTrue(signature.value_image)
        self.assertTrue(participant.consent_at)
        with self.mock_mail_gateway():
            self.signing_cron.method_direct_trigger()
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.digital_sign_state, "signed")
        self.assertEqual(order.signed_by, "Ingrid Customer")
        signed = order.message_ids.attachment_ids.filtered(lambda a: "(signed)" in a.name)
        self.assertEqual(signed.mimetype, "application/pdf")
        self.assertEqual(signed.raw, base64.b64decode(request.signed_pdf))
        doc = pymupdf.open(stream=signed.raw, filetype="pdf")
        page = doc[signature.page - 1]
        box = pymupdf.Rect(signature.x0, signature.y0, signature.x1, signature.y1)
        self.assertTrue(
            [
                image
                for image in page.get_image_info()
                if pymupdf.Rect(image["bbox"]).intersects(box)
            ],
            "the drawn signature is stamped in its place",
        )
