"""Sign now: signing in person on the sender's device (controllers/hosted.py).

The sender's one-time hand-over link works once, for a few minutes, for the user it was
issued to; using it ends the sender's session (the old cookie opens neither the backend nor
JSON-2) and opens the customer's own page in a fresh session; the audit trail and the
certificate of completion say who hosted the signing.
"""

import base64
import json
import re
from datetime import timedelta

import pymupdf
import requests

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME
from odoo.tools import mute_logger

from .common import DigitalSignCommon, person, signature_data_url

JSON2_SEC_HEADERS = {
    # JSON-2 takes a browser session only for interactive use (Fetch Metadata headers)
    "Content-Type": "application/json",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "same-origin",
    "Sec-Fetch-User": "?1",
}


class SignNowCommon(DigitalSignCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a teammate of Alice: reads and edits the team's documents, sees no live link
        cls.user_c = new_test_user(
            cls.env,
            login="sign_user_c",
            groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Cecilia Teammate",
            email="cecilia@example.com",
        )
        cls.team_a.member_ids = [Command.link(cls.user_c.id)]

    def _sent(self, **values):
        """A document of Alice's (owner), sent to the customer."""
        request = self._create_request(user_id=self.user_a.id, team_id=self.team_a.id, **values)
        request.action_send()
        return request

    def _hand_over_link(self, request, user=None):
        action = request.with_user(user or self.user_a).action_sign_now()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["target"], "self")
        return action["url"]

    def _csrf_of_backend(self):
        page = self.url_open("/odoo")
        match = re.search(r'csrf_token: "([^"]+)"', page.text)
        self.assertTrue(match, "the backend page carries the session's CSRF token")
        return match.group(1)

    def _csrf_of(self, page):
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        self.assertTrue(match, "the hand-over page carries a form with its CSRF token")
        return match.group(1)

    def _open_as(self, method, path, sid=None, **kwargs):
        """A request from another client holding only the session cookie ``sid`` (none:
        a visitor), as a browser or a script that kept an old cookie would send it."""
        self.cr.flush()
        self.cr.clear()
        with self.allow_requests():
            client = requests.Session()
            client.cookies.set(
                TEST_CURSOR_COOKIE_NAME, self.opener.cookies[TEST_CURSOR_COOKIE_NAME]
            )
            if sid:
                client.cookies.set("session_id", sid)
            return client.request(method, self.base_url() + path, timeout=12, **kwargs)

    def _json2_status(self, sid):
        """The status of a JSON-2 call made with the session cookie ``sid`` alone."""
        return self._open_as(
            "POST",
            "/json/2/res.partner/search_count",
            sid,
            data=json.dumps({"domain": []}),
            headers=JSON2_SEC_HEADERS,
        ).status_code

    def _backend_status(self, sid):
        """Where ``/odoo`` leads with the session cookie ``sid`` alone."""
        response = self._open_as("GET", "/odoo", sid, allow_redirects=False)
        return response.status_code, response.headers.get("Location", "")


@tagged("post_install", "-at_install")
class TestSignNow(SignNowCommon):
    def test_the_hand_over_link_works_once_and_ends_the_senders_session(self):
        request = self._sent()
        participant = request.participant_ids
        own_path = participant._get_signing_path()
        self.authenticate("sign_user_a", "sign_user_a")
        old_sid = self.session.sid
        self.assertEqual(self._json2_status(old_sid), 200, "the session works before")
        self.assertEqual(self._backend_status(old_sid)[0], 200)

        url = self._hand_over_link(request)
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Hand this device to", page.text)
        self.assertIn("Ingrid Customer", page.text)
        self.assertFalse(
            request.event_ids.filtered(lambda e: e.event_type == "in_person"),
            "showing the page changes nothing",
        )
        response = self.url_open(
            f"{url}/start", data={"csrf_token": self._csrf_of(page)}, allow_redirects=False
        )
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response.headers["Location"].endswith(own_path))
        self.assertEqual(response.headers.get("Cache-Control"), "no-store, max-age=0")

        # the sender's session is over: the old cookie gives nothing of the backend or JSON-2
        new_sid = response.cookies.get("session_id")
        self.assertTrue(new_sid and new_sid != old_sid, "the browser got a fresh session")
        status, location = self._backend_status(old_sid)
        self.assertEqual(status, 303)
        self.assertIn("/web/login", location)
        self.assertEqual(self._json2_status(old_sid), 401)
        # ... and the fresh session is no one's either
        self.assertIn("/web/login", self._backend_status(new_sid)[1])
        self.assertEqual(self._json2_status(new_sid), 401)

        # the browser lands on the customer's own page, which says who hosts the signing
        page = self.url_open(own_path)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Sign here", page.text)
        self.assertIn("In person, hosted by", page.text)
        self.assertIn("Alice Sender", page.text)

        event = request.event_ids.filtered(lambda e: e.event_type == "in_person")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.participant_id, participant)
        self.assertEqual(event.actor_id, self.user_a, "the event records the host")
        details = json.loads(event.details)
        self.assertEqual(details["host_user_id"], self.user_a.id)
        self.assertEqual(details["hosted_by"], "Alice Sender (sign_user_a)")

        # once: the same link, even from the sender logged in again, is dead
        self.authenticate("sign_user_a", "sign_user_a")
        self.assertEqual(self.url_open(url).status_code, 404)
        refused = self.url_open(
            f"{url}/start", data={"csrf_token": self._csrf_of_backend()}, allow_redirects=False
        )
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(self._backend_status(self.session.sid)[0], 200, "still logged in")
        self.assertEqual(len(request.event_ids.filtered(lambda e: e.event_type == "in_person")), 1)

        # the participant's own link still works, from anywhere
        self.assertEqual(self._open_as("GET", own_path).status_code, 200)

    def test_an_expired_hand_over_link_is_refused_and_changes_nothing(self):
        request = self._sent()
        participant = request.participant_ids
        self.authenticate("sign_user_a", "sign_user_a")
        url = self._hand_over_link(request)
        csrf = self._csrf_of(self.url_open(url))
        participant.sudo().hosted_expires_at = fields.Datetime.now() - timedelta(seconds=1)
        self.assertEqual(self.url_open(url).status_code, 404)
        refused = self.url_open(f"{url}/start", data={"csrf_token": csrf}, allow_redirects=False)
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(self._backend_status(self.session.sid)[0], 200, "not logged out")
        self.assertFalse(request.event_ids.filtered(lambda e: e.event_type == "in_person"))
        # a new click gives a new link, good for a few minutes only
        before = fields.Datetime.now()
        self._hand_over_link(request)
        expires = participant.sudo().hosted_expires_at
        self.assertLessEqual(expires, before + timedelta(minutes=5, seconds=5))
        self.assertEqual(self.url_open(url).status_code, 404, "the old one stays dead")

    def test_a_wrong_token_a_visitor_and_a_missing_csrf_are_refused(self):
        request = self._sent()
        participant = request.participant_ids
        self.authenticate("sign_user_a", "sign_user_a")
        url = self._hand_over_link(request)
        prefix = url.rsplit("/", 1)[0]
        for bad in (f"{prefix}/wrong", f"{prefix}/{'x' * 400}", "/digital_sign/hosted/0/x"):
            self.assertEqual(self.url_open(bad).status_code, 404, bad)
        with mute_logger("odoo.http"):
            no_csrf = self.url_open(f"{url}/start", data={"x": "1"}, allow_redirects=False)
        self.assertEqual(no_csrf.status_code, 400)
        self.assertEqual(self._backend_status(self.session.sid)[0], 200)
        # a visitor (not logged in) holding the link gets nothing
        self.assertEqual(self._open_as("GET", url).status_code, 404)
        self.assertTrue(participant.sudo().hosted_token_hash, "the link is still there")

    def test_another_users_request_is_refused(self):
        request = self._sent()
        # Bob (another team, no rights on Alice's documents) cannot even ask
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            request.with_user(self.user_b).action_sign_now()
        # Cecilia may edit the team's documents, but a hand-over link is as good as the
        # customer's own link: only the owner and the managers get one
        with self.assertRaises(UserError):
            request.with_user(self.user_c).action_sign_now()
        with self.assertRaises(UserError):
            request.participant_ids.with_user(self.user_c).action_sign_now()
        self.assertFalse(request.with_user(self.user_c).can_sign_now)
        self.assertTrue(request.with_user(self.user_a).can_sign_now)
        self.assertTrue(request.with_user(self.manager).can_sign_now)
        # Alice's link is Alice's: Bob's session cannot use it
        url = self._hand_over_link(request)
        self.authenticate("sign_user_b", "sign_user_b")
        self.assertEqual(self.url_open(url).status_code, 404)
        refused = self.url_open(
            f"{url}/start", data={"csrf_token": self._csrf_of_backend()}, allow_redirects=False
        )
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(self._backend_status(self.session.sid)[0], 200, "Bob stays logged in")

    def test_who_and_when_sign_now_is_offered(self):
        # not before it is sent, and never for one of the company's own users
        draft = self._create_request(user_id=self.user_a.id, name="Draft")
        self.assertFalse(draft.with_user(self.user_a).can_sign_now)
        with self.assertRaises(UserError):
            draft.with_user(self.user_a).action_sign_now()
        colleague = self._sent(
            name="Internal",
            participants=[
                {
                    "partner_id": self.user_b.partner_id.id,
                    "name": self.user_b.name,
                    "email": self.user_b.email,
                    "role": "Customer",
                }
            ],
        )
        self.assertFalse(colleague.with_user(self.user_a).can_sign_now)
        # in order: the second participant's turn comes after the first one signed
        request = self._sent(
            name="Two",
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", signing_order=1),
                person("Carl", "Cosigner", signing_order=2),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("signing_order")
        as_alice = request.with_user(self.user_a)
        self.assertEqual(as_alice._get_sign_now_participant(), ingrid.with_user(self.user_a))
        self.assertFalse(carl.with_user(self.user_a).can_sign_now)
        field = request.field_ids.filtered(lambda f: f.participant_id == ingrid)
        ingrid._submit(
            {str(f.id): signature_data_url() for f in field if f.kind == "signature"},
            True,
            request.original_sha256,
        )
        self.assertEqual(as_alice._get_sign_now_participant(), carl.with_user(self.user_a))
        # from the quotation too: the same button, the same link
        order = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "user_id": self.user_a.id}
        )
        self.assertFalse(order.with_user(self.user_a).digital_sign_can_sign_now)
        with self.assertRaises(UserError):
            order.with_user(self.user_a).action_digital_sign_sign_now()

    def test_a_code_is_still_asked_and_the_certificate_names_the_host(self):
        request = self._sent(
            participants=[
                {
                    "partner_id": self.customer.id,
                    "name": self.customer.name,
                    "email": self.customer.email,
                    "mobile": self.customer.phone,
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ]
        )
        participant = request.participant_ids
        self.authenticate("sign_user_a", "sign_user_a")
        url = self._hand_over_link(request)
        page = self.url_open(url)
        self.assertIn("A one-time code will be sent to", page.text)
        self.url_open(f"{url}/start", data={"csrf_token": self._csrf_of(page)})
        page = self.url_open(participant._get_signing_path())
        self.assertIn("Confirm it is you", page.text, "the code the sender required is asked")
        self.assertNotIn("Sign here", page.text)
        csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
        result = self.make_jsonrpc_request(
            f"{participant._get_signing_path()}/otp/send", {"csrf_token": csrf}
        )
        self.assertEqual(result["status"], "ok")
        sms = (
            self.env["sms.sms"]
            .sudo()
            .search([("digital_sign_participant_id", "=", participant.id)])
        )
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.number, participant.mobile)
        # the customer signs (after the code), then the certificate says who hosted it
        participant.sudo().otp_verified_at = fields.Datetime.now()
        fields_ = request.field_ids.filtered(lambda f: f.kind == "signature")
        participant._submit(
            {str(f.id): signature_data_url() for f in fields_}, True, request.original_sha256
        )
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        doc = pymupdf.open(stream=base64.b64decode(request.signed_pdf), filetype="pdf")
        text = " ".join(" ".join(page.get_text() for page in doc).split())
        self.assertIn("In person, hosted by Alice Sender (sign_user_a)", text)
        self.assertIn("Signing in person", text, "the event log says it too")
        self.assertIn("hosted_by: Alice Sender (sign_user_a)", text)


@tagged("post_install", "-at_install")
class TestSignNowTour(SignNowCommon):
    def test_tour_the_sender_clicks_sign_now_and_the_customer_signs(self):
        request = self._sent()
        participant = request.participant_ids
        self.start_tour(
            f"/odoo/action-digital_sign.digital_sign_request_action/{request.id}",
            "digital_sign_sign_now",
            login=self.user_a.login,
        )
        self.assertEqual(participant.state, "signed")
        self.assertEqual(request.state, "signed")
        event = request.event_ids.filtered(lambda e: e.event_type == "in_person")
        self.assertEqual(event.actor_id, self.user_a)
        signed = request.event_ids.filtered(lambda e: e.event_type == "signed")
        self.assertFalse(signed.actor_id, "the customer signed in a session that is no one's")
        self.assertGreater(signed.sequence, event.sequence)
