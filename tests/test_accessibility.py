"""Accessibility (WCAG 2.1 AA) of every public page state, in headless Chromium.

- axe-core (npm, installed by ./scripts/test into .run/a11y-node) runs on each state of the
  signing page (code, naming participants, document to sign with its errors, signature pad
  and consent text, signed and waiting for the others, signed with the signed copy,
  rejected, expired), the "link not found" page, the verification page (form and verdicts)
  and the portal's /my/signatures pages: 23 states, each in three windows, desktop
  (1366x768), phone (375x812) and desktop at 200 % zoom (683x384 CSS pixels), where nothing
  may scroll sideways either. Zero violations of the wcag2a, wcag2aa, wcag21a and wcag21aa
  rules; a missing axe-core fails the test, it never skips.
- A tour signs with the keyboard alone (real key presses through Chrome's input: Tab,
  Enter, Space, typing): it reaches each place, hears what it is, types the signature,
  consents and signs; the database says signed afterwards.
"""

import base64
import json
import os
import re
from datetime import timedelta
from functools import partial
from pathlib import Path
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .common import DigitalSignCommon, make_pdf, person, signature_data_url
from .test_portal import DigitalSignPortalCommon
from .test_seal import SealTestMixin
from .test_verify import replace_first_page_content

# The address the tours load axe-core from (static/tests/tours/a11y_utils.js): outside the
# test server, so Chromium asks the test for it (HttpCase.fetch_proxy).
AXE_URL = "https://axe-core.digital-sign.invalid/axe.min.js"
AXE_PATH = Path(
    os.environ.get("DIGITAL_SIGN_AXE")
    or Path(__file__).resolve().parents[1] / ".run/a11y-node/node_modules/axe-core/axe.min.js"
)
DESKTOP, PHONE, ZOOM_200 = "1366x768", "375x812", "683x384"
SIZES = (DESKTOP, PHONE, ZOOM_200)
PNG_SIGNATURE = signature_data_url()
TEST_PREFIX = "digital_sign_test:"
# Chrome's DevTools key events: key, code, Windows key code, text it types
KEYS = {
    "Tab": ("Tab", "Tab", 9, ""),
    "Enter": ("Enter", "Enter", 13, "\r"),
    "Space": (" ", "Space", 32, " "),
}


class AccessibilityCommon(HttpCase):
    """Runs tours with axe-core at hand, in each window size."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.axe_source = AXE_PATH.read_bytes() if AXE_PATH.is_file() else None

    def fetch_proxy(self, url):
        if url == AXE_URL:
            return {
                **self.make_fetch_proxy_response(self.axe_source or b""),
                "responseCode": 200 if self.axe_source else 404,
            }
        return super().fetch_proxy(url)

    def _console(self):
        """Answer the tours' requests on the console (static/tests/tours/a11y_utils.js):
        ``digital_sign_test:<id>:keys:<list>`` presses keys through Chrome's input,
        ``digital_sign_test:<id>:shot:<label>`` saves a screenshot when
        DIGITAL_SIGN_A11Y_SHOTS names a folder; then ``body[data-ds-ack]`` gets ``<id>``.
        Runs in the browser's event thread: it sends, it never waits for an answer."""
        original = ChromeBrowser._handle_console
        shots = os.environ.get("DIGITAL_SIGN_A11Y_SHOTS")

        def acknowledge(browser, request_id):
            browser._websocket_send(
                "Runtime.evaluate",
                params={"expression": f"document.body.dataset.dsAck = '{int(request_id)}'"},
            )

        def save_shot(browser, request_id, label, future):
            try:
                data = base64.b64decode(future.result(timeout=0)["data"])
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")
                Path(shots, f"{type(self).__name__}_{name}.png").write_bytes(data)
            finally:
                acknowledge(browser, request_id)

        def handle_console(browser, type, args=None, **kwargs):  # noqa: A002 (CDP's name)
            message = (args or [{}])[0].get("value")
            if type != "log" or not isinstance(message, str) or not message.startswith(TEST_PREFIX):
                return original(browser, type, args=args, **kwargs)
            request_id, kind, payload = message[len(TEST_PREFIX) :].split(":", 2)
            payload = json.loads(payload)
            if kind == "keys":
                for key in payload:
                    self._press(browser, key)
            elif kind == "shot" and shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                future = browser._websocket_send("Page.captureScreenshot", with_future=True)
                future.add_done_callback(partial(save_shot, browser, request_id, payload))
                return None
            acknowledge(browser, request_id)
            return None

        return patch.object(ChromeBrowser, "_handle_console", handle_console)

    def _press(self, browser, key):
        """Press ``key`` ("Tab", "Shift+Tab", "Enter", "Space") or type ``type:<text>``
        with Chrome's own input (DevTools Input domain): trusted events, with the
        browser's own behaviour (Tab moves the focus, Enter and Space activate)."""
        if key.startswith("type:"):
            browser._websocket_send("Input.insertText", params={"text": key[5:]})
            return
        shift = key.startswith("Shift+")
        name, code, key_code, text = KEYS[key.removeprefix("Shift+")]
        common = {
            "key": name,
            "code": code,
            "windowsVirtualKeyCode": key_code,
            "nativeVirtualKeyCode": key_code,
            "modifiers": 8 if shift else 0,
        }
        browser._websocket_send(
            "Input.dispatchKeyEvent",
            params={"type": "keyDown" if text else "rawKeyDown", "text": text, **common},
        )
        browser._websocket_send("Input.dispatchKeyEvent", params={"type": "keyUp", **common})

    def _check(self, path, tour="digital_sign_a11y_page", sizes=SIZES, **kwargs):
        """Run ``tour`` (axe-core checks among its steps) on ``path`` in each window size."""
        self.assertTrue(
            self.axe_source,
            f"axe-core is missing at {AXE_PATH}: ./scripts/test installs it (npm axe-core "
            "into .run/a11y-node), or point DIGITAL_SIGN_AXE at axe.min.js",
        )
        self.assertTrue(path, "a page to check")
        with self._console():
            for size in sizes:
                self.browser_size = size
                self.start_tour(path, tour, **kwargs)


@tagged("post_install", "-at_install")
class TestSigningPageAccessibility(AccessibilityCommon, DigitalSignCommon):
    def _sent(self, **kwargs):
        request = self._create_request(**kwargs)
        request.action_send()
        return request

    def _sign(self, participant):
        mine = participant.request_id.field_ids.filtered(lambda f: f.participant_id == participant)
        values = {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"}
        result = participant._submit(values, True, participant.request_id.original_sha256)
        self.assertEqual(result["status"], "ok")

    def test_code_page(self):
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
        self._check(request.participant_ids._get_signing_path(), "digital_sign_a11y_otp")

    def test_naming_participants(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        ingrid = request.participant_ids.sorted("id")[0]
        self._check(ingrid._get_signing_path(), "digital_sign_a11y_name")

    def test_document_to_sign(self):
        pdf = make_pdf(
            [
                {
                    "texts": [
                        (72, 500, "Sign: {{sign:Customer}}"),
                        (72, 600, "Initials: {{initials:Customer}}"),
                        (72, 650, "{{check:Customer}} I agree"),
                        (72, 700, "Plan: {{text:Customer}}"),
                        (72, 750, "Date: {{date:Customer}}"),
                        (320, 500, "Cosigner: {{sign:Cosigner}}"),
                    ]
                }
            ]
        )
        request = self._sent(
            pdf=pdf,
            participants=[person("Ingrid", "Customer"), person("Carl", "Cosigner")],
        )
        ingrid = request.participant_ids.sorted("id")[0]
        self._check(ingrid._get_signing_path(), "digital_sign_a11y_sign")

    def test_signed_waiting_and_with_the_signed_copy(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[person("Ingrid", "Customer"), person("Carl", "Cosigner")],
        )
        ingrid, carl = request.participant_ids.sorted("id")
        self._sign(ingrid)
        self._check(ingrid._get_signing_path())  # waiting for Carl
        self._sign(carl)
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        self._check(carl._get_signing_path())  # the signed copy to download

    def test_rejected_and_expired(self):
        rejected = self._sent()
        participant = rejected.participant_ids
        path = participant._get_signing_path()
        participant._reject("The price changed.")
        self.assertEqual(participant._link_state(), "rejected")
        self._check(path)

        expired = self._sent()
        path = expired.participant_ids._get_signing_path()
        with freeze_time(expired.deadline + timedelta(minutes=5)):
            self._check(path)
        self.assertEqual(expired.state, "expired")

    def test_link_not_found(self):
        """The static "link not found" page carries no script of Odoo's: axe-core is loaded
        by the test's code directly."""
        self.assertTrue(self.axe_source, f"axe-core is missing at {AXE_PATH}")
        code = """
            const script = document.createElement("script");
            script.src = %s;
            script.onload = async () => {
                const results = await axe.run(document, {
                    runOnly: {type: "tag", values: %s},
                    resultTypes: ["violations"],
                });
                const problems = results.violations.map(
                    (v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join(", ")
                );
                if (document.documentElement.scrollWidth > window.innerWidth) {
                    problems.push("the page scrolls sideways");
                }
                if (problems.length) {
                    console.error("accessibility of the not-found page: " + problems.join("; "));
                    return;
                }
                const shot = `not found ${innerWidth}x${innerHeight}`;
                console.log(`digital_sign_test:1:shot:${JSON.stringify(shot)}`);
                while (document.body.dataset.dsAck !== "1") {
                    await new Promise((resolve) => setTimeout(resolve, 20));
                }
                console.log("test successful");
            };
            document.head.appendChild(script);
        """ % (json.dumps(AXE_URL), json.dumps(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]))
        with self._console():
            for size in SIZES:
                self.browser_size = size
                self.browser_js("/digital_sign/s/0/nope", code, ready="true")


@tagged("post_install", "-at_install")
class TestKeyboardSigning(AccessibilityCommon, DigitalSignCommon):
    """Sign with the keyboard alone. The tour asks for key presses on the console; the test
    sends them as Chrome's own keyboard input (trusted events: Tab moves the focus, Enter
    and Space activate as they would for a person at a keyboard)."""

    def test_sign_with_the_keyboard_alone(self):
        pdf = make_pdf(
            [
                {
                    "texts": [
                        (72, 500, "Sign: {{sign:Customer}}"),
                        (72, 600, "Plan: {{text:Customer}}"),
                        (72, 650, "{{check:Customer:optional}} Newsletter"),
                        (72, 750, "Date: {{date:Customer}}"),
                    ]
                }
            ]
        )
        request = self._create_request(pdf=pdf, participants=[person("Ingrid", "Customer")])
        request.action_send()
        participant = request.participant_ids
        self._check(participant._get_signing_path(), "digital_sign_keyboard", sizes=[DESKTOP])
        self.assertEqual(participant.state, "signed")
        self.assertEqual(request.state, "signed")
        values = {f.kind: f for f in request.field_ids}
        self.assertEqual(values["text"].value, "Plan B")
        self.assertEqual(values["checkbox"].value, "1")
        self.assertTrue(values["signature"].value_image, "the typed signature was adopted")


@tagged("post_install", "-at_install")
class TestVerifyPageAccessibility(AccessibilityCommon, SealTestMixin, DigitalSignCommon):
    def test_without_axe_core_the_check_fails(self):
        self.axe_source = None
        with self.assertRaises(AssertionError) as caught:
            self._check("/digital_sign/verify")
        self.assertIn("axe-core is missing", str(caught.exception))

    def test_verification_form_and_verdicts(self):
        self._use_ca_certificate()
        signed = self._signed_bytes(self._sealed_request())
        files = {
            "verify_tour_sealed": signed,
            "verify_tour_modified": replace_first_page_content(signed),
            "verify_tour_random": make_pdf(producer_title="random"),
        }
        for name, data in files.items():
            attachment = self.env["ir.attachment"].create(
                {"name": f"{name}.pdf", "raw": data, "mimetype": "application/pdf", "public": True}
            )
            self.env["ir.model.data"].create(
                {
                    "module": "digital_sign",
                    "name": name,
                    "model": "ir.attachment",
                    "res_id": attachment.id,
                }
            )
        self._check("/digital_sign/verify", "digital_sign_a11y_verify")


@tagged("post_install", "-at_install")
class TestPortalAccessibility(AccessibilityCommon, DigitalSignPortalCommon):
    def test_my_signatures_and_a_document(self):
        sign_request = self._sent("Joint contract")
        self._check("/my/signatures", login=self.petra.login)
        self._check(f"/my/signatures/{sign_request.id}", login=self.petra.login)
