"""The company signs too (issue 14, part 2): a participant of kind "company" signs in the
signing order with the company's seal image, applied from the backend by a seal keeper
after reviewing the document; the audit trail and the certificate of completion say who
applied it; the external API writes no evidence, seal keepers included."""

import base64
import io
import json
from datetime import datetime, timedelta

import pymupdf
from PIL import Image, ImageDraw

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.digital_sign.engine import pdf_stamp

from .common import DigitalSignCommon, b64, make_pdf, person, signature_data_url
from .test_evidence import ExternalApiMixin
from .test_template import DigitalSignTemplateCommon

SEAL_SIZE = (300, 200)  # pixels: unlike the signatures' 240 x 90
SIGNATURE = signature_data_url()


def seal_png(size=SEAL_SIZE, mode="RGBA", fmt="PNG"):
    image = Image.new(mode, size, (255, 255, 255, 0) if mode == "RGBA" else "white")
    if min(size) > 20:
        draw = ImageDraw.Draw(image)
        draw.ellipse((4, 4, size[0] - 4, size[1] - 4), outline=(170, 20, 30), width=6)
        draw.text((size[0] // 3, size[1] // 2), "ACME SEAL", fill=(170, 20, 30))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


PDF_WITH_COMPANY = make_pdf(
    [
        {
            "texts": [
                (72, 560, "Customer: {{sign:Customer}}"),
                (72, 700, "Date: {{date:Customer}}"),
                (320, 560, "For the company: {{sign:Company}}"),
                (320, 700, "Date: {{date:Company}}"),
            ]
        }
    ]
)


class CompanySealCommon(DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.digital_sign_company_seal = b64(seal_png())
        cls.keeper = new_test_user(
            cls.env,
            login="seal_keeper",
            groups="digital_sign.group_seal_keeper",
            name="Sara Keeper",
            email="sara@example.com",
        )
        cls.ActivityType = cls.env.ref("digital_sign.mail_activity_type_company_seal")

    @classmethod
    def _company_request(cls, extra=(), user=None, **values):
        """Customer (order 1), then the company (order 2), then ``extra`` participants."""
        return cls._create_request(
            pdf=values.pop("pdf", PDF_WITH_COMPANY),
            participants=[
                person("Ingrid", "Customer", partner_id=cls.customer.id, signing_order=1),
                {"participant_kind": "company", "role": "Company", "signing_order": 2},
                *extra,
            ],
            user_id=(user or cls.user_a).id,
            team_id=cls.team_a.id,
            **values,
        )

    def _participant(self, request, kind="person", role=None):
        return request.participant_ids.filtered(
            lambda p: p.participant_kind == kind and (role is None or p.role == role)
        )

    def _sign_customer(self, request):
        customer = self._participant(request, role="Customer")
        mine = request.field_ids.filtered(lambda f: f.participant_id == customer)
        result = customer._submit(
            {str(f.id): SIGNATURE for f in mine if f.kind == "signature"},
            True,
            request.original_sha256,
            ip="198.51.100.9",
            user_agent="CustomerBrowser/1.0",
        )
        self.assertEqual(result, {"status": "ok"})
        return customer

    def _open_wizard(self, request, user=None):
        action = request.with_user(user or self.keeper).action_open_company_seal()
        self.assertEqual(action["res_model"], "digital.sign.participant.company.seal")
        return self.env[action["res_model"]].with_user(user or self.keeper).browse(action["res_id"])

    def _apply(self, request, user=None):
        wizard = self._open_wizard(request, user)
        wizard.reviewed = True
        return wizard.action_apply()

    def _events(self, request, event_type):
        return request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)

    def _seal_activities(self, request):
        return request.sudo().activity_ids.filtered(
            lambda a: a.activity_type_id == self.ActivityType
        )


@tagged("post_install", "-at_install")
class TestCompanySeal(CompanySealCommon):
    def test_the_customer_then_the_company_then_the_document_completes(self):
        request = self._company_request()
        company = self._participant(request, "company")
        self.assertEqual(company.name, self.company.name, "the company signs under its name")
        self.assertFalse(company.is_primary)
        self.assertTrue(self._participant(request, role="Customer").is_primary)
        request.with_user(self.user_a).action_send()
        self.assertEqual(company.state, "waiting", "the company signs after the customer")
        self.assertFalse(request.company_seal_due)
        self.assertFalse(self._seal_activities(request))

        self._sign_customer(request)
        # The company's turn: no link, no message; an activity for the seal keeper.
        self.assertEqual(company.state, "sent")
        self.assertTrue(company.invited_at)
        self.assertFalse(company.sudo().access_token, "the company has no signing link")
        self.assertFalse(company._get_signing_url())
        self.assertEqual(company._link_state(), "closed")
        self.assertFalse(
            self.env["mail.mail"].sudo().search([("digital_sign_participant_id", "=", company.id)])
        )
        self.assertFalse(
            self.env["sms.sms"].sudo().search([("digital_sign_participant_id", "=", company.id)])
        )
        activities = self._seal_activities(request)
        self.assertEqual(activities.user_id, self.keeper, "the seal keepers, no one else")
        self.assertEqual(activities.summary, "Apply the company seal")
        self.assertEqual(request.state, "viewed")
        self.assertTrue(request.with_user(self.keeper).company_seal_due)
        invited = self._events(request, "invited").filtered(lambda e: e.participant_id == company)
        self.assertEqual(invited.channel, "backend")

        # The keeper reviews: the document with the customer's signature.
        wizard = self._open_wizard(request)
        self.assertEqual(company.state, "viewed")
        viewed = self._events(request, "viewed").filtered(lambda e: e.participant_id == company)
        self.assertEqual(viewed.actor_id, self.keeper)
        self.assertEqual(json.loads(viewed.details)["user_id"], self.keeper.id)
        review = pymupdf.open(stream=base64.b64decode(wizard.review_pdf), filetype="pdf")
        customer_place = request.field_ids.filtered(
            lambda f: f.participant_id.role == "Customer" and f.kind == "signature"
        )
        self.assertTrue(self._image_in_place(review, customer_place), "the customer's signature")
        company_place = request.field_ids.filtered(
            lambda f: f.participant_id == company and f.kind == "signature"
        )
        self.assertFalse(
            self._image_in_place(review, company_place), "no seal before it is applied"
        )
        frames = [
            pymupdf.Rect(d["rect"])
            for d in review[0].get_drawings()
            if d.get("color")
            and tuple(round(c, 2) for c in d["color"])
            == tuple(round(c, 2) for c in pdf_stamp.OUTLINE_COLOR)
        ]
        self.assertTrue(
            any(
                abs(frame.x0 - company_place.x0) < 1 and abs(frame.y1 - company_place.y1) < 1
                for frame in frames
            ),
            "the company's place is framed for the reviewer",
        )
        self.assertIn("Page 1: Signature", wizard.places_summary)
        self.assertEqual(wizard.document_sha256, request.original_sha256)

        # Not ticked: refused, nothing changes.
        with self.assertRaisesRegex(UserError, "I reviewed this document"):
            wizard.action_apply()
        self.assertEqual(company.state, "viewed")

        wizard.reviewed = True
        wizard.action_apply()
        self.assertEqual(company.state, "signed")
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.finalize_state, "pending")
        applied = self._events(request, "company_seal_applied")
        self.assertEqual(len(applied), 1)
        self.assertEqual(applied.actor_id, self.keeper)
        self.assertEqual(applied.participant_id, company)
        details = json.loads(applied.details)
        self.assertEqual((details["user_id"], details["user"]), (self.keeper.id, "Sara Keeper"))
        self.assertEqual(details["reviewed_sha256"], request.original_sha256)
        signed = self._events(request, "signed").filtered(lambda e: e.participant_id == company)
        self.assertEqual(len(signed), 1)
        self.assertFalse(self._seal_activities(request), "the activity is done")
        done = self.env["mail.message"].search(
            [
                ("model", "=", request._name),
                ("res_id", "=", request.id),
                ("mail_activity_type_id", "=", self.ActivityType.id),
            ]
        )
        self.assertEqual(done.author_id, self.keeper.partner_id, "marked done by the keeper")
        self.assertFalse(request._check_integrity())

        # The final document: the seal image on the company's place, the date on its date.
        self.assertTrue(request._finalize(), request.finalize_error)
        self.assertEqual(request.seal_state, "sealed", "the PAdES seal is the company's, as ever")
        doc = pymupdf.open(stream=base64.b64decode(request.signed_pdf), filetype="pdf")
        seal_images = self._image_in_place(doc, company_place)
        self.assertTrue(seal_images, "the seal is stamped inside the company's place")
        self.assertEqual({(i["width"], i["height"]) for i in seal_images}, {SEAL_SIZE})
        self.assertEqual(
            {(i["width"], i["height"]) for i in self._image_in_place(doc, customer_place)},
            {(240, 90)},
            "the customer's place holds the customer's signature, not the seal",
        )
        company_date = request.field_ids.filtered(
            lambda f: f.participant_id == company and f.kind == "date"
        )
        self.assertTrue(company_date.value)
        box = pymupdf.Rect(company_date.x0, company_date.y0, company_date.x1, company_date.y1)
        self.assertIn(company_date.value, doc[0].get_textbox(box + (-2, -2, 2, 2)))
        verified = request._verify_signed_document(base64.b64decode(request.signed_pdf))
        self.assertEqual(verified["outcome"], "valid")

        # The certificate of completion lists the company signatory.
        text = " ".join(" ".join(doc[p].get_text() for p in range(1, doc.page_count)).split())
        self.assertIn(f"{self.company.name} (Company)", text)
        self.assertIn("Company seal applied by Sara Keeper (seal_keeper)", text)
        self.assertIn(f"Signed {request._format_time(company.signed_at)}", text)
        self.assertIn("Company seal applied", text, "and in the event log")

    def _image_in_place(self, doc, place):
        page = doc[place.page - 1]
        box = pymupdf.Rect(place.x0, place.y0, place.x1, place.y1)
        return [
            info
            for info in page.get_image_info()
            if (pymupdf.Rect(info["bbox"]) & box).get_area()
            >= 0.95 * pymupdf.Rect(info["bbox"]).get_area()
            > 0
        ]

    def test_the_signing_order_goes_on_after_the_company(self):
        request = self._company_request(
            extra=[person("Carl", "Cosigner", signing_order=3)],
            pdf=make_pdf(
                [
                    {
                        "texts": [
                            (72, 560, "Customer: {{sign:Customer}}"),
                            (320, 560, "Company: {{sign:Company}}"),
                            (72, 720, "Cosigner: {{sign:Cosigner}}"),
                        ]
                    }
                ]
            ),
        )
        request.action_send()
        company = self._participant(request, "company")
        cosigner = self._participant(request, role="Cosigner")
        # Before the customer signed: not the company's turn.
        with self.assertRaisesRegex(UserError, "not waiting for the company seal"):
            request.with_user(self.keeper).action_open_company_seal()
        self._sign_customer(request)
        self.assertEqual((company.state, cosigner.state), ("sent", "waiting"))
        self._apply(request)
        self.assertEqual(company.state, "signed")
        self.assertEqual(cosigner.state, "sent", "the cosigner's turn comes after the seal")
        self.assertTrue(cosigner._get_signing_url())
        self.assertEqual(request.state, "viewed")
        self.assertFalse(request.company_seal_due)
        with self.assertRaisesRegex(UserError, "already on"):
            request.with_user(self.keeper).action_open_company_seal()

    def test_the_company_first_then_the_customer(self):
        request = self._create_request(
            pdf=PDF_WITH_COMPANY,
            participants=[
                {"participant_kind": "company", "role": "Company", "signing_order": 1},
                person("Ingrid", "Customer", partner_id=self.customer.id, signing_order=2),
            ],
        )
        self.assertTrue(self._participant(request, role="Customer").is_primary)
        request.action_send()
        customer = self._participant(request, role="Customer")
        self.assertEqual(customer.state, "waiting")
        self._apply(request)
        self.assertEqual(customer.state, "sent")
        self._sign_customer(request)
        self.assertEqual(request.state, "signed")

    def test_only_seal_keepers_apply_it(self):
        request = self._company_request()
        request.action_send()
        self._sign_customer(request)
        company = self._participant(request, "company")
        other_company = self.env["res.company"].create({"name": "Other Co"})
        foreign_keeper = new_test_user(
            self.env,
            login="foreign_keeper",
            groups="digital_sign.group_seal_keeper",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        for user in (self.user_a, self.manager, self.env.ref("base.user_admin"), foreign_keeper):
            with self.subTest(user=user.login), mute_logger("odoo.models"):
                with self.assertRaises(AccessError):
                    request.with_user(user).action_open_company_seal()
                with self.assertRaises(AccessError):
                    self.env["digital.sign.participant.company.seal"].with_user(user).create(
                        {"participant_id": company.id}
                    )
        # A keeper's review, then someone else tries to apply it.
        wizard = self._open_wizard(request)
        wizard.reviewed = True
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            wizard.with_user(self.user_a).action_apply()
        self.assertEqual(company.state, "viewed")
        self.assertFalse(self._events(request, "company_seal_applied"))
        # A manager added to the group may.
        self.manager.group_ids = [Command.link(self.env.ref("digital_sign.group_seal_keeper").id)]
        self._apply(request, self.manager)
        self.assertEqual(company.state, "signed")
        self.assertEqual(self._events(request, "company_seal_applied").actor_id, self.manager)

    def test_the_keeper_reads_but_does_not_write_the_documents(self):
        request = self._company_request()
        request.action_send()
        keeper_request = request.with_user(self.keeper)
        keeper_request.check_access("read")
        self.assertTrue(keeper_request.participant_ids.with_user(self.keeper).mapped("name"))
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            keeper_request.write({"deadline": fields.Datetime.now() + timedelta(days=3)})
        person_only = self._create_request(name="No company", user_id=self.user_a.id)
        person_only.action_send()
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            person_only.with_user(self.keeper).check_access("read")

    def test_sending_needs_a_seal_keepers_and_fitting_places(self):
        request = self._company_request()
        seal = self.company.digital_sign_company_seal
        self.company.digital_sign_company_seal = False
        with self.assertRaisesRegex(UserError, "no company seal image"):
            request.action_send()
        self.company.digital_sign_company_seal = seal
        group = self.env.ref("digital_sign.group_seal_keeper")
        group.user_ids = [Command.unlink(self.keeper.id)]
        with self.assertRaisesRegex(UserError, "Seal keepers"):
            request.action_send()
        group.user_ids = [Command.link(self.keeper.id)]
        text_place = self.env["digital.sign.field"].create(
            {
                "request_id": request.id,
                "participant_id": self._participant(request, "company").id,
                "kind": "text",
                "page": 1,
                "x0": 300,
                "y0": 100,
                "x1": 400,
                "y1": 118,
            }
        )
        with self.assertRaisesRegex(UserError, "signature, initials and date places only"):
            request.action_send()
        text_place.unlink()
        no_place = self._create_request(
            name="Nothing for the company",
            participants=[
                person("Ingrid", "Customer", partner_id=self.customer.id),
                {"participant_kind": "company", "role": "Company", "signing_order": 2},
            ],
        )
        with self.assertRaisesRegex(UserError, "no signature place"):
            no_place.action_send()
        provider = self.env["digital.sign.provider"].create(
            {
                "name": "GetAccept",
                "code": "getaccept",
                "state": "test",
                "getaccept_api_token": "ga-token",
                "webhook_secret": "ga-hook-secret",
            }
        )
        request.provider_id = provider
        with self.assertRaisesRegex(UserError, "built-in signing page only"):
            request.action_send()
        request.provider_id = self.env.ref("digital_sign.digital_sign_provider_portal")
        request.action_send()
        self.assertEqual(request.state, "sent")

    def test_one_company_no_contact_no_reminder_no_reengage(self):
        with self.assertRaisesRegex(ValidationError, "twice"), self.env.cr.savepoint():
            self._create_request(
                participants=[
                    person("Ingrid", "Customer", partner_id=self.customer.id),
                    {"participant_kind": "company", "role": "Company"},
                    {"participant_kind": "company", "role": "Board"},
                ]
            )
        request = self._company_request()
        company = self._participant(request, "company")
        self.assertEqual(
            (company.email, company.mobile, company.partner_id.id, company.otp_channel),
            (False, False, False, "none"),
        )
        request.action_send()
        self._sign_customer(request)
        for values in ({"email": "x@example.com"}, {"is_primary": True}, {"otp_channel": "sms"}):
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(ValidationError, "no contact"),
                self.env.cr.savepoint(),
            ):
                company.sudo().write(values)
        with self.assertRaisesRegex(UserError, "seal keepers"):
            company.action_open_reengage()
        self.assertEqual(company._reengage(email="x@example.com"), {"status": "closed"})
        self.assertEqual(company.email, False)

    def test_a_closed_document_drops_the_keepers_activity(self):
        request = self._company_request()
        request.action_send()
        self._sign_customer(request)
        self.assertTrue(self._seal_activities(request))
        request._set_cancelled("No longer needed")
        self.assertFalse(self._seal_activities(request))
        with self.assertRaisesRegex(UserError, "not waiting for the company seal"):
            request.with_user(self.keeper).action_open_company_seal()

    def test_the_reviewed_document_is_the_one_sealed(self):
        request = self._company_request()
        request.action_send()
        self._sign_customer(request)
        company = self._participant(request, "company")
        with self.assertRaisesRegex(UserError, "changed since it was reviewed"):
            company.with_user(self.keeper)._apply_company_seal("0" * 64)
        with self.assertRaisesRegex(UserError, "changed since it was reviewed"):
            company.with_user(self.keeper)._apply_company_seal(["not", "a", "hash"])
        self.assertEqual(company.state, "sent")
        wizard = self._open_wizard(request)
        wizard.write({"reviewed": True, "document_sha256": "f" * 64})
        self.assertEqual(wizard.document_sha256, "f" * 64)
        with self.assertRaisesRegex(UserError, "changed since it was reviewed"):
            wizard.action_apply()
        other = self._open_wizard(request)
        self.assertEqual(other.document_sha256, request.original_sha256, "set by the server")


@tagged("post_install", "-at_install")
class TestCompanySealReminders(CompanySealCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()  # the scheduled action's cursor sees this test

    def test_the_company_gets_no_reminder(self):
        request = self._company_request(extra=[person("Carl", "Cosigner", signing_order=2)])
        company = self._participant(request, "company")
        cosigner = self._participant(request, role="Cosigner")
        request.action_send()
        self._sign_customer(request)
        self.assertEqual((company.state, cosigner.state), ("sent", "sent"))
        (company | cosigner).sudo().invited_at = fields.Datetime.now() - timedelta(days=5)
        self.env.ref("digital_sign.ir_cron_send_reminders").method_direct_trigger()
        self.assertEqual(cosigner.reminder_count, 1, "the cosigner is reminded")
        self.assertEqual(company.reminder_count, 0, "no reminder: the keepers have an activity")
        self.assertFalse(
            self.env["mail.mail"].sudo().search([("digital_sign_participant_id", "=", company.id)])
        )


@tagged("post_install", "-at_install")
class TestCompanySealImage(CompanySealCommon):
    def test_the_upload_is_checked_like_a_signature(self):
        company = self.env["res.company"].create({"name": "Seal Test Co"})
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        gif = b"GIF89a" + b"\x00" * 40
        huge_header = bytearray(seal_png((20, 20)))
        huge_header[16:24] = (50000).to_bytes(4, "big") + (50000).to_bytes(4, "big")
        cases = {
            "svg": (base64.b64encode(svg), "PNG or JPEG"),
            "gif": (base64.b64encode(gif), "PNG or JPEG"),
            "bomb": (base64.b64encode(bytes(huge_header)), "4096 pixels"),
            "tiny": (b64(seal_png((10, 4))), "16 to 4096 pixels"),
            "too large": (
                base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024 + 10)),
                "at most 1 MB",
            ),
        }
        for name, (value, message) in cases.items():
            with self.subTest(name), self.assertRaisesRegex(ValidationError, message):
                company.digital_sign_company_seal = value
        self.assertFalse(company.digital_sign_company_seal)
        # A JPEG is accepted and stored as a clean PNG; through the settings too.
        settings = (
            self.env["res.config.settings"]
            .with_company(company)
            .create({"digital_sign_company_seal": b64(seal_png(mode="RGB", fmt="JPEG"))})
        )
        settings.execute()
        stored = company._digital_sign_get_company_seal()
        self.assertTrue(stored.startswith(b"\x89PNG"))
        self.assertEqual(Image.open(io.BytesIO(stored)).size, SEAL_SIZE)
        with self.assertRaises(ValidationError):
            self.env["res.config.settings"].with_company(company).create(
                {"digital_sign_company_seal": base64.b64encode(svg)}
            ).execute()
        self.assertEqual(company._digital_sign_get_company_seal(), stored)


@tagged("post_install", "-at_install")
class TestCompanySealTemplate(CompanySealCommon, DigitalSignTemplateCommon):
    def test_a_company_role_fills_with_the_company(self):
        template = self._create_template(
            name="Partnership",
            pdf=b64(PDF_WITH_COMPANY),
        )
        roles = {role.name: role for role in template.role_ids}
        self.assertEqual(set(roles), {"Customer", "Company"})
        roles["Company"].with_user(self.manager).write({"fill_from": "company", "signing_order": 2})
        quotation = self._create_quotation()
        lines = template._prepare_participants(quotation)
        company_line = next(line for line in lines if line["role"] == "Company")
        self.assertEqual(
            (company_line["participant_kind"], company_line["name"]),
            ("company", quotation.company_id.name),
        )
        request = self._send_with_wizard(quotation, self.user_a, template=template)
        self.assertEqual(request.state, "sent")
        company = request.participant_ids.filtered(lambda p: p.participant_kind == "company")
        self.assertEqual((company.name, company.signing_order), (self.company.name, 2))
        self.assertEqual(
            set(request.field_ids.filtered(lambda f: f.participant_id == company).mapped("kind")),
            {"signature", "date"},
        )
        self.assertEqual(company.state, "waiting")


@tagged("post_install", "-at_install")
class TestCompanySealExternalApi(ExternalApiMixin, CompanySealCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {
            user: user.with_user(user)
            .env["res.users.apikeys"]
            ._generate(
                scope="rpc",
                name="company seal tests",
                expiration_date=datetime.now() + timedelta(days=1),
            )
            for user in (cls.keeper, cls.user_a)
        }

    def _due(self):
        request = self._company_request()
        request.action_send()
        self._sign_customer(request)
        return request

    def assertRefused(self, user, model, method, **params):
        with mute_logger("odoo.http", "odoo.addons.rpc.controllers.json2"):
            ok, body = self.json2(user, model, method, **params)
        self.assertFalse(ok, f"{user.login} could {model}.{method}({params})")
        self.assertEqual(body["name"], "odoo.exceptions.AccessError", body)
        return body

    def test_a_seal_keeper_writes_no_evidence(self):
        request = self._due()
        company = self._participant(request, "company")
        places = request.field_ids.filtered(lambda f: f.participant_id == company)
        forged = base64.b64encode(seal_png((50, 50))).decode()
        attacks = [
            ("digital.sign.field", places.ids, {"value_image": forged}),
            ("digital.sign.field", places.ids, {"value": "2031-01-01"}),
            ("digital.sign.field", places.ids, {"filled_at": "2031-01-01 10:00:00"}),
            ("digital.sign.participant", company.ids, {"state": "signed"}),
            ("digital.sign.participant", company.ids, {"signed_at": "2031-01-01 10:00:00"}),
            ("digital.sign.participant", company.ids, {"participant_kind": "person"}),
            ("digital.sign.request", request.ids, {"state": "signed"}),
        ]
        for model, ids, vals in attacks:
            for user in (self.keeper, self.user_a):
                with self.subTest(user=user.login, model=model, vals=list(vals)):
                    self.assertRefused(user, model, "write", ids=ids, vals=vals)
        company.invalidate_recordset()
        places.invalidate_recordset()
        self.assertEqual(company.state, "sent")
        self.assertFalse(any(places.mapped("filled_at")))
        self.assertFalse(self._events(request, "company_seal_applied"))

    def test_a_non_keeper_cannot_apply_it_a_keeper_can(self):
        request = self._due()
        company = self._participant(request, "company")
        self.assertRefused(
            self.user_a, "digital.sign.request", "action_open_company_seal", ids=request.ids
        )
        self.assertRefused(
            self.user_a,
            "digital.sign.participant.company.seal",
            "create",
            vals_list=[{"participant_id": company.id, "reviewed": True}],
        )
        self.assertEqual(company.state, "sent")
        # The keeper, through the same door: review, tick, apply.
        ok, action = self.json2(
            self.keeper, "digital.sign.request", "action_open_company_seal", ids=request.ids
        )
        self.assertTrue(ok, action)
        wizard_id = action["res_id"]
        self.assertRefused(
            self.user_a,
            "digital.sign.participant.company.seal",
            "action_apply",
            ids=[wizard_id],
        )
        ok, body = self.json2(
            self.keeper,
            "digital.sign.participant.company.seal",
            "write",
            ids=[wizard_id],
            vals={"reviewed": True},
        )
        self.assertTrue(ok, body)
        ok, body = self.json2(
            self.keeper, "digital.sign.participant.company.seal", "action_apply", ids=[wizard_id]
        )
        self.assertTrue(ok, body)
        company.invalidate_recordset()
        self.assertEqual((company.state, request.state), ("signed", "signed"))
        self.assertEqual(self._events(request, "company_seal_applied").actor_id, self.keeper)


@tagged("post_install", "-at_install")
class TestCompanySealTour(CompanySealCommon, HttpCase):
    def test_tour_the_keeper_reviews_and_applies_the_seal(self):
        request = self._company_request()
        request.action_send()
        self._sign_customer(request)
        self.start_tour(
            f"/odoo/digital.sign.request/{request.id}",
            "digital_sign_company_seal",
            login="seal_keeper",
        )
        company = self._participant(request, "company")
        self.assertEqual((company.state, request.state), ("signed", "signed"))
        self.assertEqual(self._events(request, "company_seal_applied").actor_id, self.keeper)
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done", request.finalize_error)
