"""The signing page in headless Chromium: each tour drives the real page, the test checks the
database afterwards."""

import base64
from datetime import timedelta
from unittest.mock import patch

import pymupdf
from freezegun import freeze_time

from odoo.tests import HttpCase, tagged

from .common import DigitalSignCommon, make_pdf, person


class SigningTourCommon(DigitalSignCommon, HttpCase):
    def _sent(self, **kwargs):
        request = self._create_request(**kwargs)
        request.action_send()
        return request

    def _finalize(self):
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()

    def _assert_signature_inside_its_place(self, request):
        doc = pymupdf.open(stream=base64.b64decode(request.signed_pdf), filetype="pdf")
        for field in request.field_ids.filtered(
            lambda f: f.kind in ("signature", "initials") and f.filled_at
        ):
            page = doc[field.page - 1]
            box = pymupdf.Rect(field.x0, field.y0, field.x1, field.y1)
            images = [
                pymupdf.Rect(info["bbox"]) * page.rotation_matrix for info in page.get_image_info()
            ]
            self.assertTrue(
                any((image & box).get_area() >= 0.95 * image.get_area() for image in images),
                f"the signature of place {field.id} lies in its box {box}: {images}",
            )


@tagged("post_install", "-at_install")
class TestSigningTours(SigningTourCommon):
    def test_tour_one_signer_draws_and_submits(self):
        request = self._sent()
        participant = request.participant_ids
        self.start_tour(participant._get_signing_path(), "digital_sign_sign")
        self.assertEqual(participant.state, "signed")
        self.assertEqual(request.state, "signed")
        self.assertEqual(len(request.event_ids.filtered(lambda e: e.event_type == "signed")), 1)
        self._finalize()
        self._assert_signature_inside_its_place(request)

    def test_tour_the_page_reports_that_it_showed_the_document(self):
        request = self._sent()
        participant = request.participant_ids
        self.url_open(participant._get_signing_path())
        self.assertEqual(participant.state, "sent", "opening the link is not seeing the document")
        self.start_tour(participant._get_signing_path(), "digital_sign_view")
        self.assertEqual((participant.state, request.state), ("viewed", "viewed"))
        viewed = request.event_ids.filtered(lambda e: e.event_type == "viewed")
        self.assertEqual(len(viewed), 1)
        self.assertEqual(viewed.channel, "web")

    def test_tour_every_kind_of_place(self):
        pdf = make_pdf(
            [
                {
                    "texts": [
                        (72, 500, "Sign: {{sign:Customer}}"),
                        (72, 600, "Initials: {{initials:Customer}}"),
                        (72, 650, "{{check:Customer}} I agree"),
                        (72, 700, "Plan: {{text:Customer}}"),
                        (72, 750, "Date: {{date:Customer}}"),
                    ]
                }
            ]
        )
        request = self._sent(pdf=pdf)
        self.start_tour(request.participant_ids._get_signing_path(), "digital_sign_sign_all_kinds")
        values = {f.kind: f for f in request.field_ids}
        self.assertEqual(values["text"].value, "Plan B")
        self.assertEqual(values["checkbox"].value, "1")
        self.assertTrue(values["initials"].value_image)
        self.assertTrue(values["date"].value, "the server fills the date")
        self._finalize()
        self._assert_signature_inside_its_place(request)
        text = pymupdf.open(stream=base64.b64decode(request.signed_pdf), filetype="pdf")[
            0
        ].get_text()
        self.assertIn("Plan B", text)
        self.assertNotIn("{{", text)

    def test_tour_two_participants_in_order(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", signing_order=1),
                person("Carl", "Cosigner", signing_order=2),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("signing_order")
        self.assertFalse(carl._get_signing_path(), "the second link does not exist before its turn")
        self.start_tour(ingrid._get_signing_path(), "digital_sign_sign")
        self.assertEqual(carl.state, "sent")
        self.assertEqual(request.state, "viewed")
        self.start_tour(carl._get_signing_path(), "digital_sign_sign")
        self.assertEqual(request.state, "signed")

    def test_tour_optional_participant_skipped(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner", mandatory=False),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("id")
        self.start_tour(ingrid._get_signing_path(), "digital_sign_sign")
        self.assertEqual(request.state, "signed")
        self.assertEqual(carl.state, "skipped")

    def test_tour_code_with_wrong_code_lock_out(self):
        request = self._sent(
            participants=[
                {
                    "name": "Ingrid",
                    "email": "ingrid@example.com",
                    "mobile": "+46701234567",
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ]
        )
        participant = request.participant_ids
        self.start_tour(participant._get_signing_path(), "digital_sign_otp_lockout")
        self.assertTrue(participant.otp_locked_until)
        self.assertEqual(participant.state, "sent", "the document was never shown")
        self.assertTrue(request.activity_ids.filtered(lambda a: "locked" in (a.summary or "")))

    def test_tour_code_then_sign(self):
        request = self._sent(
            participants=[
                {
                    "name": "Ingrid",
                    "email": "ingrid@example.com",
                    "mobile": "+46701234567",
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ]
        )
        participant = request.participant_ids
        with patch("odoo.addons.digital_sign.engine.otp.generate_code", return_value="123456"):
            self.start_tour(participant._get_signing_path(), "digital_sign_otp_ok")
        self.assertTrue(participant.otp_verified_at)
        self.assertEqual(participant.state, "signed")

    def test_tour_rejection(self):
        request = self._sent()
        self.start_tour(request.participant_ids._get_signing_path(), "digital_sign_reject")
        self.assertEqual(request.state, "rejected")
        self.assertIn("price changed", request.reject_reason)

    def test_tour_expired_link(self):
        request = self._sent()
        path = request.participant_ids._get_signing_path()
        with freeze_time(request.deadline + timedelta(minutes=5)):
            self.start_tour(path, "digital_sign_expired")
        self.assertEqual(request.state, "expired")
        self.assertIn("link_requested", request.event_ids.mapped("event_type"))

    def test_tour_customer_names_a_missing_participant(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        ingrid, cosigner = request.participant_ids.sorted("id")
        self.start_tour(ingrid._get_signing_path(), "digital_sign_name_participant")
        self.assertEqual(cosigner.name, "Carl Cosigner")
        self.assertEqual(cosigner.email, "carl@example.com")
        self.assertEqual(cosigner.state, "sent")

    def test_tour_reengage_kills_the_old_link(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        ingrid, cosigner = request.participant_ids.sorted("id")
        ingrid._name_participants(
            [{"id": cosigner.id, "name": "Carl", "email": "carl@example.com"}]
        )
        old_path = cosigner._get_signing_path()
        self.start_tour(ingrid._get_signing_path(), "digital_sign_reengage")
        self.assertEqual(cosigner.email, "carl.new@example.com")
        self.assertEqual(self.url_open(old_path).status_code, 404)
        self.assertEqual(self.url_open(cosigner._get_signing_path()).status_code, 200)


@tagged("post_install", "-at_install")
class TestSigningTourPhone(SigningTourCommon):
    browser_size = "375x667"
    touch_enabled = True

    def test_tour_phone_touch_drawing(self):
        request = self._sent()
        participant = request.participant_ids
        self.start_tour(participant._get_signing_path(), "digital_sign_sign_phone")
        self.assertEqual(participant.state, "signed")
        self._finalize()
        self._assert_signature_inside_its_place(request)
