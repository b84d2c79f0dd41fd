"""The public routes against insiders and hostile clients: floods of bad links."""

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

