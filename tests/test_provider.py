"""External signature services against local servers on 127.0.0.1 that speak their APIs.

The provider clients (engine/providers) run unchanged; only the base URL points at the fake
(the loopback-only override ``digital_sign.<code>.api_url``).
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pymupdf
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tests.common import _super_send
from odoo.tools import mute_logger

from odoo.addons.digital_sign.engine.providers import TOKEN_CACHE
from odoo.addons.digital_sign.engine.testing.fake_docusign import FakeDocuSign
from odoo.addons.digital_sign.engine.testing.fake_getaccept import FakeGetAccept

from .. import const
from .common import DigitalSignCommon, person


def _signed_pdf():
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Signed at the service")
    data = doc.tobytes()
    doc.close()
    return data


class ProviderCommon(DigitalSignCommon):
    # Scheduled actions run in cursors that must see this test's transaction.
    registry_test_mode = True

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's handler expects a single number as timeout; the provider clients always send
        # a (connect, read) pair. Loopback calls to the local fake services go out unchanged.
        if urlsplit(r.url).hostname in ("127.0.0.1", "localhost"):
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls._registry_patched:
            cls.registry_enter_test_mode_cls()
        TOKEN_CACHE.clear()
        cls.getaccept = FakeGetAccept(api_tokens=("ga-token",))
        cls.getaccept.start()
        cls.addClassCleanup(cls.getaccept.stop)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        cls.docusign = FakeDocuSign(
            integration_key="ik", user_id="uid", public_key=key.public_key()
        )
        cls.docusign.start()
        cls.addClassCleanup(cls.docusign.stop)
        ICP = cls.env["ir.config_parameter"].sudo()
        ICP.set_param("digital_sign.getaccept.api_url", cls.getaccept.base_url)
        ICP.set_param("digital_sign.docusign.api_url", cls.docusign.base_url)
        ICP.set_param("digital_sign.docusign.oauth_base_url", cls.docusign.oauth_base_url)
        ICP.set_param("digital_sign.http_read_timeout", 2)
        Provider = cls.env["digital.sign.provider"]
        cls.ga_provider = Provider.create(
            {
                "name": "GetAccept",
                "code": "getaccept",
                "state": "test",
                "getaccept_api_token": "ga-token",
                "webhook_secret": "ga-hook-secret",
            }
        )
        cls.ds_provider = Provider.create(
            {
                "name": "DocuSign",
                "code": "docusign",
                "state": "test",
                "docusign_integration_key": "ik",
                "docusign_user_id": "uid",
                "docusign_account_id": cls.docusign.account_id,
                "docusign_private_key": pem,
                "webhook_secret": "ds-connect-key",
            }
        )

    def setUp(self):
        super().setUp()
        self.getaccept.clear_faults()
        self.docusign.clear_faults()

    def _send_with(self, provider, **kwargs):
        request = self._create_request(provider_id=provider.id, **kwargs)
        request.action_send()
        self.assertEqual(request.provider_sync_state, "to_send", "the POST waits for the commit")
        self.env.ref("digital_sign.ir_cron_provider_outbox").method_direct_trigger()
        self.assertEqual(request.provider_sync_state, "sent", request.state_message)
        return request


@tagged("post_install", "-at_install")
class TestGetAccept(ProviderCommon):
    def test_send_creates_the_document_with_its_recipients(self):
        request = self._send_with(
            self.ga_provider,
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", signing_order=1),
                {
                    "name": "Carl",
                    "mobile": "+46707654321",
                    "role": "Cosigner",
                    "signing_order": 2,
                    "invite_channel": "sms",
                    "mandatory": False,
                },
            ],
        )
        document = self.getaccept.document(request.provider_reference)
        self.assertEqual(document["external_id"], request.reference)
        self.assertEqual(len(document["recipients"]), 2)
        self.assertTrue(all(p.provider_recipient_id for p in request.participant_ids))
        self.assertEqual(
            request.participant_ids.mapped("state"),
            ["sent", "waiting"],
            "the cosigner waits for their turn (signing order)",
        )
        self.assertFalse(
            request.participant_ids[0]._get_signing_path(), "the service invites: no link of ours"
        )
        self.assertIn("provider_status", request.event_ids.mapped("event_type"))

    def test_every_status_maps_onto_ours(self):
        expected = {
            "sent": "sent",
            "viewed": "viewed",
            "reviewed": "viewed",
            "rejected": "rejected",
            "recalled": "cancelled",
            "expired": "expired",
            "signed": "signed",
        }
        for raw, ours in expected.items():
            with self.subTest(status=raw):
                request = self._send_with(self.ga_provider, name=f"Doc {raw}")
                self.getaccept.set_download(request.provider_reference, _signed_pdf())
                self.getaccept.set_status(request.provider_reference, raw)
                request.action_check_status()
                self.assertEqual(request.state, ours)
                self.assertEqual(request.provider_status, raw)

    def test_signed_document_is_downloaded_and_a_non_pdf_refused(self):
        request = self._send_with(self.ga_provider)
        self.getaccept.set_download(
            request.provider_reference, b"<html>not a pdf</html>", "text/html"
        )
        self.getaccept.set_status(request.provider_reference, "signed")
        request.action_check_status()
        self.assertEqual(request.state, "signed")
        with mute_logger("odoo.addons.digital_sign.models.digital_sign_request"):
            self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "pending", "a bad download is retried, not kept")
        self.assertTrue(request.finalize_error)
        pdf = _signed_pdf()
        self.getaccept.set_download(request.provider_reference, pdf)
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        signed = base64.b64decode(request.signed_pdf)
        self.assertTrue(signed.startswith(pdf), "the service's PDF, at most extended by our seal")

    def test_429_pauses_the_service_and_honours_retry_after(self):
        requests = self._send_with(self.ga_provider, name="A") | self._send_with(
            self.ga_provider, name="B"
        )
        self.getaccept.reset_calls()
        self.getaccept.rate_limit_next(5, retry_after=120, method="GET")
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
            self.assertGreater(
                self.ga_provider.blocked_until, fields.Datetime.now() + timedelta(seconds=100)
            )
            calls = self.getaccept.total_calls
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
            self.assertEqual(self.getaccept.total_calls, calls, "no call before Retry-After")
        self.assertTrue(any(r.state_message for r in requests))

    def test_server_errors_timeouts_and_malformed_json_are_recorded_and_retried(self):
        request = self._send_with(self.ga_provider)
        for fault, code in (
            ("fail", "error"),
            ("delay", "time"),
            ("malformed", "could not be read"),
        ):
            with self.subTest(fault=fault):
                self.getaccept.clear_faults()
                if fault == "fail":
                    self.getaccept.fail_next(3, 500, method="GET")
                elif fault == "delay":
                    self.getaccept.delay_next(1, seconds=3, method="GET")
                else:
                    self.getaccept.malformed_next(3, method="GET")
                failures = request.provider_failures
                request.action_check_status()
                self.assertEqual(request.provider_failures, failures + 1)
                self.assertIn(code, request.state_message)
                self.assertEqual(request.state, "sent", "nothing lost")
        self.getaccept.clear_faults()
        self.getaccept.set_status(request.provider_reference, "viewed")
        request.action_check_status()
        self.assertEqual(request.state, "viewed")
        self.assertEqual(request.provider_failures, 0)
        self.assertFalse(request.state_message)

    def test_a_failure_in_the_middle_of_a_batch_loses_nothing(self):
        requests = [self._send_with(self.ga_provider, name=f"Batch {i}") for i in range(3)]
        for request in requests:
            self.getaccept.set_status(request.provider_reference, "viewed")
        self.getaccept.fail_next(1, 500, method="GET", path=requests[1].provider_reference)
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual([r.state for r in requests], ["viewed", "sent", "viewed"])
        self.assertEqual(requests[1].provider_failures, 1)
        self.assertTrue(requests[1].state_message)
        self.assertIn("provider_error", requests[1].event_ids.mapped("event_type"))
        with freeze_time(fields.Datetime.now() + timedelta(hours=3)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual([r.state for r in requests], ["viewed", "viewed", "viewed"])
        self.assertEqual(requests[1].provider_failures, 0)

    def test_cancel_recalls_at_the_service(self):
        request = self._send_with(self.ga_provider)
        request._set_cancelled("accepted by phone")
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(request.provider_cancel_state, "pending", "the call waits for the commit")
        self.env.ref("digital_sign.ir_cron_provider_cancel").method_direct_trigger()
        self.assertIn(request.provider_reference, self.getaccept.deleted)
        self.assertEqual(request.provider_cancel_state, "done")
        self.assertIn("provider_cancelled", request.event_ids.mapped("event_type"))

    def test_completion_needs_every_mandatory_signer_at_the_service(self):
        request = self._send_with(
            self.ga_provider,
            pdf=self.pdf_two_roles,
            participants=[person("Ingrid", "Customer"), person("Carl", "Cosigner")],
        )
        ingrid, carl = request.participant_ids
        signed_at = fields.Datetime.now() - timedelta(hours=3)
        self.getaccept.clock = lambda: signed_at.replace(tzinfo=UTC)
        self.addCleanup(setattr, self.getaccept, "clock", lambda: datetime.now(UTC))
        self.getaccept.set_status(
            request.provider_reference, "signed", recipients={carl.provider_recipient_id: "viewed"}
        )
        self.getaccept.omit_recipients = True
        self.addCleanup(setattr, self.getaccept, "omit_recipients", False)
        request.action_check_status()
        self.assertEqual(self.getaccept.call_count("GET", "/recipients"), 1)
        self.assertEqual(request.state, "sent", "no completion without Carl's signature")
        self.assertEqual(
            (ingrid.state, ingrid.signed_at),
            ("signed", signed_at),
            "the service's signing time, not ours",
        )
        self.assertEqual(carl.state, "viewed", "a mandatory participant is never skipped")
        self.assertFalse(carl.signed_at, "no signature is made up")
        self.assertIn("Carl", request.state_message)
        self.assertEqual(
            request.event_ids.filtered(lambda e: e.event_type == "provider_inconsistent").mapped(
                "participant_id"
            ),
            self.env["digital.sign.participant"],
        )
        self.assertEqual(
            len(request.event_ids.filtered(lambda e: e.event_type == "provider_inconsistent")), 1
        )
        self.assertTrue(request.activity_ids, "the owner is told")
        request.action_check_status()
        self.assertEqual(
            len(request.event_ids.filtered(lambda e: e.event_type == "provider_inconsistent")),
            1,
            "told once",
        )
        self.getaccept.set_recipient_status(
            request.provider_reference, carl.provider_recipient_id, "signed"
        )
        request.action_check_status()
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.signed_on, max(request.participant_ids.mapped("signed_at")))

    def test_reminders_use_the_service_api(self):
        request = self._send_with(self.ga_provider)
        with freeze_time(fields.Datetime.now() + timedelta(days=3, minutes=1)):
            self.env.ref("digital_sign.ir_cron_send_reminders").method_direct_trigger()
        self.assertEqual(len(self.getaccept.reminders), 1)
        self.assertEqual(request.participant_ids.reminder_count, 1)
        self.assertIn("reminded", request.event_ids.mapped("event_type"))

    def test_connection_test_reports_success_and_bad_credentials(self):
        self.assertEqual(self.ga_provider.action_test_connection()["params"]["type"], "success")
        self.ga_provider.getaccept_api_token = "wrong"
        TOKEN_CACHE.clear()
        self.assertEqual(self.ga_provider.action_test_connection()["params"]["type"], "danger")

    def test_overrides_point_only_at_loopback(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "digital_sign.getaccept.api_url", "https://evil.example.com/v1"
        )
        with self.assertRaises(UserError):
            self.ga_provider._get_client()


@tagged("post_install", "-at_install")
class TestDocuSign(ProviderCommon):
    def test_send_status_changed_since_and_polling_rule(self):
        request = self._send_with(
            self.ds_provider,
            participants=[
                {
                    "name": "Ingrid",
                    "email": "ingrid@example.com",
                    "mobile": "+46701234567",
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ],
        )
        envelope = self.docusign.envelope(request.provider_reference)
        self.assertEqual(
            envelope["transactionId"] if "transactionId" in envelope else request.reference,
            request.reference,
        )
        # "Check status" within 15 minutes reuses the last answer: no call
        self.docusign.reset_calls()
        result = request.action_check_status()
        self.assertEqual(self.docusign.total_calls, 0)
        self.assertIn("15 minutes", result["params"]["message"])
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            self.docusign.set_status(request.provider_reference, "delivered")
            request.action_check_status()
            self.assertEqual(request.state, "viewed")
        # the poller makes one "changed since" call for every envelope
        others = [self._send_with(self.ds_provider, name=f"Other {i}") for i in range(3)]
        self.ds_provider.last_poll_at = fields.Datetime.now() - timedelta(minutes=31)
        for other in others:
            self.docusign.set_status(other.provider_reference, "delivered")
        self.docusign.reset_calls()
        with freeze_time(fields.Datetime.now() + timedelta(minutes=40)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(self.docusign.call_count("GET", "/envelopes"), 1)
        self.assertEqual(self.docusign.total_calls, 1)
        self.assertEqual({o.state for o in others}, {"viewed"})

    def test_features_are_the_services(self):
        # what each provider can do comes from its engine client; the built-in page has none
        portal = self.env["digital.sign.provider"]._get_portal_provider()
        self.assertEqual(
            [
                (p.support_remote_signing, p.support_changed_since, p.status_poll_min_seconds)
                for p in (self.ds_provider, self.ga_provider, portal)
            ],
            [(True, True, 15 * 60), (True, False, 0), (False, False, 0)],
        )
        with self.assertRaises(UserError):
            portal._get_client()

    def test_void_with_expiry_reason_is_expired(self):
        request = self._send_with(self.ds_provider)
        self.docusign.expire(request.provider_reference)
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            request.action_check_status()
        self.assertEqual(request.state, "expired")
        other = self._send_with(self.ds_provider, name="Voided")
        self.docusign.set_status(
            other.provider_reference, "voided", reason="Customer changed his mind"
        )
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            other.action_check_status()
        self.assertEqual(other.state, "cancelled")

    def _complete_at(self, request, signed_at, **kwargs):
        """Complete the envelope at the fake DocuSign with its clock at ``signed_at``."""
        self.docusign.clock = lambda: signed_at.replace(tzinfo=UTC)
        try:
            self.docusign.set_status(request.provider_reference, "completed", **kwargs)
        finally:
            self.docusign.clock = lambda: datetime.now(UTC)

    def test_completion_listed_without_recipients_fetches_them_first(self):
        request = self._send_with(
            self.ds_provider,
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner", mandatory=False),
            ],
        )
        signed_at = fields.Datetime.now() - timedelta(hours=2)
        self._complete_at(request, signed_at)
        self.docusign.recipients_in_listings = False
        self.addCleanup(setattr, self.docusign, "recipients_in_listings", True)
        self.ds_provider.last_poll_at = fields.Datetime.now() - timedelta(hours=3)
        self.docusign.reset_calls()
        with freeze_time(fields.Datetime.now() + timedelta(minutes=40)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(self.docusign.call_count("GET", "/recipients"), 1)
        self.assertEqual(request.state, "signed")
        self.assertEqual(
            request.participant_ids.mapped("state"),
            ["signed", "signed"],
            "nobody is skipped when the service says they signed",
        )
        self.assertEqual(request.participant_ids.mapped("signed_at"), [signed_at, signed_at])
        self.assertEqual(request.signed_on, signed_at)

    def test_a_failed_recipients_fetch_writes_nothing_and_is_retried(self):
        request = self._send_with(self.ds_provider)
        self._complete_at(request, fields.Datetime.now() - timedelta(minutes=5))
        self.docusign.recipients_in_listings = False
        self.addCleanup(setattr, self.docusign, "recipients_in_listings", True)
        self.ds_provider.last_poll_at = fields.Datetime.now() - timedelta(hours=1)
        self.docusign.fail_next(3, 503, method="GET", path="/recipients")  # GETs are retried twice
        events = len(request.event_ids)
        with freeze_time(fields.Datetime.now() + timedelta(minutes=40)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(request.state, "sent")
        self.assertEqual(request.participant_ids.state, "sent", "nothing marked")
        self.assertEqual(request.provider_failures, 1)
        self.assertTrue(request.provider_refresh_requested)
        self.assertEqual(request.event_ids.sorted("sequence")[-1].event_type, "provider_error")
        self.assertEqual(len(request.event_ids), events + 1)
        # the listing will not bring it again: the next run asks for it on its own
        with freeze_time(fields.Datetime.now() + timedelta(hours=2)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.participant_ids.state, "signed")

    def test_completed_envelope_downloads_the_combined_document(self):
        request = self._send_with(self.ds_provider)
        self.docusign.set_download(request.provider_reference, _signed_pdf())
        self.docusign.set_status(request.provider_reference, "completed")
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            request.action_check_status()
        self.assertEqual(request.state, "signed")
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        self.assertEqual(self.docusign.call_count("GET", "/documents/"), 1)


@tagged("post_install", "-at_install")
class TestProviderCancel(ProviderCommon):
    """A document cancelled here dies at once; its envelope at the service is withdrawn by a
    queue that retries until the service confirms, then tells the owner and stops."""

    def _cancel(self, request, reason="accepted by phone"):
        request._set_cancelled(reason)
        self.assertEqual(request.state, "cancelled")
        self.assertFalse(request.participant_ids._get_signing_path(), "links die at once")
        self.assertEqual(request.provider_cancel_state, "pending")

    def _run_queue(self, at=None):
        with freeze_time(at or fields.Datetime.now()):
            self.env.ref("digital_sign.ir_cron_provider_cancel").method_direct_trigger()

    def _events(self, request, event_type):
        return request.event_ids.filtered(lambda e: e.event_type == event_type)

    def test_a_failed_cancel_is_retried_until_the_service_confirms(self):
        order = self.env["sale.order"].create({"partner_id": self.customer.id})
        request = self._send_with(self.ds_provider, res_model="sale.order", res_id=order.id)
        self.assertEqual(order.digital_sign_request_id, request)
        start = fields.Datetime.now()
        self.docusign.fail_next(1, 500, method="PUT")
        with freeze_time(start):
            self._cancel(request)
            self._run_queue()
        self.assertEqual(request.provider_cancel_state, "pending", "a 500 is not swallowed")
        self.assertEqual(request.provider_cancel_attempts, 1)
        self.assertEqual(request.provider_cancel_next_at, start + timedelta(minutes=5))
        self.assertTrue(request.state_message)
        self.assertTrue(order.digital_sign_cancel_pending, "the quotation shows it too")
        self.assertEqual(self.docusign.envelope(request.provider_reference)["status"], "sent")
        calls = self.docusign.call_count("PUT")
        self._run_queue(start + timedelta(minutes=4))
        self.assertEqual(self.docusign.call_count("PUT"), calls, "not before the delay")
        self.docusign.delay_next(1, seconds=3, method="PUT")  # read timeout: 2 s
        self._run_queue(start + timedelta(minutes=6))
        self.assertEqual(request.provider_cancel_attempts, 2)
        self.assertEqual(request.provider_cancel_next_at, start + timedelta(minutes=16))
        self._run_queue(start + timedelta(minutes=17))
        self.assertEqual(request.provider_cancel_state, "done")
        self.assertFalse(request.state_message)
        self.assertFalse(order.digital_sign_cancel_pending)
        self.assertEqual(self.docusign.envelope(request.provider_reference)["status"], "voided")
        failed = self._events(request, "provider_cancel_failed")
        self.assertEqual(
            [json.loads(e.details)["code"] for e in failed.sorted("sequence")],
            ["provider_server_error", "provider_timeout"],
            "each attempt is logged",
        )
        self.assertEqual(
            json.loads(self._events(request, "provider_cancelled").details)["attempt"], 3
        )
        self.assertIsNone(request._check_integrity())

    def test_retry_after_is_honoured(self):
        request = self._send_with(self.ds_provider)
        start = fields.Datetime.now()
        self.docusign.rate_limit_next(1, retry_after=3600, method="PUT")
        with freeze_time(start):
            self._cancel(request)
            self._run_queue()
        self.assertEqual(request.provider_cancel_state, "pending")
        self.assertGreaterEqual(request.provider_cancel_next_at, start + timedelta(seconds=3600))
        self.assertGreaterEqual(self.ds_provider.blocked_until, start + timedelta(seconds=3600))
        self._run_queue(start + timedelta(minutes=30))
        self.assertEqual(request.provider_cancel_attempts, 1, "no call while the service waits")
        self._run_queue(start + timedelta(hours=1, minutes=1))
        self.assertEqual(request.provider_cancel_state, "done")

    def test_after_the_last_attempt_the_owner_is_told_and_the_queue_stops(self):
        request = self._send_with(self.ga_provider)
        self.getaccept.fail_next(100, 500, method="DELETE")
        now = fields.Datetime.now()
        with freeze_time(now):
            self._cancel(request)
        for _attempt in range(const.PROVIDER_CANCEL_MAX_ATTEMPTS):
            now += timedelta(seconds=const.PROVIDER_CANCEL_MAX_DELAY + 1)
            self._run_queue(now)
        self.assertEqual(request.provider_cancel_state, "failed")
        self.assertEqual(request.provider_cancel_attempts, const.PROVIDER_CANCEL_MAX_ATTEMPTS)
        self.assertFalse(request.provider_cancel_next_at)
        self.assertEqual(
            len(self._events(request, "provider_cancel_failed")), const.PROVIDER_CANCEL_MAX_ATTEMPTS
        )
        self.assertTrue(request.activity_ids.filtered(lambda a: "withdrawn" in (a.summary or "")))
        calls = self.getaccept.call_count("DELETE")
        self._run_queue(now + timedelta(days=2))
        self.assertEqual(self.getaccept.call_count("DELETE"), calls, "nothing retried forever")
        self.assertNotIn(request.provider_reference, self.getaccept.deleted)

    def test_an_envelope_already_signed_at_the_service_is_reported_not_retried(self):
        request = self._send_with(self.ds_provider)
        self.docusign.set_status(request.provider_reference, "completed")
        self._cancel(request)
        self._run_queue()
        self.assertEqual(request.provider_cancel_state, "failed")
        self.assertTrue(
            json.loads(self._events(request, "provider_cancel_failed").details)["signed_at_service"]
        )
        self.assertTrue(
            request.activity_ids.filtered(lambda a: "signed at the service" in (a.summary or ""))
        )

    def test_nothing_is_withdrawn_when_the_service_cancelled_it(self):
        request = self._send_with(self.ga_provider)
        self.getaccept.set_status(request.provider_reference, "recalled")
        self.getaccept.reset_calls()
        request.action_check_status()
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(request.provider_cancel_state, "done")
        self._run_queue()
        self.assertEqual(self.getaccept.call_count("DELETE"), 0)

    def test_a_pending_cancel_blocks_reset_to_draft(self):
        request = self._send_with(self.ga_provider)
        self._cancel(request)
        with self.assertRaises(UserError):
            request.action_reset_to_draft()
        self._run_queue()
        self.assertEqual(request.provider_cancel_state, "done")
        request.action_reset_to_draft()
        self.assertEqual(request.state, "draft")


@tagged("post_install", "-at_install")
class TestWebhooks(ProviderCommon, HttpCase):
    def _post(self, code, body, headers=None, params=""):
        return self.url_open(
            f"/digital_sign/webhook/{code}{params}",
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
            allow_redirects=False,
        )

    def test_docusign_needs_a_valid_hmac_and_applies_each_event_once(self):
        request = self._send_with(self.ds_provider)
        self.docusign.set_status(request.provider_reference, "delivered")
        body = self.docusign.connect_body(request.provider_reference, event="envelope-delivered")
        good = {"X-DocuSign-Signature-1": self.docusign.sign_connect(body, "ds-connect-key")}
        bad = {"X-DocuSign-Signature-1": self.docusign.sign_connect(body, "wrong-key")}
        with mute_logger("odoo.http", "odoo.addons.digital_sign.models.digital_sign_provider"):
            self.assertEqual(self._post("docusign", body, bad).status_code, 403)
            self.assertEqual(self._post("docusign", body).status_code, 403)
            self.assertEqual(self._post("docusign", body[:-1] + b" ", good).status_code, 403)
        self.assertEqual(request.state, "sent", "nothing applied from a refused call")
        response = self._post("docusign", body, good)
        self.assertEqual(response.json()["status"], "ok")
        self.assertEqual(request.state, "viewed")
        events = len(request.event_ids)
        duplicate = self._post("docusign", body, good)
        self.assertEqual(duplicate.json()["status"], "duplicate")
        self.assertEqual(len(request.event_ids), events, "a repeated delivery changes nothing")
        # key rotation: the previous secret still works
        self.ds_provider.write(
            {"webhook_secret": "new-key", "webhook_secret_previous": "ds-connect-key"}
        )
        body2 = self.docusign.connect_body(
            request.provider_reference,
            event="envelope-delivered",
            retry_count=1,
            generated=fields.Datetime.now().replace(tzinfo=UTC),
        )
        self.assertEqual(
            self._post(
                "docusign",
                body2,
                {"X-DocuSign-Signature-1": self.docusign.sign_connect(body2, "ds-connect-key")},
            ).status_code,
            200,
        )

    def _post_connect(self, request, **kwargs):
        body = self.docusign.connect_body(
            request.provider_reference, "envelope-completed", **kwargs
        )
        return self._post(
            "docusign",
            body,
            {"X-DocuSign-Signature-1": self.docusign.sign_connect(body, "ds-connect-key")},
        )

    def test_docusign_completion_without_recipients_fetches_them_before_marking(self):
        request = self._send_with(
            self.ds_provider,
            pdf=self.pdf_two_roles,
            participants=[person("Ingrid", "Customer"), person("Carl", "Cosigner")],
        )
        ingrid, carl = request.participant_ids
        signed_at = fields.Datetime.now() - timedelta(hours=2)
        self.docusign.clock = lambda: signed_at.replace(tzinfo=UTC)
        self.docusign.set_status(
            request.provider_reference, "completed", leave_pending=(carl.provider_recipient_id,)
        )
        self.docusign.clock = lambda: datetime.now(UTC)
        self.docusign.reset_calls()
        response = self._post_connect(request, include_recipients=False)
        self.assertEqual(response.json()["status"], "ok")
        self.assertEqual(self.docusign.call_count("GET", "/recipients"), 1)
        self.assertEqual(request.state, "sent", "Carl did not sign at the service")
        self.assertEqual((ingrid.state, ingrid.signed_at), ("signed", signed_at))
        self.assertEqual(carl.state, "sent", "never skipped by a completion")
        self.assertIn("provider_inconsistent", request.event_ids.mapped("event_type"))
        # Carl signs: the next message completes it, with each one's time at the service
        carl_at = fields.Datetime.now() - timedelta(minutes=10)
        self.docusign.clock = lambda: carl_at.replace(tzinfo=UTC)
        self.docusign.set_recipient_status(
            request.provider_reference, carl.provider_recipient_id, "completed"
        )
        self.docusign.clock = lambda: datetime.now(UTC)
        self.assertEqual(
            self._post_connect(request, include_recipients=False, retry_count=1).json()["status"],
            "ok",
        )
        self.assertEqual(request.state, "signed")
        self.assertEqual([p.signed_at for p in request.participant_ids], [signed_at, carl_at])
        self.assertEqual(request.signed_on, carl_at)

    def test_docusign_completion_whose_recipients_cannot_be_fetched_changes_nothing(self):
        request = self._send_with(self.ds_provider)
        self.docusign.set_status(request.provider_reference, "completed")
        self.docusign.fail_next(3, 503, method="GET", path="/recipients")
        events = len(request.event_ids)
        with mute_logger("odoo.addons.digital_sign.models.digital_sign_provider"):
            response = self._post_connect(request, include_recipients=False)
        self.assertEqual(response.status_code, 200)
        self.assertEqual((request.state, request.participant_ids.state), ("sent", "sent"))
        self.assertEqual(len(request.event_ids), events, "nothing written")
        self.assertTrue(request.provider_refresh_requested, "a status fetch is scheduled")
        with freeze_time(fields.Datetime.now() + timedelta(minutes=40)):
            self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(request.state, "signed")

    def test_getaccept_webhook_only_schedules_a_fetch(self):
        request = self._send_with(self.ga_provider)
        self.getaccept.set_status(request.provider_reference, "signed")
        body = self.getaccept.webhook_body(request.provider_reference, event="document.signed")
        with mute_logger("odoo.http", "odoo.addons.digital_sign.models.digital_sign_provider"):
            self.assertEqual(self._post("getaccept", body, params="?token=wrong").status_code, 403)
        response = self._post("getaccept", body, params="?token=ga-hook-secret")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(request.state, "sent", "the payload is never trusted")
        self.assertTrue(request.provider_refresh_requested)
        self.env.ref("digital_sign.ir_cron_poll_provider_status").method_direct_trigger()
        self.assertEqual(request.state, "signed")

    def test_provider_without_secret_refuses_webhooks(self):
        self.ga_provider.webhook_secret = False
        request = self._send_with(self.ga_provider)
        body = self.getaccept.webhook_body(request.provider_reference)
        with mute_logger("odoo.http", "odoo.addons.digital_sign.models.digital_sign_provider"):
            self.assertEqual(self._post("getaccept", body, params="?token=").status_code, 403)
            self.assertEqual(self._post("getaccept", body).status_code, 403)

    def test_a_provider_without_webhooks_refuses_them(self):
        portal = self.env["digital.sign.provider"]._get_portal_provider()
        self.assertFalse(portal.support_webhook)
        self.assertFalse(portal.webhook_url)
        self.assertTrue(self.ga_provider.webhook_url.endswith("/digital_sign/webhook/getaccept"))
        with mute_logger("odoo.http"):
            self.assertEqual(self._post("portal", b"{}").status_code, 403)
            self.assertEqual(self._post("no_such_code", b"{}").status_code, 403)

    def test_oversized_webhook_is_refused(self):
        with mute_logger("odoo.http"):
            response = self._post("docusign", b"{" + b" " * (1024 * 1024 + 10) + b"}")
        self.assertEqual(response.status_code, 413)
