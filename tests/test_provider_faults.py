"""Services that fail: the outbox, the poller and the cancel queue against local fakes that
answer 429 with Retry-After, 500, 503, late, garbled, cut short or not at all.

The fakes' faults are real HTTP behaviour on 127.0.0.1; the provider clients run unchanged.
Between two runs of a scheduled action the clock "moves on": every next try that the previous
run set is moved into the past, as if its delay had passed (the delays themselves are checked
on their own).
"""

import collections
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .. import const
from ..models.digital_sign_provider import DigitalSignProvider
from .test_provider import ProviderCommon

CHAOS_KINDS = ("500", "503", "429", "malformed", "truncate", "disconnect")
QUIET = (
    "odoo.addons.digital_sign.models.digital_sign_provider",
    "odoo.addons.digital_sign.engine.providers.getaccept",
    "odoo.addons.digital_sign.engine.http",
    "urllib3.connectionpool",
)


@tagged("post_install", "-at_install")
class TestServicesThatFail(ProviderCommon):
    def setUp(self):
        super().setUp()
        self.addCleanup(self.getaccept.clear_faults)
        self.outbox = self.env.ref("digital_sign.ir_cron_provider_outbox")
        self.poller = self.env.ref("digital_sign.ir_cron_poll_provider_status")

    # --- helpers --------------------------------------------------------------------------
    def _sent_requests(self, count):
        requests = self.env["digital.sign.request"]
        for n in range(count):
            request = self._create_request(name=f"Chaos {n}", provider_id=self.ga_provider.id)
            request.action_send()
            requests |= request
        return requests

    def _clock_moves_on(self, requests):
        """Every delay set by the last run has passed."""
        past = fields.Datetime.now() - timedelta(seconds=1)
        requests.sudo().write(
            {"provider_next_check_at": past, "last_checked_at": past - timedelta(days=1)}
        )
        self.ga_provider.sudo().blocked_until = False

    def _documents_per_reference(self):
        counts = collections.Counter(d["external_id"] for d in self.getaccept.documents.values())
        return counts

    # --- the outbox -----------------------------------------------------------------------
    def test_outbox_under_thirty_percent_failures_sends_each_envelope_exactly_once(self):
        requests = self._sent_requests(12)
        self.getaccept.chaos(0.3, kinds=CHAOS_KINDS, seed=11, retry_after=1)
        with mute_logger(*QUIET):
            for _round in range(30):
                self.outbox.method_direct_trigger()
                if all(r.provider_sync_state == "sent" for r in requests):
                    break
                self._clock_moves_on(requests)
        self.getaccept.clear_faults()
        self.assertTrue(sum(self.getaccept.faults_served.values()) >= 3, "faults were served")
        self.assertEqual(
            set(requests.mapped("provider_sync_state")), {"sent"}, requests.mapped("state_message")
        )
        references = requests.mapped("provider_reference")
        self.assertEqual(len(set(references)), 12)
        per_reference = self._documents_per_reference()
        self.assertEqual(
            sorted(n for n in per_reference.values() if n > 1), [], "no envelope was made twice"
        )
        for request in requests:
            document = self.getaccept.document(request.provider_reference)
            self.assertEqual(
                document["status"], "sent", "each envelope was sent, none left a draft"
            )

    def test_the_outbox_leaves_a_request_another_server_sent_meanwhile(self):
        """Several servers run the outbox on one database. Each request is locked and read
        again, in a transaction of its own, just before its call: one that another server's
        run sent while this run was busy with the one before is not sent a second time
        (the batch's locks used to end at the first request's commit)."""
        first, second = self._sent_requests(2)
        calls = []
        create_envelope = DigitalSignProvider._create_envelope

        def another_server_sends_the_second(provider, sign_request):
            calls.append(sign_request.id)
            if sign_request == first:
                # what another server's outbox commits meanwhile
                sign_request.env.cr.execute(
                    SQL(
                        "UPDATE digital_sign_request SET provider_sync_state = 'sent', "
                        "provider_reference = 'made-by-another-server' WHERE id = %s",
                        second.id,
                    )
                )
            return create_envelope(provider, sign_request)

        with patch.object(DigitalSignProvider, "_create_envelope", another_server_sends_the_second):
            self.outbox.method_direct_trigger()
        self.assertEqual(calls, [first.id], "one call, for the first request only")
        self.assertEqual(first.provider_sync_state, "sent")
        self.assertEqual(second.provider_reference, "made-by-another-server")
        self.assertEqual(
            [r for r, n in self._documents_per_reference().items() if n > 1],
            [],
            "no envelope twice",
        )
        self.assertNotIn(second.reference, self._documents_per_reference())

    def test_a_garbled_answer_is_retried_and_finds_the_envelope_made(self):
        request = self._sent_requests(1)
        self.getaccept.truncate_next(1, method="POST", path="/documents")
        with mute_logger(*QUIET):
            self.outbox.method_direct_trigger()
        self.assertEqual(request.provider_sync_state, "to_send", "not given up")
        self.assertEqual(len(self.getaccept.documents), 1, "the service made it")
        self._clock_moves_on(request)
        self.outbox.method_direct_trigger()
        self.assertEqual(request.provider_sync_state, "sent")
        self.assertEqual(len(self.getaccept.documents), 1, "found again, not made twice")
        self.assertEqual(request.provider_reference, next(iter(self.getaccept.documents)))

    def test_the_outbox_waits_as_long_as_retry_after_asks(self):
        request = self._sent_requests(1)
        self.getaccept.rate_limit_next(1, retry_after=3600, method="POST")
        with mute_logger(*QUIET):
            self.outbox.method_direct_trigger()
        self.assertEqual(request.provider_sync_state, "to_send")
        self.assertGreaterEqual(
            request.provider_next_check_at, fields.Datetime.now() + timedelta(minutes=59)
        )
        posts = self.getaccept.call_count("POST")
        self.ga_provider.sudo().blocked_until = False  # only the request's own delay remains
        self.outbox.method_direct_trigger()
        self.assertEqual(self.getaccept.call_count("POST"), posts, "no call before its time")
        self._clock_moves_on(request)
        self.outbox.method_direct_trigger()
        self.assertEqual(request.provider_sync_state, "sent")

    def test_a_service_that_never_recovers_is_not_retried_forever_and_the_owner_is_told(self):
        request = self._sent_requests(1)
        self.getaccept.fail_next(10000, 503, method="POST")
        with mute_logger(*QUIET):
            for _round in range(const.PROVIDER_MAX_SEND_ATTEMPTS):
                self.outbox.method_direct_trigger()
                self._clock_moves_on(request)
            self.assertEqual(request.provider_sync_state, "error")
            self.assertEqual(request.provider_failures, const.PROVIDER_MAX_SEND_ATTEMPTS)
            calls = self.getaccept.total_calls
            for _round in range(3):
                self.outbox.method_direct_trigger()
                self._clock_moves_on(request)
        self.assertEqual(self.getaccept.total_calls, calls, "given up: no call any more")
        summaries = request.activity_ids.mapped("summary")
        self.assertIn(f"{request.reference}: the signature service keeps failing", summaries)
        self.assertIn(f"{request.reference}: the signature service never answered", summaries)
        self.assertIn("provider_error", request.event_ids.mapped("event_type"))

    # --- the poller -----------------------------------------------------------------------
    def test_every_status_change_arrives_once_the_service_recovers(self):
        requests = self._sent_requests(10)
        self.outbox.method_direct_trigger()
        self.assertEqual(set(requests.mapped("provider_sync_state")), {"sent"})
        for request in requests:
            self.getaccept.set_status(request.provider_reference, "signed")
        self.getaccept.chaos(0.3, kinds=CHAOS_KINDS, seed=5, retry_after=1)
        with mute_logger(*QUIET):
            for _round in range(8):
                self._clock_moves_on(requests)
                self.poller.method_direct_trigger()
            self.getaccept.clear_faults()  # the service recovers
            for _round in range(3):
                self._clock_moves_on(requests)
                self.poller.method_direct_trigger()
        self.assertTrue(self.getaccept.faults_served, "faults were served")
        self.assertEqual(set(requests.mapped("state")), {"signed"}, "no status lost")
        self.assertEqual(set(requests.participant_ids.mapped("state")), {"signed"})
        for request in requests:
            signed = request.event_ids.filtered(lambda e: e.event_type == "signed")
            self.assertEqual(len(signed), len(request.participant_ids), "each signature once")
