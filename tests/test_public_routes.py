"""The public routes against insiders and hostile clients: link scanners, repeated downloads,
floods of bad links."""

import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tests.common import Opener
from odoo.tools import config

from .common import DigitalSignCommon, signature_data_url

PNG_SIGNATURE = signature_data_url()
GENERATE_CODE = "odoo.addons.digital_sign.engine.otp.generate_code"
CONST = "odoo.addons.digital_sign.const"


class PublicRoutesCommon(DigitalSignCommon, HttpCase):
    def _sent(self, **kwargs):
        request = self._create_request(**kwargs)
        request.action_send()
        return request

    def _path(self, participant, route=""):
        return participant._get_signing_path() + (f"/{route}" if route else "")

    @contextmanager
    def _browser(self):
        """Another browser: no cookie, so a new Odoo session (a link scanner, curl, another
        device)."""
        saved = self.opener
        self.opener = Opener(self)
        try:
            yield
        finally:
            self.opener = saved

    def _page(self, participant):
        return self.url_open(self._path(participant), allow_redirects=False)

    def _csrf(self, participant):
        match = re.search(r'csrf_token: "([^"]+)"', self._page(participant).text)
        self.assertTrue(match, "the page carries a CSRF token")
        return match.group(1)

    def _rpc(self, participant, route, csrf=None, **params):
        params["csrf_token"] = csrf or self._csrf(participant)
        return self.make_jsonrpc_request(self._path(participant, route), params)

    def _sign(self, participant, csrf=None):
        request = participant.request_id
        values = {str(f.id): PNG_SIGNATURE for f in request.field_ids
                  if f.participant_id == participant and f.kind == "signature"}
        return self._rpc(participant, "submit", csrf=csrf, values=values, consent=True,
                         document_sha256=request.original_sha256)

    def _events(self, request, event_type):
        request.invalidate_recordset()
        return request.event_ids.filtered(lambda e: e.event_type == event_type)

    def _counters(self, pattern):
        Throttle = self.env["digital.sign.throttle"].sudo()
        Throttle.invalidate_model()
        return Throttle.search([("key", "=like", pattern)])


@tagged("post_install", "-at_install")
class TestPublicRoutes(PublicRoutesCommon):
    # === viewed: only when the page's script reports it === #
    def test_a_bare_get_changes_nothing_the_page_report_marks_viewed(self):
        request = self._sent()
        participant = request.participant_ids
        events = len(request.event_ids)
        # a link scanner (or curl): the page, its images, the document
        for path in ("", "/page/1", "/download/original"):
            with self._browser():
                response = self.url_open(self._path(participant) + path)
            self.assertEqual(response.status_code, 200, path)
        self.assertEqual((participant.state, request.state), ("sent", "sent"))
        self.assertFalse(participant.viewed_at)
        self.assertEqual(len(request.event_ids), events, "no event for a GET")
        # the rendered page reports it showed the document
        csrf = self._csrf(participant)
        self.assertEqual(self._rpc(participant, "viewed", csrf=csrf), {"status": "ok"})
        self.assertEqual((participant.state, request.state), ("viewed", "viewed"))
        self.assertTrue(participant.viewed_at)
        self.assertEqual(self._rpc(participant, "viewed", csrf=csrf), {"status": "ok"})
        self.assertEqual(len(self._events(request, "viewed")), 1, "once")

    def test_viewed_needs_the_document_on_the_page(self):
        request = self._sent(participants=[{
            "name": "Ingrid", "email": "ingrid@example.com", "mobile": "+46701234567",
            "role": "Customer", "otp_channel": "sms"}])
        participant = request.participant_ids
        self.assertEqual(self._rpc(participant, "viewed"), {"status": "closed"},
                         "behind the code, the document was not shown")
        self.assertEqual(participant.state, "sent")
        self.assertFalse(self._events(request, "viewed"))

    def test_signing_marks_viewed_when_the_report_never_came(self):
        request = self._sent()
        participant = request.participant_ids
        self.assertEqual(self._sign(participant)["status"], "ok")
        types = request.event_ids.sorted("sequence").mapped("event_type")
        self.assertLess(types.index("viewed"), types.index("signed"))
        self.assertTrue(participant.viewed_at)

    # === the signed copy === #
    def _signed_and_final(self, **kwargs):
        request = self._sent(**kwargs)
        participant = request.participant_ids
        csrf = self._csrf(participant)
        if participant.otp_channel != "none":
            with patch(GENERATE_CODE, return_value="135790"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
            self.assertEqual(self._rpc(participant, "otp/verify", csrf=csrf, code="135790"),
                             {"status": "ok"})
        self.assertEqual(self._sign(participant, csrf=csrf)["status"], "ok")
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        return request, participant

    def test_downloading_the_signed_copy_is_logged_once_per_session(self):
        request, participant = self._signed_and_final()
        path = self._path(participant, "download/signed")
        for _i in range(3):
            self.assertEqual(self.url_open(path).status_code, 200)
        self.assertEqual(len(self._events(request, "downloaded")), 1)
        with self._browser():
            self.url_open(path)
            self.url_open(path)
        self.assertEqual(len(self._events(request, "downloaded")), 2, "another session")

    def test_cookieless_downloads_log_a_bounded_number_of_events(self):
        request, participant = self._signed_and_final()
        path = self._path(participant, "download/signed")
        with patch(f"{CONST}.THROTTLE_DOWNLOAD_LOGS_PER_DOCUMENT", 3):
            for _i in range(8):  # each GET without a cookie is a new session
                with self._browser():
                    self.assertEqual(self.url_open(path).status_code, 200)
        self.assertEqual(len(self._events(request, "downloaded")), 3)

    # === bounded state === #
    def test_bad_links_from_one_ip_keep_one_row(self):
        request = self._sent()
        bad = f"/digital_sign/s/{request.participant_ids.id}/{'b' * 43}"
        for _i in range(40):
            self.url_open(bad)
        counters = self._counters("bad_token:%")
        self.assertEqual(sum(counters.mapped("hits")), 40)
        self.assertLessEqual(len(counters), 2, "a counter per window slice, not a row per failure")

    def test_bad_links_from_many_ips_stay_bounded(self):
        request = self._sent()
        bad = f"/digital_sign/s/{request.participant_ids.id}/{'b' * 43}"
        statuses = []
        with patch.dict(config.options, {"proxy_mode": True}), \
                patch(f"{CONST}.THROTTLE_MAX_ROWS_PER_SCOPE", 20):
            for i in range(60):
                headers = {"X-Forwarded-For": f"198.51.100.{i + 1}",
                           "X-Forwarded-Host": "sign.example.com"}
                statuses.append(self.url_open(bad, headers=headers).status_code)
        counters = self._counters("bad_token:%")
        self.assertLessEqual(len(counters), 21, "20 addresses, then one shared overflow counter")
        overflow = counters.filtered(lambda c: c.key.startswith("bad_token:*"))
        self.assertEqual(overflow.hits, 40)
        self.assertEqual(statuses[:49].count(404), 49)
        self.assertEqual(set(statuses[49:]), {429}, "a full scope fails closed for new addresses")
        # expired rows make room again, and the autovacuum removes them all
        with freeze_time(fields.Datetime.now() + timedelta(hours=1)):
            with patch(f"{CONST}.THROTTLE_MAX_ROWS_PER_SCOPE", 20):
                self.env["digital.sign.throttle"]._hit("bad_token:203.0.113.7", 600)
            fresh = self._counters("bad_token:%")
            self.assertEqual(fresh.mapped("key"), ["bad_token:203.0.113.7@600"])
        with freeze_time(fields.Datetime.now() + timedelta(days=1)):
            self.env["digital.sign.throttle"]._gc_throttle()
        self.assertFalse(self._counters("bad_token:%"))

    def test_a_limit_counts_over_its_whole_window(self):
        Throttle = self.env["digital.sign.throttle"]
        start = datetime(2026, 3, 2, 12, 0, 0)  # on a slice boundary (900 s / 10 = 90 s)
        with freeze_time(start) as frozen:
            for _i in range(3):
                Throttle._hit("otp_send:1", 900)
                frozen.tick(timedelta(minutes=4))
            self.assertTrue(Throttle._is_limited("otp_send:1", 3, 900), "12 minutes later")
            frozen.move_to(start + timedelta(minutes=15, seconds=30))
            self.assertTrue(Throttle._is_limited("otp_send:1", 3, 900),
                            "never under-counted: the first slice still counts")
            frozen.move_to(start + timedelta(minutes=16, seconds=31))
            self.assertFalse(Throttle._is_limited("otp_send:1", 3, 900), "the first one left")
            self.assertEqual(Throttle._count("otp_send:1", 900), 2)
            self.assertEqual(Throttle._count("otp_send:1", 24 * 3600), 0,
                             "each window has its own counters")

