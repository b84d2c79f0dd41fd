"""The public routes against insiders and hostile clients: link scanners, repeated actions,
floods of bad links, stale links of signed documents, and parameters of every wrong type."""

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tests.common import Opener
from odoo.tools import config, mute_logger

from .. import const
from .common import DigitalSignCommon, person, signature_data_url

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
        values = {
            str(f.id): PNG_SIGNATURE
            for f in request.field_ids
            if f.participant_id == participant and f.kind == "signature"
        }
        return self._rpc(
            participant,
            "submit",
            csrf=csrf,
            values=values,
            consent=True,
            document_sha256=request.original_sha256,
        )

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
        self.assertEqual(
            self._rpc(participant, "viewed"),
            {"status": "closed"},
            "behind the code, the document was not shown",
        )
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
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="135790"), {"status": "ok"}
            )
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

    def test_after_n_days_the_signed_copy_needs_a_code_on_the_invitation_channel(self):
        request, participant = self._signed_and_final()
        self.assertEqual(participant.otp_channel, "none")
        with self._browser():
            self.assertIn("Download the signed document", self._page(participant).text)
        signed_at = participant.signed_at
        with freeze_time(signed_at + timedelta(days=29, hours=23)), self._browser():
            self.assertIn("Download the signed document", self._page(participant).text)
        with freeze_time(signed_at + timedelta(days=30, minutes=1)), self._browser():
            page = self._page(participant)
            self.assertIn("Confirm it is you", page.text)
            self.assertIn("i•••d@example.com", page.text, "the invitation's channel")
            self.assertNotIn("/download/signed", page.text)
            for path in ("download/signed", "page/1", "download/original"):
                response = self.url_open(self._path(participant, path))
                self.assertEqual(response.status_code, 404, path)
            csrf = self._csrf(participant)
            with patch(GENERATE_CODE, return_value="246810"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
            mail = self.env["mail.mail"].sudo().search([("body_html", "like", "246810")])
            self.assertEqual(mail.email_to, "ingrid@example.com")
            self.assertIn("to open the signed document", mail.body_html)
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="000000")["status"], "wrong"
            )
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="246810")["status"], "ok"
            )
            self.assertIn("Download the signed document", self._page(participant).text)
            download = self.url_open(self._path(participant, "download/signed"))
            self.assertEqual(download.status_code, 200)
            self.assertTrue(download.content.startswith(b"%PDF"))
        with freeze_time(signed_at + timedelta(days=30, minutes=2)), self._browser():
            self.assertIn(
                "Confirm it is you",
                self._page(participant).text,
                "another browser needs its own code",
            )
        self.assertFalse(participant.otp_verified_at, "the evidence of signing is untouched")
        verified = self._events(request, "code_verified")
        self.assertIn("signed copy", verified.details)

    def test_the_days_come_from_the_settings_and_an_sms_code_channel_is_kept(self):
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.signed_link_days", 5)
        request, participant = self._signed_and_final(
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
        with freeze_time(participant.signed_at + timedelta(days=5, minutes=1)), self._browser():
            page = self._page(participant)
            self.assertIn("Confirm it is you", page.text)
            self.assertIn("+46•••••4567", page.text)
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.digital_sign_signed_link_days, 5)

    # === code guesses across resends === #
    def test_wrong_codes_are_limited_per_participant_across_resends(self):
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
        start = fields.Datetime.now()
        with patch(GENERATE_CODE, return_value="111111"):
            self.assertEqual(self._rpc(participant, "otp/send")["status"], "ok")
        csrf = self._csrf(participant)
        for _i in range(4):
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="999999")["status"], "wrong"
            )
        self.assertEqual(
            self._rpc(participant, "otp/verify", csrf=csrf, code="999999")["status"],
            "locked",
            "5 wrong tries burn the code",
        )
        with freeze_time(start + timedelta(minutes=16)):
            with patch(GENERATE_CODE, return_value="222222"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
            lefts = [
                self._rpc(participant, "otp/verify", csrf=csrf, code="999999").get("left")
                for _i in range(4)
            ]
            self.assertEqual(lefts, [4, 3, 2, 1])
            result = self._rpc(participant, "otp/verify", csrf=csrf, code="999999")
            self.assertEqual(result["status"], "locked")
            until = fields.Datetime.to_datetime(result["until"])
            self.assertGreaterEqual(
                until - fields.Datetime.now(),
                timedelta(hours=23, minutes=59),
                "10 wrong codes in 24 hours lock for a day",
            )
        self.assertEqual(participant.otp_locked_until, until)
        notes = request.activity_ids.filtered(lambda a: "locked" in (a.summary or "")).mapped(
            "note"
        )
        self.assertTrue(any("within 24 hours" in str(note) for note in notes), notes)
        with freeze_time(start + timedelta(hours=2)):
            with patch(GENERATE_CODE, return_value="333333"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "locked")
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="222222")["status"], "locked"
            )
        with freeze_time(start + timedelta(hours=24, minutes=20)):
            with patch(GENERATE_CODE, return_value="444444"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="444444")["status"], "ok"
            )
        self.assertEqual(len(self._events(request, "code_locked")), 2)

    # === limits on actions that send messages or write rows === #
    def _named(self, name):
        request = self._sent(
            name=name,
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        return request.participant_ids.sorted("id")

    def test_reengage_is_limited_per_participant_per_day(self):
        ingrid, cosigner = self._named("Contract R")
        ingrid._name_participants(
            [{"id": cosigner.id, "name": "Carl", "email": "carl@example.com"}]
        )
        csrf = self._csrf(ingrid)
        Mail = self.env["mail.mail"].sudo()
        for i in range(const.THROTTLE_REENGAGE_PER_PARTICIPANT):
            result = self._rpc(
                ingrid, "reengage", csrf=csrf, other_id=cosigner.id, email=f"carl{i}@example.com"
            )
            self.assertEqual(result, {"status": "ok"})
        mails = Mail.search_count([])
        result = self._rpc(
            ingrid, "reengage", csrf=csrf, other_id=cosigner.id, email="carl.more@example.com"
        )
        self.assertEqual(result, {"status": "limited"})
        self.assertEqual(
            cosigner.email, f"carl{const.THROTTLE_REENGAGE_PER_PARTICIPANT - 1}@example.com"
        )
        self.assertEqual(Mail.search_count([]), mails, "no message")
        # the owner is not limited (backend)
        self.assertEqual(cosigner._reengage(email="carl.owner@example.com")["status"], "ok")
        with freeze_time(fields.Datetime.now() + timedelta(days=1, hours=3)):
            result = self._rpc(
                ingrid, "reengage", other_id=cosigner.id, email="carl.next@example.com"
            )
            self.assertEqual(result, {"status": "ok"}, "a new day")

    def test_reengage_and_naming_are_limited_per_ip(self):
        with (
            patch(f"{CONST}.THROTTLE_REENGAGE_PER_IP", 2),
            patch(f"{CONST}.THROTTLE_NAME_PER_IP", 2),
        ):
            pairs = [self._named(f"Contract {i}") for i in range(3)]
            for i, (ingrid, cosigner) in enumerate(pairs):
                result = self._rpc(
                    ingrid,
                    "name",
                    participants=[{"id": cosigner.id, "name": "Carl", "email": "carl@example.com"}],
                )
                self.assertEqual(result["status"], "ok" if i < 2 else "limited", i)
            third_cosigner = pairs[2][1]
            self.assertTrue(third_cosigner.to_be_named, "nothing written when limited")
            self.assertEqual(third_cosigner.state, "waiting")
            for i, (ingrid, cosigner) in enumerate(pairs[:2]):
                result = self._rpc(
                    ingrid, "reengage", other_id=cosigner.id, email=f"carl.new{i}@example.com"
                )
                self.assertEqual(result, {"status": "ok"})
            ingrid, cosigner = pairs[0]
            result = self._rpc(ingrid, "reengage", other_id=cosigner.id, email="carl.3@example.com")
            self.assertEqual(result, {"status": "limited"})
            self.assertEqual(cosigner.email, "carl.new0@example.com")

    def test_naming_is_limited_per_participant(self):
        ingrid, cosigner = self._named("Contract N")
        self.env["digital.sign.throttle"]._hit(f"name:{ingrid.id}", const.DAY)
        with patch(f"{CONST}.THROTTLE_NAME_PER_PARTICIPANT", 1):
            result = self._rpc(
                ingrid,
                "name",
                participants=[{"id": cosigner.id, "name": "Carl", "email": "carl@example.com"}],
            )
        self.assertEqual(result, {"status": "limited"})
        self.assertTrue(cosigner.to_be_named)

    def test_new_link_requests_are_limited_per_participant_and_per_ip(self):
        requests_ = [self._sent(name=f"Late {i}") for i in range(3)]
        with (
            patch(f"{CONST}.THROTTLE_NEW_LINK_PER_IP", 2),
            freeze_time(requests_[0].deadline + timedelta(minutes=1)),
        ):
            answers = []
            for request in requests_:
                participant = request.participant_ids
                csrf = self._csrf(participant)  # the page expires the request
                answers.append(self._rpc(participant, "new_link", csrf=csrf)["status"])
            again = self._rpc(requests_[0].participant_ids, "new_link")["status"]
        self.assertEqual(answers, ["ok", "ok", "limited"])
        self.assertEqual(again, "already_asked")
        self.assertFalse(
            requests_[2].activity_ids.filtered(lambda a: "New signing link" in (a.summary or ""))
        )
        self.assertFalse(self._events(requests_[2], "link_requested"))

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
        # inside one time slice of the 10-minute window (60 s), so each key has one row
        with (
            patch.dict(config.options, {"proxy_mode": True}),
            patch(f"{CONST}.THROTTLE_MAX_ROWS_PER_SCOPE", 20),
            freeze_time(datetime(2026, 3, 2, 12, 0, 5)),
        ):
            for i in range(60):
                headers = {
                    "X-Forwarded-For": f"198.51.100.{i + 1}",
                    "X-Forwarded-Host": "sign.example.com",
                }
                statuses.append(self.url_open(bad, headers=headers).status_code)
        counters = self._counters("bad_token:%")
        self.assertLessEqual(len(counters), 21, "20 addresses, then one shared overflow counter")
        overflow = counters.filtered(lambda c: c.key.startswith("bad_token:*"))
        self.assertEqual(sum(overflow.mapped("hits")), 40)
        self.assertEqual(statuses[:49].count(404), 49)
        self.assertEqual(set(statuses[49:]), {429}, "a full scope fails closed for new addresses")
        # expired rows make room again, and the autovacuum removes them all
        with freeze_time(datetime(2026, 3, 2, 13, 0, 5)):
            with patch(f"{CONST}.THROTTLE_MAX_ROWS_PER_SCOPE", 20):
                self.env["digital.sign.throttle"]._hit("bad_token:203.0.113.7", 600)
            fresh = self._counters("bad_token:%")
            self.assertEqual(fresh.mapped("key"), ["bad_token:203.0.113.7@600"])
        with freeze_time(datetime(2026, 3, 3, 13, 0, 5)):
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
            self.assertTrue(
                Throttle._is_limited("otp_send:1", 3, 900),
                "never under-counted: the first slice still counts",
            )
            frozen.move_to(start + timedelta(minutes=16, seconds=31))
            self.assertFalse(Throttle._is_limited("otp_send:1", 3, 900), "the first one left")
            self.assertEqual(Throttle._count("otp_send:1", 900), 2)
            self.assertEqual(
                Throttle._count("otp_send:1", 24 * 3600), 0, "each window has its own counters"
            )


def json_bytes(value):
    return json.dumps(value).encode()


def nested(depth):
    value = []
    for _i in range(depth):
        value = [value]
    return value


# Every kind of wrong value, for every parameter of every public JSON route.
HOSTILE_VALUES = {
    "list": ["x"],
    "dict": {"a": "b"},
    "int": 42,
    "huge int": 10**40,
    "float": 4.2,
    "null": None,
    "true": True,
    "false": False,
    "nested 500": nested(500),
    "megabyte": "x" * (1024 * 1024),
}
HOSTILE_CSRF = {
    "missing": ...,
    "null": None,
    "list": ["x"],
    "dict": {"a": "b"},
    "int": 42,
    "true": True,
    "megabyte": "x" * (1024 * 1024),
    "non-ascii": "é" * 40,
    "wrong": "0" * 40 + "o9999999999",
}


@tagged("post_install", "-at_install")
class TestHostileParameters(PublicRoutesCommon):
    """Each public JSON route, sent each hostile kind of value (with the right link and CSRF
    token), answers a refusal in its normal shape, never a server error or a traceback, and
    changes nothing."""

    def _fixture(self):
        signer_request = self._sent(name="Hostile sign")
        coded_request = self._sent(
            name="Hostile code",
            participants=[
                {
                    "name": "Olle",
                    "email": "olle@example.com",
                    "mobile": "+46701234567",
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ],
        )
        naming_request = self._sent(
            name="Hostile name",
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        engaging_request = self._sent(
            name="Hostile reengage",
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        late_request = self._sent(name="Hostile late")
        namer, to_name = naming_request.participant_ids.sorted("id")
        engager, named = engaging_request.participant_ids.sorted("id")
        engager._name_participants([{"id": named.id, "name": "Carl", "email": "carl@example.com"}])
        coded = coded_request.participant_ids
        with patch(GENERATE_CODE, return_value="424242"):
            self.assertEqual(coded._otp_send()["status"], "ok")
        late_request.deadline = fields.Datetime.now() - timedelta(hours=1)
        late_request._expire_if_late()
        self.assertEqual(late_request.participant_ids._link_state(), "expired")
        self.all_requests = (
            signer_request | coded_request | naming_request | engaging_request | late_request
        )
        signer = signer_request.participant_ids
        field = signer_request.field_ids
        # route: (participant, the valid parameters, parameters to try only with wrong values)
        return {
            "viewed": (signer, {}, ()),
            "status": (signer, {}, ()),
            "submit": (
                signer,
                {
                    "values": {str(field.id): PNG_SIGNATURE},
                    "consent": True,
                    "document_sha256": signer_request.original_sha256,
                },
                ("lang",),
            ),
            "reject": (signer, {"reason": "Too expensive"}, ()),
            "otp/send": (coded, {}, ()),
            "otp/verify": (coded, {"code": "424242"}, ()),
            "name": (
                namer,
                {
                    "participants": [
                        {"id": to_name.id, "name": "Carl Cosigner", "email": "carl@example.com"}
                    ]
                },
                (),
            ),
            "reengage": (
                engager,
                {"other_id": named.id, "email": "carl.new@example.com"},
                ("mobile",),
            ),
            "new_link": (late_request.participant_ids, {}, ()),
        }

    def _snapshot(self):
        self.env.invalidate_all()
        requests_ = self.all_requests.sudo()
        return {
            "participants": requests_.participant_ids.read(
                [
                    "state",
                    "name",
                    "email",
                    "mobile",
                    "to_be_named",
                    "named_by_id",
                    "viewed_at",
                    "signed_at",
                    "rejected_at",
                    "reject_reason",
                    "consent_at",
                    "otp_hash",
                    "otp_failures",
                    "otp_locked_until",
                    "otp_verified_at",
                    "otp_sent_at",
                    "access_token",
                    "invite_channel",
                    "otp_channel",
                ]
            ),
            "requests": requests_.read(["state", "signed_on", "reject_reason"]),
            "fields": requests_.field_ids.read(["value", "value_image", "filled_at"]),
            "events": len(requests_.event_ids),
            "activities": len(requests_.activity_ids),
            "mails": self.env["mail.mail"].sudo().search_count([]),
            "sms": self.env["sms.sms"].sudo().search_count([]),
        }

    def _post(self, participant, route, body, path=None):
        """POST a raw JSON-RPC body (bytes) and check the answer's form; return the result."""
        response = self.url_open(
            path or self._path(participant, route),
            data=body,
            headers={"Content-Type": "application/json"},
        )
        self.assertNotIn("Traceback", response.text)
        self.assertNotIn('"debug"', response.text)
        self.assertEqual(response.status_code, 200, response.text[:300])
        answer = response.json()
        self.assertNotIn("error", answer, "a JSON-RPC error is not the route's answer")
        result = answer["result"]
        self.assertIsInstance(result, dict)
        return result

    def _call(self, participant, route, params, path=None):
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        return self._post(participant, route, json_bytes(body), path=path)

    def test_every_route_refuses_every_hostile_kind_and_changes_nothing(self):
        routes = self._fixture()
        csrf = self._csrf(routes["viewed"][0])
        before = self._snapshot()
        tried = 0
        for route, (participant, valid, extra) in routes.items():
            cases = []
            for name in (*valid, *extra):
                for kind, value in HOSTILE_VALUES.items():
                    if name in valid and value == valid[name]:
                        continue
                    if name in extra and value is None:
                        continue  # an optional parameter left out: the valid call itself
                    cases.append((f"{name}={kind}", {**valid, name: value}))
                if name in valid:
                    cases.append((f"{name} missing", {k: v for k, v in valid.items() if k != name}))
            for kind, value in HOSTILE_CSRF.items():
                cases.append((f"csrf {kind}", {**valid, "csrf_token": value}))
            for label, params in cases:
                params.setdefault("csrf_token", csrf)
                if params["csrf_token"] is ...:
                    del params["csrf_token"]
                with self.subTest(route=route, case=label):
                    result = self._call(participant, route, params)
                    self.assertTrue({"status", "error"} & set(result), result)
                    if label.startswith("csrf"):
                        self.assertEqual(result, {"error": "forbidden"})
                    self.assertEqual(self._snapshot(), before)
                    tried += 1
            # the link itself: an id beyond PostgreSQL's integer, a non-ASCII token
            for path in (
                f"/digital_sign/s/{10**20}/{'t' * 43}/{route}",
                f"/digital_sign/s/{participant.id}/%C3%A9%C3%A9%C3%A9/{route}",
                f"/digital_sign/s/{participant.id}/{'t' * 43}/{route}",
            ):
                with self.subTest(route=route, path=path):
                    result = self._call(
                        participant, route, {**valid, "csrf_token": csrf}, path=path
                    )
                    self.assertEqual(result, {"error": "not_found"})
                    self.assertEqual(self._snapshot(), before)
        self.assertGreater(tried, 150)
        self._valid_calls_still_work(routes, csrf)

    def test_bodies_odoo_cannot_hand_to_the_route_get_a_clean_refusal(self):
        routes = self._fixture()
        csrf = self._csrf(routes["viewed"][0])
        before = self._snapshot()
        deep = "[" * 10000 + "]" * 10000
        with mute_logger("odoo.http"):  # Odoo logs the exception (not the client)
            for route, (participant, valid, _extra) in routes.items():
                bodies = {
                    "params a list": {"jsonrpc": "2.0", "id": 1, "params": ["x", csrf]},
                    "params a string": {"jsonrpc": "2.0", "id": 1, "params": "csrf"},
                    "params a number": {"jsonrpc": "2.0", "id": 1, "params": 7},
                    "reserved name": {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "params": {**valid, "csrf_token": csrf, "self": 1},
                    },
                }
                for label, body in bodies.items():
                    with self.subTest(route=route, body=label):
                        self.assertEqual(
                            self._post(participant, route, json_bytes(body)),
                            {"error": "bad_request"},
                        )
                with self.subTest(route=route, body="10,000 nested arrays"):
                    body = (
                        '{"jsonrpc": "2.0", "id": 1, "params": {"csrf_token": "%s", '
                        '"values": %s}}' % (csrf, deep)
                    ).encode()
                    self.assertEqual(self._post(participant, route, body), {"error": "bad_request"})
                # not a JSON-RPC request at all: Odoo's plain 400, without a traceback
                for body in (b"[1, 2]", b"{not json", b""):
                    with self.subTest(route=route, body=body):
                        response = self.url_open(
                            self._path(participant, route),
                            data=body,
                            method="POST",
                            headers={"Content-Type": "application/json"},
                        )
                        self.assertEqual(response.status_code, 400)
                        self.assertNotIn("Traceback", response.text)
                self.assertEqual(self._snapshot(), before)
        self._valid_calls_still_work(routes, csrf)

    def test_pages_answer_404_to_hostile_links(self):
        request = self._sent()
        participant = request.participant_ids
        for path in (
            f"/digital_sign/s/{10**20}/{'t' * 43}",
            f"/digital_sign/s/{participant.id}/%C3%A9%C3%A9",
            f"/digital_sign/s/{participant.id}/%C3%A9%C3%A9/page/1",
            f"/digital_sign/s/{participant.id}/%C3%A9%C3%A9/download/original",
        ):
            with self.subTest(path=path):
                response = self.url_open(path)
                self.assertEqual(response.status_code, 404)
                self.assertNotIn("Traceback", response.text)

    def _valid_calls_still_work(self, routes, csrf):
        """The fixture was live: the same routes, called right, act."""

        def call(route, **extra):
            participant, valid, _extra = routes[route]
            return self._call(participant, route, {**valid, "csrf_token": csrf, **extra})

        self.assertEqual(call("viewed"), {"status": "ok"})
        self.assertEqual(call("status")["link_state"], "sign")
        self.assertEqual(call("otp/verify"), {"status": "ok"})
        self.assertEqual(call("name"), {"status": "ok"})
        self.assertEqual(call("reengage"), {"status": "ok"})
        self.assertEqual(call("new_link"), {"status": "ok"})
        self.assertEqual(call("submit"), {"status": "ok"})
        self.assertNotEqual(self._snapshot()["events"], 0)
