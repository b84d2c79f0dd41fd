"""Live status for the sender: bus notifications when a participant opens, signs or
rejects, the open form that changes without a reload, and a conversation that ends with its
ticket."""

import base64
import os
import re
import threading
import time
from pathlib import Path
from unittest.mock import patch

import requests

from odoo.tests import HttpCase, tagged
from odoo.tests.common import TEST_CURSOR_COOKIE_NAME, ChromeBrowser

from .common import DigitalSignCommon, DigitalSignHelpdeskCommon, person, signature_data_url

PNG_SIGNATURE = signature_data_url()


class LiveStatusCommon(DigitalSignCommon):
    def _capture_bus(self):
        """Record every bus notification sent while the patch is active: (target, type, payload)."""
        sent = []
        BusBus = type(self.env["bus.bus"])
        original = BusBus._sendone

        def sendone(bus_self, target, notification_type, message):
            sent.append((target, notification_type, message))
            return original(bus_self, target, notification_type, message)

        self.startPatcher(patch.object(BusBus, "_sendone", sendone))
        return sent

    @staticmethod
    def _to(sent, partner, notification_type):
        return [
            message
            for target, kind, message in sent
            if kind == notification_type and target == partner
        ]

    def _sign_fields(self, participant):
        return {
            str(f.id): PNG_SIGNATURE
            for f in participant.request_id.field_ids.filtered(
                lambda f: f.participant_id == participant
            )
        }


@tagged("post_install", "-at_install")
class TestLiveStatus(LiveStatusCommon, HttpCase):
    def test_opening_signing_rejecting_reach_the_owner_and_followers_only(self):
        request = self._create_request(
            user=self.user_a,
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner", mandatory=False),
            ],
        )
        request.message_subscribe(partner_ids=(self.manager.partner_id | self.customer).ids)
        request.with_user(self.user_a).action_send()
        ingrid, carl = request.participant_ids.sorted("id")
        sent = self._capture_bus()

        ingrid._mark_viewed()
        owner = self._to(sent, self.user_a.partner_id, "digital_sign/status")
        self.assertEqual(
            owner,
            [{"request_id": request.id, "res_model": False, "res_id": False, "event": "viewed"}],
        )
        self.assertEqual(
            self._to(sent, self.manager.partner_id, "digital_sign/status"),
            owner,
            "an internal follower is told too",
        )
        for outsider in (self.customer, self.user_b.partner_id):
            self.assertFalse(
                [t for t, _kind, _m in sent if t == outsider],
                "customers and other users are never told",
            )

        sent.clear()
        self.assertEqual(carl._reject("Not my contract")["status"], "ok")
        self.assertEqual(
            [m["event"] for m in self._to(sent, self.user_a.partner_id, "digital_sign/status")],
            ["viewed", "rejected"],
        )

        sent.clear()
        self.assertEqual(
            ingrid._submit(self._sign_fields(ingrid), True, request.original_sha256),
            {"status": "ok"},
        )
        events = [m["event"] for m in self._to(sent, self.user_a.partner_id, "digital_sign/status")]
        self.assertEqual(events, ["signed", "completed"])
        self.assertFalse(
            self._to(sent, self.user_a.partner_id, "digital_sign/completed"),
            "no 'signed' notification before the signed document exists",
        )

    def test_the_signed_document_is_one_click_away(self):
        request = self._create_request(user=self.user_a)
        request.with_user(self.user_a).action_send()
        participant = request.participant_ids
        participant._submit(self._sign_fields(participant), True, request.original_sha256)
        sent = self._capture_bus()
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        done = self._to(sent, self.user_a.partner_id, "digital_sign/completed")
        self.assertEqual(len(done), 1)
        self.assertEqual(done[0]["request_id"], request.id)
        self.assertIn(request.reference, done[0]["message"])
        # The notification's button: the owner opens the signed PDF with the action it calls.
        action = request.with_user(self.user_a).action_preview_signed()
        self.authenticate(self.user_a.login, self.user_a.login)
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"%PDF"))

    def test_a_failed_step_pushes_nothing(self):
        request = self._create_request(user=self.user_a)
        request.with_user(self.user_a).action_send()
        participant = request.participant_ids
        sent = self._capture_bus()
        result = participant._submit({}, True, request.original_sha256)
        self.assertEqual(result["status"], "invalid")
        self.assertFalse(sent, "a refused submission tells nobody anything")


@tagged("post_install", "-at_install")
class TestLiveStatusTour(LiveStatusCommon, HttpCase):
    def test_tour_the_senders_open_form_changes_when_the_customer_signs(self):
        """Two browsers: the sender's Chromium shows the request's form; meanwhile the
        customer, from another HTTP client with no cookie of the sender, opens the link and
        signs. The form shows "Signed" without a reload (the tour checks that its window is
        the same)."""
        request = self._create_request(user=self.user_a)
        request.with_user(self.user_a).action_send()
        participant = request.participant_ids
        path = participant._get_signing_path()
        values = self._sign_fields(participant)
        form_read = threading.Event()
        outcome = {}
        Request = type(self.env["digital.sign.request"])
        web_read = Request.web_read

        def spy_web_read(records, *args, **kwargs):
            result = web_read(records, *args, **kwargs)
            if request.id in records.ids:
                form_read.set()
            return result

        def customer_signs():
            if not form_read.wait(60):
                outcome["error"] = "the sender's form never loaded"
                return
            time.sleep(2)  # let the sender's page settle on its bus
            customer = requests.Session()
            customer.cookies.set(TEST_CURSOR_COOKIE_NAME, self.http_request_key)
            page = customer.get(self.base_url() + path, timeout=30)
            csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
            response = customer.post(
                self.base_url() + path + "/submit",
                timeout=30,
                json={
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "csrf_token": csrf,
                        "values": values,
                        "consent": True,
                        "document_sha256": request.original_sha256,
                    },
                },
            )
            outcome["result"] = response.json().get("result")

        thread = threading.Thread(target=customer_signs)
        shots = os.environ.get("DIGITAL_SIGN_README_SHOTS")
        wait_code_ok = ChromeBrowser._wait_code_ok

        def wait_then_shoot(browser, *args, **kwargs):
            """With DIGITAL_SIGN_README_SHOTS (a folder): the README's picture of the live
            update, the sender's form once it changed."""
            wait_code_ok(browser, *args, **kwargs)
            if shots:
                image = browser._websocket_request("Page.captureScreenshot", timeout=30)
                Path(shots, "live_update.png").write_bytes(base64.b64decode(image["data"]))

        with (
            patch.object(Request, "web_read", spy_web_read),
            patch.object(ChromeBrowser, "_wait_code_ok", wait_then_shoot),
        ):
            thread.start()
            try:
                self.start_tour(
                    f"/odoo/action-digital_sign.digital_sign_request_action/{request.id}",
                    "digital_sign_live_status",
                    login=self.user_a.login,
                )
            finally:
                thread.join(60)
        self.assertEqual(outcome.get("result"), {"status": "ok"}, outcome)
        request.invalidate_recordset()
        self.assertEqual(request.state, "signed")


@tagged("post_install", "-at_install")
class TestConversationEndsWithTicket(DigitalSignHelpdeskCommon, HttpCase):
    def test_closing_the_ticket_kills_the_conversation_link_and_says_why(self):
        ticket = self._create_ticket()
        conversation, _action = self._send(ticket, name="Repair quote", mode="conversation")
        standard, _action = self._send(ticket, name="Service contract")
        participant = conversation.participant_ids
        path = participant._get_signing_path()
        self.assertIn("Sign", self.url_open(path).text)
        closed = self.env["helpdesk.ticket.stage"].create(
            {
                "name": "Closed (signing tests)",
                "sequence": 90,
                "fold": True,
                "closed": True,
            }
        )
        ticket.with_user(self.agent).stage_id = closed
        self.assertEqual(conversation.state, "cancelled")
        self.assertIn(ticket.display_name, conversation.cancel_reason)
        self.assertEqual(standard.state, "sent", "a standard document outlives the conversation")
        self.assertEqual(participant._link_state(), "closed")
        page = self.url_open(path)
        self.assertEqual(page.status_code, 200)
        self.assertIn("conversation that has now ended", page.text)
        self.assertNotIn('class="o_ds_pages"', page.text, "the document is not shown")
        values = {str(f.id): PNG_SIGNATURE for f in conversation.field_ids}
        self.assertEqual(
            participant._submit(values, True, conversation.original_sha256), {"status": "closed"}
        )
        self.assertEqual(self.url_open(path + "/download/original").status_code, 404)

    def test_moving_the_ticket_to_an_open_stage_keeps_the_link(self):
        ticket = self._create_ticket()
        conversation, _action = self._send(ticket, name="Repair quote", mode="conversation")
        ticket.stage_id = self.env["helpdesk.ticket.stage"].create(
            {"name": "In progress", "sequence": 5}
        )
        self.assertEqual(conversation.state, "sent")


@tagged("post_install", "-at_install")
class TestStatusCheckedShown(DigitalSignCommon):
    def test_the_quotation_and_the_document_show_when_the_status_was_checked(self):
        for model, field in (
            ("sale.order", "digital_sign_checked_at"),
            ("digital.sign.request", "last_checked_at"),
        ):
            arch = (
                self.env[model]
                .with_user(self.user_a)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            self.assertIn(f'name="{field}"', arch, model)
        request = self._create_request(user=self.user_a)
        request.sudo().last_checked_at = "2026-01-02 03:04:05"
        self.assertEqual(
            request.with_user(self.user_a).read(["last_checked_at"])[0]["last_checked_at"],
            request.last_checked_at,
            "the sender may read it",
        )
