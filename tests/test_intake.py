"""Active content at intake (issue 12, section 5): an upload's scripts, automatic actions and
embedded files are removed before anyone sees the document; the request keeps the upload's
hash beside the cleaned original's, logs what was removed, shows it to the sender, and the
sealed document never carries any of it.

The dirty PDFs are made at test time (engine/testing/active_pdf.py) and what is left is read
back with pypdf, independently of the MuPDF the engine uses."""

import hashlib
import json
import re
from unittest.mock import patch

import pymupdf
from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from ..engine import pdf_intake, pdf_markers, pdf_sanitize
from ..engine.errors import PdfInvalid
from ..engine.testing import active_pdf, bombs
from ..models.digital_sign_request import DigitalSignRequest
from .common import DigitalSignCommon, DigitalSignHelpdeskCommon, b64, make_pdf
from .test_seal import SealTestMixin

DIRTY_KINDS = ("javascript", "open_action", "embedded_file")
ACTIVE_NAMES = (
    b"/JS",
    b"/JavaScript",
    b"/OpenAction",
    b"/AA",
    b"/Launch",
    b"/EmbeddedFiles",
    b"/XFA",
    b"/RichMedia",
)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@tagged("post_install", "-at_install")
class TestIntake(SealTestMixin, DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dirty_pdf = active_pdf.add_active_content(cls.pdf_one_signature, DIRTY_KINDS)

    def _events(self, sign_request, event_type):
        return sign_request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)

    def assert_no_active_content(self, data):
        self.assertEqual(pdf_sanitize.find_active_content(data), ())
        self.assertEqual(active_pdf.active_names(data), [])

    # === intake === #
    def test_upload_with_active_content_is_cleaned_and_both_hashes_are_kept(self):
        self.assertTrue(active_pdf.active_names(self.dirty_pdf))
        sign_request = self._create_request(pdf=self.dirty_pdf, user=self.user_a)
        original = sign_request._get_original_bytes()
        self.assertEqual(sign_request.uploaded_sha256, sha256(self.dirty_pdf))
        self.assertEqual(sign_request.original_sha256, sha256(original))
        self.assertNotEqual(sign_request.original_sha256, sign_request.uploaded_sha256)
        self.assert_no_active_content(original)
        self.assertEqual(sign_request.page_count, 1)
        # the places are still found in the cleaned document
        self.assertEqual(sign_request.field_ids.mapped("role"), ["Customer"])
        self.assertEqual(sign_request.field_ids.mapped("kind"), ["signature"])
        # what was removed, where
        self.assertEqual(
            sign_request.removed_content,
            [
                {"kind": "javascript", "document": True, "pages": [1]},
                {"kind": "open_action", "document": True, "pages": []},
                {"kind": "embedded_file", "document": True, "pages": [1]},
            ],
        )
        # logged once, with both hashes, as stable codes
        sanitized = self._events(sign_request, "sanitized")
        self.assertEqual(len(sanitized), 1)
        details = json.loads(sanitized.details)
        self.assertEqual(details["uploaded_sha256"], sign_request.uploaded_sha256)
        self.assertEqual(details["original_sha256"], sign_request.original_sha256)
        self.assertEqual(
            details["removed"],
            "javascript (document, p. 1); open_action (document); embedded_file (document, p. 1)",
        )
        self.assertEqual(sanitized.document_sha256, sign_request.original_sha256)
        self.assertFalse(sign_request._check_integrity())

    def test_the_form_shows_the_sender_what_was_removed(self):
        sign_request = self._create_request(pdf=self.dirty_pdf, user=self.user_a)
        form = Form(sign_request.with_user(self.user_a))
        self.assertEqual(form.uploaded_sha256, sha256(self.dirty_pdf))
        self.assertEqual(
            form.removed_content_summary.splitlines(),
            [
                "JavaScript: the document, page 1",
                "An action run when the document opens: the document",
                "Embedded files: the document, page 1",
            ],
        )
        arch = etree.fromstring(sign_request.get_views([(False, "form")])["views"]["form"]["arch"])
        (alert,) = arch.xpath("//div[@name='removed_content_alert']")
        self.assertEqual(alert.get("invisible"), "not removed_content_summary")
        self.assertTrue(alert.xpath(".//field[@name='removed_content_summary']"))
        self.assertTrue(alert.xpath(".//field[@name='uploaded_sha256']"))
        # a clean upload: nothing to show
        clean = self._create_request(user=self.user_a, name="Clean")
        self.assertFalse(clean.removed_content_summary)

    def test_clean_upload_stays_byte_for_byte_and_logs_nothing(self):
        sign_request = self._create_request()
        self.assertEqual(sign_request._get_original_bytes(), self.pdf_one_signature)
        self.assertEqual(sign_request.uploaded_sha256, sha256(self.pdf_one_signature))
        self.assertEqual(sign_request.original_sha256, sign_request.uploaded_sha256)
        self.assertFalse(sign_request.removed_content)
        self.assertFalse(self._events(sign_request, "sanitized"))

    def test_replacing_the_draft_document_cleans_it_too(self):
        sign_request = self._create_request()
        sign_request.original_pdf = b64(self.dirty_pdf)
        self.assertEqual(sign_request.uploaded_sha256, sha256(self.dirty_pdf))
        self.assert_no_active_content(sign_request._get_original_bytes())
        self.assertEqual(len(self._events(sign_request, "sanitized")), 1)
        self.assertTrue(sign_request.removed_content_summary)
        sign_request.original_pdf = b64(self.pdf_two_roles)
        self.assertEqual(sign_request._get_original_bytes(), self.pdf_two_roles)
        self.assertEqual(sign_request.original_sha256, sign_request.uploaded_sha256)
        self.assertFalse(sign_request.removed_content)
        self.assertFalse(sign_request.removed_content_summary)
        self.assertEqual(len(self._events(sign_request, "sanitized")), 1)

    def test_what_cannot_be_cleaned_is_refused_clearly_and_nothing_is_kept(self):
        Request = self.env["digital.sign.request"]
        count = Request.search_count([])
        refused = PdfInvalid("left", code="pdf_active_content", kinds=("javascript", "launch"))
        with (
            patch.object(pdf_sanitize, "sanitize_pdf", side_effect=refused),
            self.assertRaises(UserError) as error,
        ):
            Request.create({"name": "Stubborn", "original_pdf": b64(self.dirty_pdf)})
        self.assertEqual(
            str(error.exception),
            "This PDF carries active content that could not be removed: JavaScript, "
            "Commands that start a program or open a file.",
        )
        # the existing refusals keep their messages
        with self.assertRaises(UserError) as error:
            Request.create({"name": "Locked", "original_pdf": b64(_encrypted_pdf())})
        self.assertIn("protected by a password", str(error.exception))
        self.assertEqual(Request.search_count([]), count)

    # === the final document === #
    def test_the_sealed_document_of_a_dirty_upload_is_clean(self):
        sign_request = self._sealed_request(pdf=self.dirty_pdf)
        signed = self._signed_bytes(sign_request)
        self.assert_no_active_content(signed)
        for name in ACTIVE_NAMES:
            self.assertIsNone(re.search(re.escape(name) + rb"[\s/<>\[\]()]", signed), name)
        self.assertEqual(self._verify(signed).status, "valid")
        # the certificate of completion gives both hashes
        text = self._completion_certificate_text(signed).replace(" ", "")
        self.assertIn(sign_request.original_sha256, text)
        self.assertIn(sign_request.uploaded_sha256, text)

    def test_the_certificate_prints_one_hash_for_a_clean_upload(self):
        sign_request = self._sealed_request()
        text = self._completion_certificate_text(self._signed_bytes(sign_request))
        self.assertIn(sign_request.original_sha256, text.replace(" ", ""))
        self.assertNotIn("as uploaded", text)

    def test_a_final_document_with_active_content_is_not_sealed(self):
        sign_request = self._signed_request()
        with (
            patch.object(
                DigitalSignRequest, "_build_final_document", lambda request: self.dirty_pdf
            ),
            mute_logger("odoo.addons.digital_sign.models.digital_sign_request"),
        ):
            self.assertFalse(sign_request._finalize_safely())
        self.assertEqual(sign_request.finalize_state, "pending")
        self.assertEqual(sign_request.seal_state, "none")
        self.assertFalse(sign_request.signed_pdf)
        self.assertEqual(
            sign_request.finalize_error,
            "The final document carries active content (JavaScript, An action run when the "
            "document opens, Embedded files): it is not sealed.",
        )
        self.assertTrue(self._events(sign_request, "seal_failed"))
        # once the document is clean, the next run seals it
        self.assertTrue(sign_request._finalize_safely())
        self.assertEqual(sign_request.finalize_state, "done")
        self.assert_no_active_content(self._signed_bytes(sign_request))


@tagged("post_install", "-at_install")
class TestIntakeWizard(DigitalSignHelpdeskCommon):
    def test_the_wizard_says_what_will_be_removed_before_sending(self):
        ticket = self._create_ticket()
        dirty = active_pdf.add_active_content(self.arrow_pdf, ("launch", "additional_actions"))
        wizard_form = self._open_wizard(ticket)
        wizard_form.pdf_source = "upload"
        wizard_form.pdf_file = b64(self.arrow_pdf)
        self.assertFalse(wizard_form.active_content_warning)
        wizard_form.pdf_file = b64(dirty)
        self.assertEqual(
            wizard_form.active_content_warning.splitlines(),
            [
                "JavaScript: the document, page 1",
                "Actions run on events (opening a page, entering a field, printing...): the "
                "document, page 1",
                "Commands that start a program or open a file: page 1",
            ],
        )
        self.assertIn("arrow", wizard_form.marker_summary, "the places are found as before")
        arch = etree.fromstring(
            self.env["digital.sign.request.send"].get_views([(False, "form")])["views"]["form"][
                "arch"
            ]
        )
        (alert,) = arch.xpath("//div[@name='active_content_alert']")
        self.assertEqual(alert.get("invisible"), "not active_content_warning")
        # sent anyway: the request holds the cleaned document and the upload's hash
        sign_request, _action = self._send(ticket, pdf=dirty)
        self.assertEqual(sign_request.uploaded_sha256, sha256(dirty))
        self.assertEqual(pdf_sanitize.find_active_content(sign_request._get_original_bytes()), ())
        self.assertEqual(
            [entry["kind"] for entry in sign_request.removed_content],
            ["javascript", "additional_actions", "launch"],
        )
        self.assertEqual(sign_request.field_ids.mapped("source"), ["arrow_glyph"])

    def test_the_wizard_runs_the_intake_before_looking_for_places(self):
        """An upload the intake refuses gets the intake's clear message in the places
        summary, and no parser reads it (a bomb is not opened, not even to find places)."""
        ticket = self._create_ticket()
        wizard_form = self._open_wizard(ticket)
        wizard_form.pdf_source = "upload"

        def no_parser(*args, **kwargs):
            raise AssertionError("a parser read a refused upload")

        with (
            patch.object(pdf_intake.pymupdf, "open", no_parser),
            patch.object(pdf_markers, "detect_markers", no_parser),
            patch.object(pdf_sanitize, "find_active_content", no_parser),
        ):
            wizard_form.pdf_file = b64(bombs.xref_stream_bomb(2 << 30))
        self.assertEqual(
            wizard_form.marker_summary,
            "This PDF expands to an excessive size when read and was refused.",
        )
        self.assertFalse(wizard_form.active_content_warning)
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.max_upload_mb", 1)
        padding = 2 * 1024 * 1024 - len(self.arrow_pdf) - 2  # a valid PDF of exactly 2 MB
        oversized = self.arrow_pdf + b"%" + b"x" * padding + b"\n"
        wizard_form.pdf_file = b64(oversized)
        self.assertEqual(
            wizard_form.marker_summary, "This PDF is too large (2.0 MB; the limit is 1 MB)."
        )
        self.assertFalse(wizard_form.active_content_warning)
        # the same file is refused with the same message when the wizard sends it
        with self.assertRaisesRegex(UserError, "too large"):
            self._send(ticket, pdf=oversized)


def _encrypted_pdf():
    doc = pymupdf.open(stream=make_pdf(), filetype="pdf")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")
    doc.close()
    return data
