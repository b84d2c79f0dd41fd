"""Sealing the final document (issue 7): the company's seal certificate, PAdES levels, the
sealing step while the timestamp server is down, and the 24-hour fallback.

The CA, the seal and timestamp certificates and the timestamp server are made at test time
(engine/testing/pki.py), valid relative to the test's clock: nothing expires, nothing goes
to the network (the timestamp server listens on 127.0.0.1)."""

import base64
import hashlib
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

import pymupdf
from cryptography.hazmat.primitives import hashes
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, tagged

from odoo.addons.digital_sign.engine import pades_verify, timestamp
from odoo.addons.digital_sign.engine.testing import pki
from odoo.addons.digital_sign.models import res_company

from .common import DigitalSignCommon, signature_data_url

PNG_SIGNATURE = signature_data_url()
P12_PASSWORD = b"seal secret"
ResCompany = res_company.ResCompany


class _Refused:
    def __init__(self, case, pattern):
        self.case, self.pattern = case, pattern

    def __enter__(self):
        self.context = self.case.assertRaises(ValidationError)
        self.caught = self.context.__enter__()
        return self.caught

    def __exit__(self, *exc_info):
        handled = self.context.__exit__(*exc_info)
        self.case.assertRegex(str(self.caught.exception), self.pattern)
        return handled


class SealTestMixin:
    """A test CA with a running timestamp server, and helpers to get a request signed and
    sealed through the real flow."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = pki.Pki(label="digital_sign seal test")
        cls.tsa = cls.pki.timestamp_server()
        cls.tsa.start()
        cls.addClassCleanup(cls.tsa.stop)
        cls.env["ir.config_parameter"].sudo().set_param("digital_sign.allow_loopback_tsa", "1")

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The engine gives requests a (connect, read) timeout; Odoo's test handler compares
        # the timeout with a number. Local requests (the test TSA) pass, others stay blocked.
        if isinstance(kw.get("timeout"), tuple):
            kw["timeout"] = max(kw["timeout"])
        return super()._request_handler(s, r, **kw)

    def assertRefused(self, pattern):
        """A ValidationError matching ``pattern``, rolled back (assertRaises uses a savepoint,
        assertRaisesRegex does not)."""
        return _Refused(self, pattern)

    def setUp(self):
        super().setUp()
        timestamp.reset_breaker()
        self.tsa.set_mode("ok")
        self.tsa.pad_bytes = self.tsa.pad_step = 0

    # --- configuration ---
    def _use_ca_certificate(self, company=None, issued=None):
        company = company or self.env.company
        company.write(
            {
                "digital_sign_seal_source": "upload",
                "digital_sign_seal_pkcs12": base64.b64encode(
                    self.pki.pkcs12(issued or self.pki.leaf, P12_PASSWORD)
                ),
                "digital_sign_seal_pkcs12_filename": "seal.p12",
                "digital_sign_seal_password": P12_PASSWORD.decode(),
            }
        )

    def _use_tsa(self, company=None, **values):
        (company or self.env.company).write({"digital_sign_tsa_url": self.tsa.url, **values})

    def _offline_revocation_data(self):
        """Hand the test CA's CRLs and OCSP responses to B-LT/B-LTA seals (no fetching)."""
        material = self.pki.validation_material()
        return patch.object(
            ResCompany, "_digital_sign_get_validation_options", lambda company: (material, False)
        )

    # --- the flow ---
    def _signed_request(self, **values):
        """A request sent and signed by its participant: the final document is pending."""
        sign_request = self._create_request(**values)
        sign_request.action_send()
        participant = sign_request.participant_ids
        my_fields = sign_request.field_ids.filtered(lambda f: f.participant_id == participant)
        result = participant._submit(
            {
                str(f.id): PNG_SIGNATURE if f.kind in ("signature", "initials") else "typed"
                for f in my_fields
                if f.kind != "date"
            },
            True,
            sign_request.original_sha256,
            ip="198.51.100.7",
            user_agent="SealTest/1.0",
        )
        self.assertEqual(result["status"], "ok", result)
        self.assertEqual(sign_request.state, "signed")
        self.assertEqual(sign_request.finalize_state, "pending")
        return sign_request

    def _sealed_request(self, **values):
        sign_request = self._signed_request(**values)
        self.assertTrue(sign_request._finalize())
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(sign_request.seal_state, "sealed")
        return sign_request

    def _signed_bytes(self, sign_request):
        return base64.b64decode(sign_request.with_context(bin_size=False).signed_pdf)

    def _verify(self, pdf, **kwargs):
        return pades_verify.verify_pdf(
            pdf, trust_roots=self.env["res.company"]._digital_sign_trust_roots(), **kwargs
        )

    def _events(self, sign_request, event_type):
        return sign_request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)

    def _completion_certificate_text(self, pdf):
        doc = pymupdf.open(stream=pdf, filetype="pdf")
        text = " ".join(doc[i].get_text() for i in range(doc.page_count))
        doc.close()
        return " ".join(text.split())

    def assert_sealed_trusted(self, sign_request, level):
        signed = self._signed_bytes(sign_request)
        self.assertEqual(
            hashlib.sha256(signed).hexdigest(),
            sign_request.signed_sha256,
            "the request stores exactly the sealed bytes",
        )
        result = self._verify(signed)
        self.assertEqual(result.status, "valid", result)
        self.assertTrue(result.intact and result.valid and result.trusted)
        self.assertEqual(result.level, level)
        self.assertIn(sign_request.signed_sha256, result.revision_sha256s)
        sealed = self._events(sign_request, "sealed")
        self.assertEqual(len(sealed), 1)
        details = json.loads(sealed.details)
        self.assertEqual(details["level"], level)
        self.assertEqual(details["sha256"], sign_request.signed_sha256)
        self.assertEqual(sealed.document_sha256, sign_request.signed_sha256)
        return signed, result


@tagged("post_install", "-at_install")
class TestSeal(SealTestMixin, DigitalSignCommon):
    # === the seal certificate === #
    def test_self_signed_certificate_made_on_first_use_and_b_b_seal(self):
        company = self.env.company
        self.assertFalse(company.sudo().digital_sign_seal_auto_pkcs12)
        with self.assertLogs("odoo.addons.digital_sign", level="DEBUG") as logs:
            sign_request = self._sealed_request()
        company_sudo = company.sudo().with_context(bin_size=False)
        password = company_sudo.digital_sign_seal_auto_password
        self.assertGreaterEqual(len(password), 40)
        self.assertTrue(company_sudo.digital_sign_seal_auto_pkcs12)
        self.assertNotIn(password, "\n".join(logs.output), "the password is never logged")
        signed, result = self.assert_sealed_trusted(sign_request, "B-B")
        self.assertEqual(result.coverage, "ENTIRE_FILE")
        self.assertEqual(result.modification_level, "NONE")
        self.assertTrue(result.self_signed)
        self.assertIsNone(result.timestamp_time, "no timestamp server: no trusted time")
        self.assertFalse(json.loads(self._events(sign_request, "sealed").details)["timestamp"])
        # the certificate of completion says the seal certificate is self-signed
        text = self._completion_certificate_text(signed)
        self.assertIn("self-signed", text)
        self.assertIn(result.cert_fingerprint, text.replace(" ", ""))
        # the next document uses the same certificate
        other = self._sealed_request(name="Second contract")
        self.assertEqual(
            self._verify(self._signed_bytes(other)).cert_fingerprint, result.cert_fingerprint
        )
        self.assertEqual(len(company.digital_sign_seal_certificates), 1)
        # the settings describe it
        self.assertIn("Self-signed", company.digital_sign_seal_certificate_info)
        self.assertIn(result.cert_fingerprint, company.digital_sign_seal_certificate_url)

    def test_keys_and_passwords_are_for_administrators_only(self):
        self._sealed_request()
        self._use_tsa(digital_sign_tsa_username="user", digital_sign_tsa_password="tsa secret")
        for name in (
            "digital_sign_seal_auto_pkcs12",
            "digital_sign_seal_auto_password",
            "digital_sign_seal_pkcs12",
            "digital_sign_seal_password",
            "digital_sign_tsa_password",
        ):
            with self.subTest(field=name), self.assertRaises(AccessError):
                self.env.company.with_user(self.manager).read([name])
        # the public part is not secret
        company = self.env.company.with_user(self.manager)
        self.assertTrue(
            company.read(["digital_sign_seal_certificates"])[0]["digital_sign_seal_certificates"]
        )

    def test_uploaded_ca_certificate_gives_b_t_with_the_timestamp_server(self):
        self._use_ca_certificate()
        self._use_tsa()
        tokens = self.tsa.tokens_issued
        sign_request = self._sealed_request()
        signed, result = self.assert_sealed_trusted(sign_request, "B-T")
        self.assertEqual(result.coverage, "ENTIRE_FILE")
        self.assertEqual(result.modification_level, "NONE")
        self.assertFalse(result.self_signed)
        self.assertTrue(result.timestamp_trusted)
        self.assertIsNotNone(result.timestamp_time)
        self.assertEqual(self.tsa.tokens_issued, tokens + 1)
        # valid against the test root alone too
        independent = pades_verify.verify_pdf(signed, trust_roots=self.pki.trust_roots)
        self.assertEqual(independent.status, "valid")
        self.assertEqual(independent.coverage, "ENTIRE_FILE")
        # the certificate of completion names the issuer
        text = self._completion_certificate_text(signed)
        self.assertIn("issued by", text)
        self.assertIn("Intermediate CA", text)
        self.assertNotIn("self-signed", text)
        # the timestamp server's chain is trusted from now on
        self.assertTrue(self.env.company.digital_sign_tsa_certificates)

    def test_b_lt_validates_offline_with_mocked_revocation_data(self):
        self._use_ca_certificate()
        self._use_tsa()
        with self._offline_revocation_data():
            sign_request = self._sealed_request()
        signed, result = self.assert_sealed_trusted(sign_request, "B-LT")
        self.assertEqual(result.coverage, "ENTIRE_REVISION")  # the DSS revision follows
        self.assertEqual(result.modification_level, "LTA_UPDATES")
        self.assertEqual(result.revision_sha256s[-1], sign_request.signed_sha256)
        self.assertIn(b"/DSS", signed)
        # years later, offline, the embedded data still proves it
        later = self._verify(signed, now=datetime.now(UTC) + timedelta(days=3 * 365))
        self.assertEqual(later.status, "valid", later)

    def test_b_lta_option(self):
        self._use_ca_certificate()
        self._use_tsa(digital_sign_seal_lta=True)
        self.assertIn("B-LTA", self.env.company.digital_sign_seal_level)
        with self._offline_revocation_data():
            sign_request = self._sealed_request()
        signed, _result = self.assert_sealed_trusted(sign_request, "B-LTA")
        self.assertIn(b"/DocTimeStamp", signed)

    def test_certificate_without_non_repudiation_is_refused(self):
        weak = self.pki.issue(
            "No non-repudiation", issuer=self.pki.intermediate, key_usage=("digital_signature",)
        )
        with self.assertRefused("non-repudiation"):
            self._use_ca_certificate(issued=weak)
        # through the settings as well, where file and password are saved together
        with self.assertRefused("non-repudiation"):
            self.env["res.config.settings"].create(
                {
                    "digital_sign_seal_source": "upload",
                    "digital_sign_seal_pkcs12": base64.b64encode(
                        self.pki.pkcs12(weak, P12_PASSWORD)
                    ),
                    "digital_sign_seal_password": P12_PASSWORD.decode(),
                }
            )
        self.assertEqual(self.env.company.digital_sign_seal_source, "auto")

    def test_uploaded_certificate_checks(self):
        now = datetime.now(UTC)
        expired = self.pki.issue(
            "Expired",
            issuer=self.pki.intermediate,
            not_before=now - timedelta(days=400),
            not_after=now - timedelta(days=1),
        )
        with self.assertRefused("expired"):
            self._use_ca_certificate(issued=expired)
        with self.assertRefused("password is wrong"):
            self.env.company.write(
                {
                    "digital_sign_seal_source": "upload",
                    "digital_sign_seal_pkcs12": base64.b64encode(
                        self.pki.pkcs12(self.pki.leaf, b"other")
                    ),
                    "digital_sign_seal_password": "not the password",
                }
            )
        with self.assertRefused("Upload the seal certificate"):
            self.env.company.digital_sign_seal_source = "upload"
        # a good certificate saved through the settings: one write, trusted at once
        settings = self.env["res.config.settings"].create(
            {
                "digital_sign_seal_source": "upload",
                "digital_sign_seal_pkcs12": base64.b64encode(
                    self.pki.pkcs12(self.pki.leaf, P12_PASSWORD)
                ),
                "digital_sign_seal_pkcs12_filename": "seal.p12",
                "digital_sign_seal_password": P12_PASSWORD.decode(),
            }
        )
        settings.execute()
        company = self.env.company
        self.assertEqual(company.digital_sign_seal_source, "upload")
        self.assertIn("Issued by", company.digital_sign_seal_certificate_info)
        entry = company.digital_sign_seal_certificates[-1]
        self.assertEqual(
            entry["fingerprint"], self.pki.leaf.cert.fingerprint(hashes.SHA256()).hex()
        )
        self.assertIn(self.pki.root.cert_der, self.env["res.company"]._digital_sign_trust_roots())
        # saving the settings again without touching the certificate changes nothing
        self.env["res.config.settings"].create({}).execute()
        self.assertEqual(company.digital_sign_seal_source, "upload")

    def test_timestamp_server_url_is_checked_when_saved(self):
        company = self.env.company
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.allow_loopback_tsa", False)
        for url in (
            self.tsa.url,
            "http://198.51.100.10/tsr",
            "https://10.1.2.3/tsr",
            "ftp://tsa.example/",
            "https://user:pw@203.0.113.5/",
        ):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                company.digital_sign_tsa_url = url
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.allow_loopback_tsa", "1")
        company.digital_sign_tsa_url = self.tsa.url
        self.assertIn("B-LT", company.digital_sign_seal_level)

    def test_document_that_forbids_changes_is_kept_as_it_came(self):
        """A PDF certified "no changes" (as a signature service may deliver it) cannot take
        a seal: it is kept byte for byte and marked unsealed, never rewritten."""
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import MDPPerm
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        stranger = pki.Pki(label="signature service")
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(stranger.leaf.cert_der),
            signing_key=asn1_keys.PrivateKeyInfo.load(stranger.leaf.key_der),
            cert_registry=SimpleCertificateStore.from_certs([]),
        )
        certified = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(self.pdf_one_signature)),
            signers.PdfSignatureMetadata(
                field_name="Provider", certify=True, docmdp_permissions=MDPPerm.NO_CHANGES
            ),
            signer=signer,
        ).getvalue()
        sign_request = self._signed_request()
        kept = sign_request._seal_final_document(certified)
        self.assertEqual(kept, certified)
        self.assertEqual(sign_request.seal_state, "unsealed")
        self.assertEqual(
            json.loads(self._events(sign_request, "seal_failed").details)["reason"],
            "signing_refused",
        )

    # === the timestamp server fails === #
    def test_after_24_hours_the_fallback_seals_without_timestamp(self):
        self._use_ca_certificate()
        self._use_tsa(digital_sign_seal_fallback="unsealed_time")
        self.tsa.set_mode("unavailable")
        sign_request = self._signed_request()
        self.assertFalse(sign_request._finalize())
        self.assertEqual(sign_request.seal_state, "pending")
        self.assertEqual(sign_request.finalize_state, "pending")
        interim = base64.b64decode(sign_request.sudo().with_context(bin_size=False).interim_pdf)
        self.assertTrue(interim)
        self.assertFalse(sign_request.activity_ids)
        with freeze_time(fields.Datetime.now() + timedelta(hours=23)):
            timestamp.reset_breaker()
            self.assertFalse(sign_request._finalize(), "still within 24 hours: it waits")
        with freeze_time(fields.Datetime.now() + timedelta(hours=25)):
            timestamp.reset_breaker()
            self.assertTrue(sign_request._finalize())
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(sign_request.seal_state, "sealed")
        signed = self._signed_bytes(sign_request)
        self.assertTrue(signed.startswith(interim), "the document waiting is the one sealed")
        result = self._verify(signed)
        self.assertEqual(result.status, "valid")
        self.assertEqual(result.level, "B-B")
        self.assertIsNone(result.timestamp_time, "the local clock is never a trusted timestamp")
        self.assertEqual(len(self._events(sign_request, "seal_waiting")), 1)
        self.assertEqual(len(self._events(sign_request, "seal_overdue")), 1)
        fallback = self._events(sign_request, "seal_fallback")
        self.assertEqual(len(fallback), 1)
        self.assertEqual(json.loads(fallback.details)["level"], "B-B")
        self.assertEqual(json.loads(fallback.details)["sha256"], sign_request.signed_sha256)
        self.assertFalse(self._events(sign_request, "sealed"))
        activity = sign_request.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, sign_request.user_id)

    def test_after_24_hours_the_owner_is_told_once_and_it_keeps_waiting(self):
        self._use_tsa()  # fallback: wait (the default)
        self.tsa.set_mode("unavailable")
        sign_request = self._signed_request()
        self.assertFalse(sign_request._finalize())
        for hours in (25, 26, 48):
            with freeze_time(fields.Datetime.now() + timedelta(hours=hours)):
                timestamp.reset_breaker()
                self.assertFalse(sign_request._finalize())
        self.assertEqual(sign_request.seal_state, "pending")
        self.assertEqual(len(sign_request.activity_ids), 1, "one activity, not one per retry")
        self.assertEqual(len(self._events(sign_request, "seal_waiting")), 1)
        self.assertEqual(len(self._events(sign_request, "seal_overdue")), 1)
        self.assertFalse(sign_request.signed_pdf)
        # the server is back: a normal B-T seal
        self.tsa.set_mode("ok")
        timestamp.reset_breaker()
        self.assertTrue(sign_request._finalize())
        self.assert_sealed_trusted(sign_request, "B-T")

    def test_a_dead_server_is_not_called_once_per_document(self):
        self._use_tsa()
        self.tsa.set_mode("unavailable")
        first, second = self._signed_request(), self._signed_request(name="Other contract")
        requests_before = self.tsa.requests
        self.assertFalse(first._finalize())
        self.assertFalse(second._finalize())
        self.assertEqual(self.tsa.requests, requests_before + 1)
        self.assertEqual(
            json.loads(self._events(second, "seal_waiting").details)["reason"], "recent_failure"
        )

    # === the placeholder === #
    def test_twenty_seals_with_full_chain_and_timestamp_never_overflow(self):
        self._use_ca_certificate()
        self._use_tsa()
        self.tsa.pad_step = 600  # tokens keep growing: the size estimate trap (pyHanko #515)
        sizes = []
        with (
            self._offline_revocation_data(),
            self.assertNoLogs("odoo.addons.digital_sign", "ERROR"),
        ):
            for i in range(20):
                sign_request = self._sealed_request(name=f"Contract {i}")
                signed, result = self.assert_sealed_trusted(sign_request, "B-LT")
                self.assertTrue(result.timestamp_trusted)
                sizes.append(len(signed))
        self.assertGreater(self.tsa.tokens_issued, 19)
        self.assertGreater(sizes[-1], sizes[0])


@tagged("post_install", "-at_install")
class TestSealPending(SealTestMixin, DigitalSignCommon, HttpCase):
    def test_timestamp_server_down_then_back(self):
        self._use_ca_certificate()
        self._use_tsa()
        self.tsa.set_mode("unavailable")
        sign_request = self._signed_request()
        participant = sign_request.participant_ids
        cron = self.env.ref("digital_sign.ir_cron_finalize_documents")
        with self.assertLogs(
            "odoo.addons.digital_sign.models.digital_sign_request", logging.WARNING
        ):
            cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "pending")
        self.assertEqual(sign_request.seal_state, "pending")
        self.assertFalse(sign_request.signed_pdf)
        interim = base64.b64decode(sign_request.sudo().with_context(bin_size=False).interim_pdf)
        waiting = self._events(sign_request, "seal_waiting")
        self.assertEqual(len(waiting), 1)
        self.assertEqual(json.loads(waiting.details)["reason"], "http_503")
        # the signer is told the document is being finalised
        page = self.url_open(participant._get_signing_path())
        self.assertIn("being finalised", page.text)
        # still down at the next run: no new event
        timestamp.reset_breaker()
        cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "pending")
        self.assertEqual(len(self._events(sign_request, "seal_waiting")), 1)
        # back: the next run seals
        self.tsa.set_mode("ok")
        timestamp.reset_breaker()
        cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(sign_request.seal_state, "sealed")
        self.assertFalse(sign_request.sudo().interim_pdf)
        signed, result = self.assert_sealed_trusted(sign_request, "B-T")
        self.assertTrue(signed.startswith(interim))
        self.assertEqual(result.coverage, "ENTIRE_FILE")
        self.assertTrue(result.timestamp_trusted)
        page = self.url_open(participant._get_signing_path())
        self.assertIn("Download the signed document", page.text)
