"""The verification page (/digital_sign/verify), the certificate download and the backend
check of a request: verdicts, what the public sees, limits, and the Chromium tour."""

import io
import os
import re
from unittest.mock import patch

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.digital_sign import const
from odoo.addons.digital_sign.engine import pades, pades_verify, pdf_intake, seal_identity
from odoo.addons.digital_sign.engine.testing import bombs, pki, tamper

from .common import DigitalSignCommon, make_pdf
from .test_seal import P12_PASSWORD, SealTestMixin


def flip_byte(pdf):
    """The sealed file with one byte of its first content stream changed (in the signed
    range, the structure intact)."""
    position = pdf.index(b"stream", pdf.index(b"/Length")) + 12
    data = bytearray(pdf)
    data[position] ^= 0x01
    return bytes(data)


def pymupdf_encrypted():
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")
    doc.close()
    return data


def replace_first_page_content(pdf):
    """An incremental update after the seal that replaces page 1's content."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Nothing was agreed) Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@tagged("post_install", "-at_install")
class TestVerify(SealTestMixin, DigitalSignCommon, HttpCase):
    # === helpers === #
    def _page(self, ref=None):
        response = self.url_open("/digital_sign/verify" + (f"?ref={ref}" if ref else ""))
        self.assertEqual(response.status_code, 200)
        return response

    def _csrf(self):
        return re.search(r'name="csrf_token" value="([^"]+)"', self._page().text).group(1)

    def _upload(self, pdf, csrf=None, ref=None, filename="document.pdf"):
        data = {"csrf_token": csrf or self._csrf()}
        if ref:
            data["ref"] = ref
        return self.url_open(
            "/digital_sign/verify",
            data=data,
            files={"document": (filename, pdf, "application/pdf")},
        )

    def _verdict(self, response):
        match = re.search(r'data-outcome="([a-z_]+)"', response.text)
        return match and match.group(1)

    def _changes(self, response):
        return (
            [
                " ".join(item.split())
                for item in re.findall(
                    r"<li>([^<]*)</li>",
                    response.text.split('class="o_ds_changes"', 1)[-1].split("</ul>", 1)[0],
                )
            ]
            if "o_ds_changes" in response.text
            else []
        )

    def _colleague(self):
        """Another certificate from the company's CA, fit for signing: an employee's."""
        return self.pki.issue("Colleague of the company", issuer=self.pki.intermediate)

    def _forget_throttle(self):
        self.env["digital.sign.throttle"].sudo().search([("key", "=like", "verify:%")]).unlink()

    # === verdicts === #
    def test_sealed_document_is_valid_and_shows_names_only(self):
        sign_request = self._sealed_request()
        signed = self._signed_bytes(sign_request)
        response = self._upload(signed)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._verdict(response), "valid")
        text = response.text
        self.assertIn(sign_request.reference, text)
        self.assertIn("Ingrid Customer", text)
        self.assertIn("Self-signed certificate of", text)
        result = self._verify(signed)
        self.assertIn(result.cert_fingerprint, text)
        # names only: no contact details, no IP addresses, no technical detail
        for private in (
            "ingrid@example.com",
            "+46",
            "198.51.100.7",
            "SealTest/1.0",
            "Intact / valid / trusted",
        ):
            self.assertNotIn(private, text)
        self.assertEqual(response.headers["Referrer-Policy"], "no-referrer")
        self.assertIn("no-store", response.headers["Cache-Control"])

    def test_certificate_download_lets_anyone_check_the_seal(self):
        sign_request = self._sealed_request()
        signed = self._signed_bytes(sign_request)
        fingerprint = self._verify(signed).cert_fingerprint
        response = self._upload(signed)
        link = re.search(
            r'href="(/digital_sign/verify/certificate/[0-9a-f]{64}\.pem)"', response.text
        )
        self.assertTrue(link)
        pem = self.url_open(link.group(1))
        self.assertEqual(pem.status_code, 200)
        self.assertIn("attachment", pem.headers["Content-Disposition"])
        certs = x509.load_pem_x509_certificates(pem.content)
        ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
        self.assertEqual(
            pades_verify.verify_pdf(signed, trust_roots=ders).status,
            "valid",
            "what the page hands out is what PDF readers need to trust",
        )
        der = self.url_open(f"/digital_sign/verify/certificate/{fingerprint}.cer")
        self.assertEqual(der.status_code, 200)
        self.assertEqual(
            x509.load_der_x509_certificate(der.content).fingerprint(hashes.SHA256()).hex(),
            fingerprint,
            "self-signed: the certificate is its own root",
        )
        self.assertEqual(
            self.url_open(f"/digital_sign/verify/certificate/{'0' * 64}.pem").status_code, 404
        )
        self.assertEqual(
            self.url_open("/digital_sign/verify/certificate/..%2Fetc.pem").status_code, 404
        )

    def test_b_t_document_shows_its_trusted_timestamp(self):
        self._use_ca_certificate()
        self._use_tsa()
        sign_request = self._sealed_request()
        response = self._upload(self._signed_bytes(sign_request))
        self.assertEqual(self._verdict(response), "valid")
        self.assertIn("trusted timestamp", response.text)
        self.assertIn("PAdES B-T", response.text)
        self.assertIn("Issued by", response.text)

    def test_flipped_byte_is_a_broken_seal(self):
        signed = self._signed_bytes(self._sealed_request())
        response = self._upload(flip_byte(signed))
        self.assertEqual(self._verdict(response), "broken")
        self.assertIn("the seal is broken", response.text)

    def test_page_replaced_in_an_incremental_update_is_modified(self):
        sign_request = self._sealed_request()
        modified = replace_first_page_content(self._signed_bytes(sign_request))
        response = self._upload(modified)
        self.assertEqual(self._verdict(response), "modified")
        self.assertIn("changed after sealing", response.text)
        self.assertIn(sign_request.reference, response.text, "recognised as our document")

    def test_appended_bytes_are_reported(self):
        sign_request = self._sealed_request()
        response = self._upload(self._signed_bytes(sign_request) + b"\n%junk\n")
        self.assertEqual(self._verdict(response), "appended")
        self.assertIn("data added after the seal", response.text)
        self.assertIn(sign_request.reference, response.text)

    def test_seal_from_another_certificate_is_not_ours(self):
        stranger = pki.Pki(label="someone else")
        identity = seal_identity.load_seal_identity(stranger.pkcs12(stranger.leaf, b"pw"), b"pw")
        sealed = pades.seal_pdf(make_pdf(), identity).pdf
        response = self._upload(sealed)
        self.assertEqual(self._verdict(response), "not_our_seal")
        self.assertIn("not our seal", response.text)

    # === evidence against insiders === #
    def test_signature_by_a_colleague_of_the_same_ca_is_a_change_after_sealing(self):
        self._use_ca_certificate()
        sign_request = self._sealed_request()
        signed = self._signed_bytes(sign_request)
        colleague = self._colleague()
        countersigned = tamper.append_signature(signed, colleague, [self.pki.intermediate])
        # the colleague's signature alone is flawless and chains to the trusted CA
        alone = pades_verify.verify_pdf(countersigned, trust_roots=self.pki.trust_roots)
        self.assertTrue(alone.intact and alone.valid and alone.trusted)
        response = self._upload(countersigned)
        self.assertEqual(self._verdict(response), "modified")
        self.assertIn("changed after sealing", response.text)
        self.assertEqual(
            self._changes(response),
            ["Another signature was added, by Colleague of the company (digital_sign tests)."],
        )
        self.assertIn(sign_request.reference, response.text, "recognised as our document")

    def test_page_added_after_sealing_is_a_change(self):
        sign_request = self._sealed_request()
        response = self._upload(tamper.append_page(self._signed_bytes(sign_request)))
        self.assertEqual(self._verdict(response), "modified")
        self.assertEqual(self._changes(response), ["A page was added."])
        self.assertIn(sign_request.reference, response.text)

    def test_content_and_annotations_changed_after_sealing_are_listed(self):
        signed = self._signed_bytes(self._sealed_request())
        response = self._upload(tamper.append_annotation(tamper.replace_page_content(signed)))
        self.assertEqual(self._verdict(response), "modified")
        self.assertEqual(
            self._changes(response),
            ["The content of page 1 changed.", "Annotations were added or changed on page 1."],
        )

    def test_dss_added_after_sealing_is_still_valid(self):
        self._use_ca_certificate()
        signed = self._signed_bytes(self._sealed_request())
        updated = tamper.append_dss(
            signed, [self.pki.root.cert_der, self.pki.intermediate.cert_der]
        )
        self.assertNotEqual(updated, signed)
        response = self._upload(updated)
        self.assertEqual(self._verdict(response), "valid")
        self.assertIn("Ingrid Customer", response.text)

    def test_document_timestamp_added_after_sealing_is_still_valid(self):
        self._use_ca_certificate()
        self._use_tsa()
        signed = self._signed_bytes(self._sealed_request())
        response = self._upload(tamper.append_document_timestamp(signed, self.tsa.url))
        self.assertEqual(self._verdict(response), "valid")

    def test_seal_by_another_certificate_of_the_same_ca_is_not_ours(self):
        self._use_ca_certificate()
        self._sealed_request()
        identity = seal_identity.load_seal_identity(
            self.pki.pkcs12(self._colleague(), P12_PASSWORD), P12_PASSWORD
        )
        forged = pades.seal_pdf(make_pdf(), identity).pdf
        self.assertEqual(
            pades_verify.verify_pdf(forged, trust_roots=self.pki.trust_roots).status,
            "valid",
            "the CA alone vouches for it",
        )
        response = self._upload(forged)
        self.assertEqual(self._verdict(response), "not_our_seal")
        self.assertIn("not our seal", response.text)
        self.assertIn("Signed with", response.text)  # the certificate found, not called a seal
        self.assertNotIn("Seal level", response.text)
        self.assertNotIn("o_ds_certificate_download", response.text)

    def test_rotated_seal_certificate_keeps_its_documents_valid(self):
        first = self._sealed_request(name="Before the rotation")
        self._use_ca_certificate()
        second = self._sealed_request(name="After the rotation")
        history = self.env.company.digital_sign_seal_certificates
        self.assertEqual(len(history), 2)
        self.assertIsNotNone(history[0]["periods"][-1][1], "the self-signed one was retired")
        self.assertIsNone(history[1]["periods"][-1][1], "the uploaded one is in use")
        for sign_request in (first, second):
            response = self._upload(self._signed_bytes(sign_request))
            self.assertEqual(self._verdict(response), "valid", sign_request.name)
            self.assertIn(sign_request.reference, response.text)

    def test_decompression_bomb_is_refused_before_any_parser(self):
        bomb = bombs.xref_stream_bomb(2 << 30)

        def no_parser(*args, **kwargs):
            raise AssertionError("a parser read a refused upload")

        with (
            patch.object(pades_verify, "PdfFileReader", no_parser),
            patch.object(pdf_intake.pymupdf, "open", no_parser),
        ):
            response = self._upload(bomb)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._verdict(response), "refused")
        self.assertIn("expand to an excessive size", response.text)

    def test_too_many_pages_are_refused(self):
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.max_pages", 1)
        many = make_pdf([{"texts": []}] * (2 + pades_verify.VERIFY_EXTRA_PAGES))
        response = self._upload(many)
        self.assertEqual(self._verdict(response), "refused")
        self.assertIn(f"({1 + pades_verify.VERIFY_EXTRA_PAGES} at most)", response.text)

    def test_hostile_input_gets_a_clear_answer(self):
        """Whatever comes in, the public page answers with a verdict, never a server error."""
        signed = self._signed_bytes(self._sealed_request())
        encrypted = pymupdf_encrypted()
        cases = [
            # label, form fields, files, expected HTTP status, expected verdict
            ("no file at all", {}, None, 200, "no_file"),
            ("the file as a text field", {"document": "%PDF-1.7 not a file"}, None, 200, "no_file"),
            ("an empty file", {}, {"document": ("a.pdf", b"", "application/pdf")}, 200, "no_file"),
            (
                "garbage",
                {},
                {"document": ("a.pdf", b"\x00\xff" * 500, "application/pdf")},
                200,
                "damaged",
            ),
            (
                "a PDF header then garbage",
                {},
                {"document": ("a.pdf", b"%PDF-1.7\n" + b"garbage " * 100, "application/pdf")},
                200,
                "damaged",
            ),
            (
                "truncated",
                {},
                {"document": ("a.pdf", signed[: len(signed) // 2], "application/pdf")},
                200,
                "damaged",
            ),
            (
                "encrypted",
                {},
                {"document": ("a.pdf", encrypted, "application/pdf")},
                200,
                "damaged",
            ),
            (
                "an image named .pdf",
                {},
                {"document": ("a.pdf", b"GIF89a\x01\x00\x01\x00" + bytes(30), "image/gif")},
                200,
                "damaged",
            ),
            (
                "the file under another name",
                {},
                {"other": ("a.pdf", signed, "application/pdf")},
                200,
                "no_file",
            ),
            (
                "ref as a file",
                {},
                {
                    "document": ("a.pdf", signed, "application/pdf"),
                    "ref": ("ref.txt", b"DS/0001", "text/plain"),
                },
                200,
                "valid",
            ),
            (
                "a huge ref",
                {"ref": "R" * 100000},
                {"document": ("a.pdf", signed, "application/pdf")},
                200,
                "valid",
            ),
            (
                "markup in ref",
                {"ref": "<script>alert(1)</script>"},
                {"document": ("a.pdf", b"junk", "application/pdf")},
                200,
                "damaged",
            ),
            (
                "unknown fields",
                {"document_id": "1", "id": "x" * 50},
                {"document": ("a.pdf", make_pdf(), "application/pdf")},
                200,
                "unknown",
            ),
            (
                "a bomb",
                {},
                {"document": ("a.pdf", bombs.xref_stream_bomb(1 << 30), "application/pdf")},
                200,
                "refused",
            ),
            (
                "over the size limit",
                {},
                {
                    "document": (
                        "a.pdf",
                        make_pdf()
                        + b"%"
                        + b"x" * (20 * 1024 * 1024 + pades_verify.VERIFY_EXTRA_BYTES),
                        "application/pdf",
                    )
                },
                413,
                "too_large",
            ),
        ]
        csrf = self._csrf()
        for label, data, files, status, verdict in cases:
            with self.subTest(label):
                self._forget_throttle()
                response = self.url_open(
                    "/digital_sign/verify",
                    data={"csrf_token": csrf, **data},
                    files=files or {"nothing": ("", b"", "text/plain")},
                    timeout=60,
                )
                self.assertEqual(response.status_code, status)
                self.assertEqual(self._verdict(response), verdict)
                self.assertNotIn("<script>alert(1)</script>", response.text)
        # bodies that are not a form: refused by Odoo itself, cleanly
        with mute_logger("odoo.http"):
            for label, kwargs in (
                ("a JSON body", {"json": {"document": "x", "csrf_token": csrf}}),
                ("no CSRF token", {"data": {"document": "x"}}),
                ("a wrong method", {"method": "PUT", "data": {"csrf_token": csrf}}),
            ):
                with self.subTest(label):
                    response = self.url_open("/digital_sign/verify", **kwargs)
                    self.assertLess(response.status_code, 500)
                    self.assertGreaterEqual(response.status_code, 400)

    def test_random_pdf_and_not_a_pdf(self):
        response = self._upload(make_pdf())
        self.assertEqual(self._verdict(response), "unknown")
        self.assertIn("carries no seal", response.text)
        response = self._upload(b"hello, this is no PDF", filename="notes.txt")
        self.assertEqual(self._verdict(response), "damaged")

    def test_ref_link_reveals_nothing_without_the_file(self):
        sign_request = self._sealed_request(name="Secret merger")
        page = self._page(sign_request.reference)
        self.assertIn(sign_request.reference, page.text)
        self.assertNotIn("Secret merger", page.text)
        self.assertNotIn("Ingrid", page.text)
        # the file of another document is told apart
        other = self._sealed_request(name="Other contract")
        response = self._upload(self._signed_bytes(other), ref=sign_request.reference)
        self.assertEqual(self._verdict(response), "valid")
        self.assertIn("o_ds_ref_mismatch", response.text)
        response = self._upload(self._signed_bytes(sign_request), ref=sign_request.reference)
        self.assertNotIn("o_ds_ref_mismatch", response.text)

    # === limits === #
    def test_uploads_are_size_limited(self):
        """The limit is the upload limit plus what signing and sealing add to a document."""
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.max_upload_mb", 1)
        limit = 1024 * 1024 + pades_verify.VERIFY_EXTRA_BYTES
        page = self._page()
        self.assertIn(f'data-max-bytes="{limit}"', page.text)
        csrf = self._csrf()
        a_bit_too_big = make_pdf() + b"%" + b"x" * limit
        response = self._upload(a_bit_too_big, csrf=csrf)
        self.assertEqual(response.status_code, 413)
        self.assertIn("File too large", response.text)
        with mute_logger("odoo.http"):
            response = self._upload(b"%PDF-1.7\n" + b"x" * (limit + 2 * 1024 * 1024), csrf=csrf)
        self.assertEqual(response.status_code, 413, "refused by max_content_length")

    def test_a_document_uploaded_at_the_size_limit_verifies_once_signed(self):
        """Signing and sealing make a document bigger than its upload: the page must still
        check what we produced from a file uploaded at the limit."""
        import pymupdf

        self.env["ir.config_parameter"].sudo().set_param("digital_sign.max_upload_mb", 1)
        doc = pymupdf.open(stream=make_pdf(), filetype="pdf")
        xref = doc.get_new_xref()
        doc.update_object(xref, "<< /Length 0 >>")
        doc.update_stream(xref, os.urandom(1024 * 1024 - 16 * 1024), compress=False)
        doc.xref_set_key(doc.pdf_catalog(), "DSPadding", f"{xref} 0 R")
        near_the_limit = doc.tobytes()
        doc.close()
        self.assertLessEqual(len(near_the_limit), 1024 * 1024)
        sign_request = self._sealed_request(pdf=near_the_limit)
        signed = self._signed_bytes(sign_request)
        self.assertGreater(len(signed), 1024 * 1024, "signing and sealing added bytes")
        response = self._upload(signed)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._verdict(response), "valid")

    def test_uploads_are_rate_limited_per_ip(self):
        csrf = self._csrf()
        pdf = make_pdf()
        for _i in range(const.THROTTLE_VERIFY_PER_IP):
            self.assertEqual(self._upload(pdf, csrf=csrf).status_code, 200)
        response = self._upload(pdf, csrf=csrf)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(self._verdict(response), "throttled")
        self.assertEqual(
            sum(
                self.env["digital.sign.throttle"]
                .sudo()
                .search([("key", "=like", "verify:%")])
                .mapped("hits")
            ),
            const.THROTTLE_VERIFY_PER_IP,
        )

    def test_uploads_need_the_csrf_token_and_are_never_stored(self):
        signed = self._signed_bytes(self._sealed_request())
        with mute_logger("odoo.http"):
            response = self._upload(signed, csrf="bogus")
        self.assertEqual(response.status_code, 400)
        Attachment = self.env["ir.attachment"].sudo()
        before = Attachment.search_count([])
        self.assertEqual(self._verdict(self._upload(signed)), "valid")
        self.assertEqual(Attachment.search_count([]), before)
        self.assertFalse(
            Attachment.search([("checksum", "=", Attachment._compute_checksum(flip_byte(signed)))])
        )
        self._upload(flip_byte(signed))
        self.assertFalse(
            Attachment.search([("checksum", "=", Attachment._compute_checksum(flip_byte(signed)))])
        )

    # === backend === #
    def test_backend_check_with_full_detail_for_managers(self):
        sign_request = self._sealed_request(user=self.user_a)
        action = (
            self.env.ref("digital_sign.digital_sign_request_action_verify_seal")
            .with_user(self.user_a)
            .with_context(
                active_id=sign_request.id,
                active_ids=sign_request.ids,
                active_model="digital.sign.request",
            )
            .run()
        )
        self.assertEqual(action["url"], f"/digital_sign/verify/request/{sign_request.id}")
        self.authenticate(self.manager.login, self.manager.login)
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._verdict(response), "valid")
        self.assertIn("Intact / valid / trusted", response.text)
        self.assertIn("ingrid@example.com", response.text)
        self.assertIn(sign_request.signed_sha256, response.text)
        self.authenticate(self.user_a.login, self.user_a.login)
        response = self.url_open(action["url"])
        self.assertEqual(self._verdict(response), "valid")
        self.assertNotIn("Intact / valid / trusted", response.text)
        self.authenticate(self.user_b.login, self.user_b.login)
        with mute_logger("odoo.http"):
            response = self.url_open(action["url"])
        self.assertIn(response.status_code, (403, 404))
        self.authenticate(None, None)
        response = self.url_open(action["url"], allow_redirects=False)
        self.assertIn(response.status_code, (302, 303), "the backend check needs a login")

    # === tour === #
    def test_verification_page_tour(self):
        self._use_ca_certificate()
        sign_request = self._sealed_request()
        signed = self._signed_bytes(sign_request)
        colleague = self._colleague()
        forger = seal_identity.load_seal_identity(
            self.pki.pkcs12(colleague, P12_PASSWORD), P12_PASSWORD
        )
        files = {
            "verify_tour_sealed": signed,
            "verify_tour_modified": replace_first_page_content(signed),
            "verify_tour_countersigned": tamper.append_signature(
                signed, colleague, [self.pki.intermediate]
            ),
            "verify_tour_forged": pades.seal_pdf(make_pdf(), forger).pdf,
            "verify_tour_random": make_pdf(producer_title="random"),
        }
        for name, data in files.items():
            attachment = self.env["ir.attachment"].create(
                {
                    "name": f"{name}.pdf",
                    "raw": data,
                    "mimetype": "application/pdf",
                    "public": True,
                }
            )
            self.env["ir.model.data"].create(
                {
                    "module": "digital_sign",
                    "name": name,
                    "model": "ir.attachment",
                    "res_id": attachment.id,
                }
            )
        self.start_tour("/digital_sign/verify", "digital_sign_verify")
