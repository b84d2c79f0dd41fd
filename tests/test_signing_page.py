import base64
import hashlib
import html
import json
import re
from datetime import timedelta
from unittest.mock import patch

import pymupdf
from freezegun import freeze_time

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tools import config

from .common import DigitalSignCommon, make_pdf, person, signature_data_url

PNG_SIGNATURE = signature_data_url()
# The signing page's GET in a test, measured 3 Dec 2026 (10 before the contacts' time zone
# and language were read by one query).
QUERIES_PER_PAGE = 8


@tagged("post_install", "-at_install")
class TestSigningPage(DigitalSignCommon, HttpCase):
    # === helpers === #
    def _open(self, participant, path=""):
        return self.url_open(participant._get_signing_path() + path, allow_redirects=False)

    def _csrf(self, participant):
        page = self._open(participant)
        match = re.search(r'csrf_token: "([^"]+)"', page.text)
        self.assertTrue(match, "the page carries a CSRF token")
        return match.group(1)

    def _rpc(self, participant, route, csrf=None, headers=None, **params):
        params["csrf_token"] = csrf if csrf is not None else self._csrf(participant)
        return self.make_jsonrpc_request(
            f"{participant._get_signing_path()}/{route}", params, headers=headers
        )

    def _sent_request(self, **kwargs):
        request = self._create_request(**kwargs)
        request.action_send()
        return request

    def _sign(self, participant, values=None, csrf=None):
        fields_ = participant.request_id.field_ids.filtered(
            lambda f: f.participant_id == participant
        )
        values = (
            values
            if values is not None
            else {
                str(f.id): PNG_SIGNATURE
                if f.kind in ("signature", "initials")
                else True
                if f.kind == "checkbox"
                else "typed"
                for f in fields_
            }
        )
        return self._rpc(
            participant,
            "submit",
            csrf=csrf,
            values=values,
            consent=True,
            document_sha256=participant.request_id.original_sha256,
        )

    # === access === #
    def test_every_bad_link_gets_the_same_404(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner", signing_order=1),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("id")
        request._portal_ensure_token()
        good = self._open(ingrid)
        self.assertEqual(good.status_code, 200)
        self.assertIn("Sign here", good.text)
        self.assertEqual(good.headers["Referrer-Policy"], "no-referrer")
        self.assertIn("no-store", good.headers["Cache-Control"])
        self.assertEqual(good.headers["X-Frame-Options"], "DENY")
        carl_token = carl.sudo().access_token
        bad_urls = [
            f"/digital_sign/s/{ingrid.id}/{'x' * 43}",  # wrong token
            f"/digital_sign/s/{ingrid.id}/{carl_token}",  # another participant's token
            f"/digital_sign/s/{ingrid.id}/{request.access_token}",  # the request's portal token
            f"/digital_sign/s/999999/{carl_token}",  # unknown id
            f"/digital_sign/s/{ingrid.id}/",  # no token
        ]
        bodies = set()
        for url in bad_urls:
            response = self.url_open(url, allow_redirects=False)
            self.assertIn(response.status_code, (404,), url)
            if url.endswith("/"):
                continue
            bodies.add(response.text)
        self.assertEqual(len(bodies), 1, "every bad link answers exactly the same")
        # a revoked (cancelled) link too
        old_path = ingrid._get_signing_path()
        request._set_cancelled("test")
        self.assertEqual(self.url_open(old_path).status_code, 404)
        self.assertEqual(self.url_open(old_path).text, bodies.pop())

    def test_public_pages_paint_with_their_own_style_sheet_in_the_head(self):
        """The signing page, its not-found page and the verification page carry the rules of
        the bundle digital_sign.public_page_assets in their head: nothing else is fetched
        before the document paints."""
        participant = self._sent_request().participant_ids
        pages = {
            "signing": self._open(participant),
            "not found": self.url_open(f"/digital_sign/s/{participant.id}/{'x' * 43}"),
            "verification": self.url_open("/digital_sign/verify"),
        }
        for name, response in pages.items():
            with self.subTest(page=name):
                head = response.text.split("</head>", 1)[0]
                style = re.search(r"<style>(.*?)</style>", head, re.S)
                self.assertTrue(style, "the head carries the style sheet")
                self.assertIn(".o_ds_bar", style.group(1))
                self.assertIn(".o_ds_verify_page", style.group(1))
                self.assertNotIn("&gt;", style.group(1), "the rules are not escaped")
                self.assertNotIn("public_page_assets", head, "no request for the rules")
                self.assertEqual(response.headers["Referrer-Policy"], "no-referrer")

    def test_the_frontend_style_sheet_is_asked_for_after_the_first_page(self):
        """The frontend bundle's style sheet is not in the page's markup (it would compete
        with the first page's image and be parsed while it paints): the page's script asks
        for it once the first page shows; a browser without script gets it at once. The
        visitor's time zone is guessed after the page's load, not before the body."""
        participant = self._sent_request().participant_ids
        page = self._open(participant).text
        head, body = page.split("</head>", 1)
        self.assertNotIn(
            "Intl.DateTimeFormat", head.split('addEventListener(\n          "load"')[0]
        )
        outside_noscript = re.sub(r"<noscript>.*?</noscript>", "", page, flags=re.S)
        self.assertNotIn('rel="stylesheet"', outside_noscript)
        links = json.loads(html.unescape(re.search(r'data-ds-styles="([^"]+)"', body).group(1)))
        self.assertTrue(links)
        noscript = re.search(r"<noscript>(.*?)</noscript>", body, re.S).group(1)
        for href in links:
            self.assertIn(f'href="{href}"', noscript)
            response = self.url_open(href)
            self.assertEqual(response.status_code, 200)
            self.assertIn("text/css", response.headers["Content-Type"])
            self.assertIn(".btn", response.text)

    def test_the_page_reads_its_records_in_few_queries(self):
        """The signing page's GET reads the participant, the document, the contacts' time
        zone and language, the places and the company narrowly, in a bounded number of
        queries (each one costs more than the rest of the page; ./scripts/bench portal)."""
        participant = self._sent_request().participant_ids
        self._open(participant)  # warm: caches, session
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        response = self._open(participant)
        queries = self.cr.sql_log_count - before
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_ds_page", response.text)
        self.assertLessEqual(queries, QUERIES_PER_PAGE, f"{queries} queries")

    def test_tokens_are_long_random_and_compared_in_constant_time(self):
        request = self._sent_request()
        participant = request.participant_ids
        token = participant.sudo().access_token
        self.assertGreaterEqual(len(token), 43)  # 256 bits, urlsafe base64
        with patch(
            "odoo.addons.digital_sign.models.digital_sign_participant.consteq",
            wraps=__import__("odoo.tools", fromlist=["consteq"]).consteq,
        ) as spy:
            self.assertEqual(self._open(participant).status_code, 200)
        self.assertTrue(spy.called)

    def test_guessing_is_throttled_per_ip_in_the_database(self):
        request = self._sent_request()
        participant = request.participant_ids
        for _i in range(30):
            self.url_open(f"/digital_sign/s/{participant.id}/{'g' * 43}")
        counters = (
            self.env["digital.sign.throttle"].sudo().search([("key", "=like", "bad_token:%")])
        )
        self.assertEqual(sum(counters.mapped("hits")), 30)
        self.assertLessEqual(len(counters), 2, "one row per window slice, not one per failure")
        self.assertEqual(
            self.url_open(f"/digital_sign/s/{participant.id}/{'g' * 43}").status_code, 429
        )

    def test_posts_need_the_csrf_token_and_same_site(self):
        request = self._sent_request()
        participant = request.participant_ids
        csrf = self._csrf(participant)
        field = request.field_ids
        params = {
            "values": {str(field.id): PNG_SIGNATURE},
            "consent": True,
            "document_sha256": request.original_sha256,
        }
        for bad in ("bogus", "", None, ["list"], {"a": "b"}, 42, True, "é" * 40, csrf + "x" * 300):
            with self.subTest(csrf=str(bad)[:20]):
                result = self.make_jsonrpc_request(
                    f"{participant._get_signing_path()}/submit", {**params, "csrf_token": bad}
                )
                self.assertEqual(result, {"error": "forbidden"})
        result = self._rpc(
            participant,
            "submit",
            csrf=csrf,
            values={},
            consent=True,
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        self.assertEqual(result, {"error": "forbidden"})
        self.assertEqual(participant.state, "sent", "neither the GETs nor the refused POSTs")
        self.assertFalse(request.event_ids.filtered(lambda e: e.event_type in ("viewed", "signed")))

    # === client IP in the audit trail === #
    def test_audit_ip_ignores_forged_forwarding_headers_unless_behind_a_proxy(self):
        forged = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Host": "sign.example.com"}

        def viewed_ip(proxy_mode):
            request = self._sent_request(name=f"Contract (proxy mode {proxy_mode})")
            participant = request.participant_ids
            with patch.dict(config.options, {"proxy_mode": proxy_mode}):
                result = self._rpc(participant, "viewed", headers=forged)
            self.assertEqual(result, {"status": "ok"})
            viewed = request.event_ids.filtered(lambda e: e.event_type == "viewed")
            self.assertEqual(len(viewed), 1)
            return viewed.sudo().ip

        self.assertEqual(viewed_ip(False), "127.0.0.1", "a forged header is not believed")
        self.assertEqual(viewed_ip(True), "203.0.113.66", "behind a proxy, the client's address")

    # === the flow === #
    def test_one_signer_signs_once_and_gets_the_final_document(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
            ],
        )
        participant = request.participant_ids
        page = self._open(participant)
        self.assertEqual(participant.state, "sent", "a GET changes nothing (link scanners)")
        self.assertEqual(self._rpc(participant, "viewed"), {"status": "ok"})
        self.assertEqual(participant.state, "viewed")
        self.assertEqual(request.state, "viewed")
        # the cosigner's optional place has no participant: only Ingrid's places are hers
        self.assertEqual(len(re.findall(r'class="o_ds_field ', page.text)), 2)
        csrf = self._csrf(participant)
        # the server decides what is required
        result = self._rpc(
            participant,
            "submit",
            csrf=csrf,
            values={},
            consent=True,
            document_sha256=request.original_sha256,
        )
        self.assertEqual(result["status"], "invalid")
        other_field = request.field_ids.filtered(lambda f: not f.participant_id)
        result = self._sign(participant, csrf=csrf, values={str(other_field.id): PNG_SIGNATURE})
        self.assertEqual(result["status"], "invalid")
        self.opener.headers["User-Agent"] = "DigitalSignTestBrowser/1.0"
        result = self._sign(participant, csrf=csrf)
        self.assertEqual(result["status"], "ok")
        self.assertEqual(self._sign(participant, csrf=csrf)["status"], "already_signed")
        self.assertEqual(request.state, "signed")
        self.assertEqual(len(request.event_ids.filtered(lambda e: e.event_type == "signed")), 1)
        self.assertEqual(request.finalize_state, "pending")
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        signed = base64.b64decode(request.signed_pdf)
        self.assertEqual(hashlib.sha256(signed).hexdigest(), request.signed_sha256)
        self.assertEqual(base64.b64decode(request.original_pdf), self.pdf_two_roles)
        doc = pymupdf.open(stream=signed, filetype="pdf")
        self.assertGreater(doc.page_count, 1)
        signature_field = request.field_ids.filtered(
            lambda f: f.kind == "signature" and f.participant_id
        )
        page = doc[signature_field.page - 1]
        boxes = [pymupdf.Rect(info["bbox"]) for info in page.get_image_info()]
        field_rect = pymupdf.Rect(
            signature_field.x0, signature_field.y0, signature_field.x1, signature_field.y1
        )
        self.assertTrue(
            any(
                field_rect.contains(box) or (box & field_rect).get_area() > 0.9 * box.get_area()
                for box in boxes
            ),
            (boxes, field_rect),
        )
        certificate_text = "".join(doc[i].get_text() for i in range(1, doc.page_count))
        compact = re.sub(r"\s+", "", certificate_text)
        self.assertIn(request.reference, certificate_text)
        self.assertIn(request.original_sha256, compact)
        self.assertIn("DigitalSignTestBrowser/1.0", compact)
        self.assertIn("Ingrid", certificate_text)
        self.assertNotIn("{{sign", doc[0].get_text())
        # the signed state and the download
        page = self._open(participant)
        self.assertIn("Download the signed document", page.text)
        download = self._open(participant, "/download/signed")
        self.assertEqual(download.content, signed)

    def test_signing_order_second_link_waits_for_its_turn(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", signing_order=1),
                person("Carl", "Cosigner", signing_order=2),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("signing_order")
        self.assertEqual(carl.state, "waiting")
        self.assertFalse(carl._get_signing_path(), "no link before its turn")
        self.assertEqual(self.url_open(f"/digital_sign/s/{carl.id}/{'c' * 43}").status_code, 404)
        self.assertEqual(self._sign(ingrid)["status"], "ok")
        self.assertEqual(carl.state, "sent")
        self.assertEqual(request.state, "viewed")
        self.assertEqual(self._sign(carl)["status"], "ok")
        self.assertEqual(request.state, "signed")

    def test_optional_participant_is_skipped_when_the_mandatory_ones_signed(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner", mandatory=False),
            ],
        )
        ingrid, carl = request.participant_ids.sorted("id")
        carl_path = carl._get_signing_path()
        self.assertEqual(self._sign(ingrid)["status"], "ok")
        self.assertEqual(request.state, "signed")
        self.assertEqual(carl.state, "skipped")
        self.assertEqual(self.url_open(carl_path).status_code, 404)

    def test_rejection_by_a_mandatory_participant_rejects_the_request(self):
        request = self._sent_request()
        participant = request.participant_ids
        csrf = self._csrf(participant)
        self.assertEqual(
            self._rpc(participant, "reject", csrf=csrf, reason="")["status"], "invalid"
        )
        self.assertEqual(
            self._rpc(participant, "reject", csrf=csrf, reason="Price too high")["status"], "ok"
        )
        self.assertEqual(request.state, "rejected")
        self.assertIn("Price too high", request.reject_reason)
        activity = request.activity_ids.filtered(lambda a: "rejected" in (a.summary or ""))
        self.assertEqual(activity.user_id, request.user_id)
        self.assertTrue(request.message_ids.filtered(lambda m: "Price too high" in str(m.body)))
        self.assertIn("You rejected this document", self._open(participant).text)

    def test_expired_link_says_so_and_asks_for_a_new_one(self):
        request = self._sent_request()
        participant = request.participant_ids
        with freeze_time(request.deadline + timedelta(seconds=1)):
            page = self._open(participant)
            csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
            self.assertIn("This link expired", page.text)
            self.assertEqual(request.state, "expired")
            self.assertEqual(participant.state, "expired")
            self.assertEqual(self._sign(participant, csrf=csrf)["status"], "closed")
            self.assertEqual(self._rpc(participant, "new_link", csrf=csrf)["status"], "ok")
            self.assertEqual(
                self._rpc(participant, "new_link", csrf=csrf)["status"], "already_asked"
            )
        self.assertTrue(
            request.activity_ids.filtered(lambda a: "New signing link" in (a.summary or ""))
        )

    def test_one_time_code_flow_with_lock_out(self):
        request = self._sent_request(
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
        page = self._open(participant)
        self.assertIn("Confirm it is you", page.text)
        self.assertNotIn('class="o_ds_pages"', page.text, "no document before the code")
        self.assertEqual(self._open(participant, "/page/1").status_code, 404)
        csrf = self._csrf(participant)
        codes = []
        with patch(
            "odoo.addons.digital_sign.engine.otp.generate_code",
            side_effect=lambda: codes.append("424242") or "424242",
        ):
            sent = self._rpc(participant, "otp/send", csrf=csrf, phone="+15555550000")
        self.assertEqual(sent["status"], "ok")
        self.assertEqual(sent["to"], "+46•••••4567")
        sms = self.env["sms.sms"].sudo().search([("body", "like", "424242")])
        self.assertEqual(sms.number, "+46701234567", "the stored number, never the client's")
        self.assertNotIn("424242", str(participant.sudo().read(["otp_hash"])))
        self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "wait")
        for _attempt in range(4):
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="000000")["status"], "wrong"
            )
        self.assertEqual(
            participant.sudo().otp_failures, 4, "failures are committed, not rolled back"
        )
        self.assertEqual(
            self._rpc(participant, "otp/verify", csrf=csrf, code="000000")["status"], "locked"
        )
        self.assertEqual(
            self._rpc(participant, "otp/verify", csrf=csrf, code="424242")["status"], "locked"
        )
        self.assertTrue(request.activity_ids.filtered(lambda a: "locked" in (a.summary or "")))
        self.assertFalse(request.message_ids.filtered(lambda m: "424242" in str(m.body)))
        self.assertEqual(self._sign(participant, csrf=csrf)["status"], "closed")
        with freeze_time(fields.Datetime.now() + timedelta(minutes=16)):
            csrf = self._csrf(participant)
            with patch("odoo.addons.digital_sign.engine.otp.generate_code", return_value="135790"):
                self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="135 790")["status"], "ok"
            )
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="135790")["status"],
                "expired",
                "a code works once",
            )
            self.assertIn("Sign here", self._open(participant).text)
            self.assertEqual(self._sign(participant, csrf=csrf)["status"], "ok")
        types = request.event_ids.mapped("event_type")
        for event_type in ("code_sent", "code_failed", "code_locked", "code_verified", "signed"):
            self.assertIn(event_type, types)

    def test_code_expires_after_ten_minutes(self):
        request = self._sent_request(
            participants=[
                {
                    "name": "Ingrid",
                    "mobile": "+46701234567",
                    "email": "ingrid@example.com",
                    "role": "Customer",
                    "invite_channel": "sms",
                    "otp_channel": "email",
                }
            ]
        )
        participant = request.participant_ids
        csrf = self._csrf(participant)
        with patch("odoo.addons.digital_sign.engine.otp.generate_code", return_value="111222"):
            self.assertEqual(self._rpc(participant, "otp/send", csrf=csrf)["status"], "ok")
        mail = self.env["mail.mail"].sudo().search([("body_html", "like", "111222")])
        self.assertEqual(mail.email_to, "ingrid@example.com")
        with freeze_time(fields.Datetime.now() + timedelta(minutes=10, seconds=1)):
            csrf = self._csrf(participant)
            self.assertEqual(
                self._rpc(participant, "otp/verify", csrf=csrf, code="111222")["status"], "expired"
            )

    def test_customer_names_a_missing_participant(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        ingrid, cosigner = request.participant_ids.sorted("id")
        page = self._open(ingrid)
        self.assertIn("Who else signs?", page.text)
        csrf = self._csrf(ingrid)
        self.assertEqual(self._sign(ingrid, csrf=csrf)["status"], "closed", "naming comes first")
        result = self._rpc(
            ingrid, "name", csrf=csrf, participants=[{"id": cosigner.id, "name": "Carl"}]
        )
        self.assertEqual(result["status"], "invalid")
        result = self._rpc(
            ingrid,
            "name",
            csrf=csrf,
            participants=[
                {"id": cosigner.id, "name": "Carl Cosigner", "email": "carl@example.com"}
            ],
        )
        self.assertEqual(result["status"], "ok")
        self.assertEqual(cosigner.email, "carl@example.com")
        self.assertEqual(cosigner.state, "sent")
        self.assertEqual(cosigner.named_by_id, ingrid)
        self.assertIn("Sign here", self._open(ingrid).text)

    def test_reengage_kills_the_old_link(self):
        request = self._sent_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "Cosigner"),
            ],
        )
        carl = request.participant_ids.filtered(lambda p: p.role == "Cosigner")
        old_path = carl._get_signing_path()
        result = carl._reengage(email="carl.new@example.com")
        self.assertEqual(result["status"], "ok")
        self.assertEqual(self.url_open(old_path).status_code, 404)
        new_path = carl._get_signing_path()
        self.assertNotEqual(old_path, new_path)
        self.assertEqual(self.url_open(new_path).status_code, 200)
        event = request.event_ids.filtered(lambda e: e.event_type == "contact_changed")
        self.assertIn("carl@example.com", event.details)
        self.assertIn("carl.new@example.com", event.details)
        self.assertEqual(
            carl._reengage(email="carl.other@example.com")["status"],
            "ok",
            "opening the link (a link scanner may) is not seeing the document",
        )
        # once the document was shown, the contact can no longer change
        self.assertEqual(self._rpc(carl, "viewed"), {"status": "ok"})
        self.assertEqual(carl._reengage(email="other@example.com")["status"], "closed")

    def test_bad_signature_images_are_refused_and_nothing_is_kept(self):
        request = self._sent_request()
        participant = request.participant_ids
        field = request.field_ids
        svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='x'/>").decode()
        for bad in (svg, "not base64 at all", "data:image/gif;base64,R0lGODlhAQABAAAAACw="):
            with self.subTest(bad=bad[:20]):
                result = self._sign(participant, values={str(field.id): bad})
                self.assertEqual(result["status"], "invalid")
        self.assertFalse(field.value_image)
        self.assertEqual(participant.state, "sent")

    def test_changed_document_is_refused(self):
        request = self._sent_request()
        participant = request.participant_ids
        result = self._rpc(
            participant,
            "submit",
            values={str(request.field_ids.id): PNG_SIGNATURE},
            consent=True,
            document_sha256="0" * 64,
        )
        self.assertEqual(result["status"], "changed")
        self.assertEqual(participant.state, "sent")

    def test_page_images_and_no_anchor_on_them(self):
        request = self._sent_request(
            pdf=make_pdf(
                [{"texts": [(72, 700, "{{sign:Customer}}")]}, {"size": (842, 595), "rotate": 90}]
            )
        )
        participant = request.participant_ids
        self._open(participant)
        image = self._open(participant, "/page/2")
        self.assertEqual(image.headers["Content-Type"], "image/png", "a text page: palette PNG")
        self.assertTrue(image.content.startswith(b"\x89PNG"))
        import io

        from PIL import Image

        width, height = Image.open(io.BytesIO(image.content)).size
        self.assertLess(width, height, "the rotated landscape page is shown upright (portrait)")
        self.assertEqual(self._open(participant, "/page/3").status_code, 404)

    def test_the_document_as_shown_can_be_downloaded_without_anchors(self):
        request = self._sent_request(pdf=self.pdf_two_roles)
        participant = request.participant_ids
        page = self._open(participant)
        self.assertIn("/download/original", page.text)
        response = self._open(participant, "/download/original")
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("no-store", response.headers["Cache-Control"])
        text = pymupdf.open(stream=response.content, filetype="pdf")[0].get_text()
        self.assertIn("Customer:", text)
        self.assertNotIn("{{", text, "anchors are hidden in every document shown")
        self.assertEqual(
            self.url_open(
                f"/digital_sign/s/{participant.id}/{'z' * 43}/download/original"
            ).status_code,
            404,
        )
