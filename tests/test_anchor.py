"""Anchors of the audit trail outside the database: an HMAC with a key from the server's
configuration, and RFC 3161 timestamps from the runtime test PKI's TSA on 127.0.0.1.

The insider of these tests has the database (SQL) but not the server's configuration: they
rewrite a chain consistently (every hash recomputed with engine.audit.chain_hash, the head
moved), which the chain alone cannot tell.
"""

import json
import secrets
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL, config, mute_logger

from .. import const
from ..engine import audit, audit_anchor, timestamp
from ..engine.testing import pki
from .common import DigitalSignCommon, signature_data_url

KEY = secrets.token_urlsafe(32)
OLD_KEY = secrets.token_urlsafe(32)
PNG_SIGNATURE = signature_data_url()


@tagged("post_install", "-at_install")
class TestAuditAnchors(DigitalSignCommon):
    registry_test_mode = True  # the scheduled actions' cursors see this test's data

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()
        cls.pki = pki.Pki(label="digital_sign anchor test")
        cls.tsa = cls.pki.timestamp_server()
        cls.tsa.start()
        cls.addClassCleanup(cls.tsa.stop)
        cls.env["ir.config_parameter"].sudo().set_param("digital_sign.allow_loopback_tsa", "1")

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # The TSA client gives requests a (connect, read) timeout; Odoo's test handler compares
        # the timeout with a number. Local requests (the test TSA) pass, others stay blocked.
        if isinstance(kw.get("timeout"), tuple):
            kw["timeout"] = max(kw["timeout"])
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        timestamp.reset_breaker()
        self.tsa.set_mode("ok")

    # === helpers === #
    def _use_key(self, *keys):
        """The anchor key of odoo.conf (``digital_sign_anchor_key``), for this test."""
        config[const.ANCHOR_KEY_OPTION] = ",".join(keys)
        self.addCleanup(config.options.pop, const.ANCHOR_KEY_OPTION, None)

    def _signed_request(self, **values):
        request = self._create_request(**values)
        request.action_send()
        participant = request.participant_ids
        result = participant._submit(
            {
                str(f.id): PNG_SIGNATURE
                for f in request.field_ids
                if f.participant_id == participant and f.kind in ("signature", "initials")
            },
            True,
            request.original_sha256,
            ip="198.51.100.7",
            user_agent="AnchorTest/1.0",
        )
        self.assertEqual(result["status"], "ok", result)
        self.assertEqual(request.state, "signed")
        return request

    def _rewrite(self, request, sequence, details):
        """What an insider with database access does: change one event, recompute every
        hash from there with the chain's own function, and move the head."""
        cr = self.env.cr
        self.env.flush_all()
        events = request.sudo().event_ids.sorted("sequence")
        cr.execute(
            SQL(
                "UPDATE digital_sign_event SET details = %s WHERE id = %s",
                details,
                events.filtered(lambda e: e.sequence == sequence).id,
            )
        )
        self.env.invalidate_all()
        prev = audit.GENESIS
        for event in events:
            digest = audit.chain_hash(prev, event._hash_values())
            cr.execute(
                SQL(
                    "UPDATE digital_sign_event SET prev_hash = %s, hash = %s WHERE id = %s",
                    prev,
                    digest,
                    event.id,
                )
            )
            prev = digest
        cr.execute(
            SQL("UPDATE digital_sign_request SET audit_head = %s WHERE id = %s", prev, request.id)
        )
        self.env.invalidate_all()

    def _verify(self, request):
        params = request.action_verify_integrity()["params"]
        return params["type"], params["message"]

    def _anchors(self, request):
        return (
            self.env["digital.sign.anchor"]
            .sudo()
            .search([("request_id", "=", request.id)], order="sequence, id")
        )

    # === tests === #
    def test_signing_anchors_the_head_and_an_untouched_chain_verifies(self):
        self._use_key(KEY)
        request = self._signed_request()
        anchors = self._anchors(request)
        events = request.sudo().event_ids
        by_type = {e.event_type: e for e in events}
        self.assertEqual(
            [(a.trigger, a.mode, a.sequence) for a in anchors],
            [
                ("signed", "hmac", by_type["signed"].sequence),
                ("completed", "hmac", by_type["completed"].sequence),
            ],
        )
        self.assertEqual(anchors.mapped("key_id"), [audit_anchor.key_id(KEY.encode())] * 2)
        self.assertEqual(anchors[-1].head_hash, request.sudo().audit_head)
        self.assertNotIn(KEY, json.dumps(anchors.read(["key_id", "value"])), "no key in the db")
        self.assertIsNone(request._check_integrity())
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "success")
        self.assertIn("anchored outside the database up to its last event", message)

    def test_a_consistent_rewrite_is_reported_once_anchored(self):
        self._use_key(KEY)
        request = self._signed_request()
        anchored_at = self._anchors(request)[0].anchored_at
        self._rewrite(request, 2, '{"deadline": "2099-01-01 00:00:00"}')
        event, reason = request._check_integrity()
        self.assertEqual(event.sequence, self._anchors(request)[0].sequence)
        self.assertIn("rewritten after it was anchored at", reason)
        self.assertIn(request._format_time(anchored_at), reason)
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "danger")
        self.assertIn("rewritten after it was anchored", message)
        anchors = self._anchors(request)
        with mute_logger("odoo.addons.digital_sign.models.digital_sign_anchor"):
            self.env.ref("digital_sign.ir_cron_anchor_audit_trails").method_direct_trigger()
        self.assertEqual(
            self._anchors(request), anchors, "the daily run does not vouch for a rewritten trail"
        )

    def test_without_an_anchor_the_same_rewrite_is_not_passed_off_as_anchored(self):
        request = self._signed_request()
        self.assertFalse(self._anchors(request))
        self._rewrite(request, 2, '{"deadline": "2099-01-01 00:00:00"}')
        self.assertIsNone(request._check_integrity(), "the chain alone cannot tell")
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "warning")
        self.assertIn(
            "not anchored outside the database: configure digital_sign_anchor_key", message
        )

    def test_anchors_moved_or_removed_with_sql_are_not_trusted(self):
        self._use_key(KEY)
        request = self._signed_request()
        anchors = self._anchors(request)
        self._rewrite(request, 2, '{"deadline": "2099-01-01 00:00:00"}')
        cr = self.env.cr
        hashes = {e.sequence: e.hash for e in request.sudo().event_ids}
        with cr.savepoint(flush=False) as savepoint:
            for anchor in anchors:  # the insider moves the anchors onto the new chain
                cr.execute(
                    SQL(
                        "UPDATE digital_sign_anchor SET head_hash = %s WHERE id = %s",
                        hashes[anchor.sequence],
                        anchor.id,
                    )
                )
            self.env.invalidate_all()
            _event, reason = request._check_integrity()
            self.assertIn("does not verify", reason)
            savepoint.rollback()
        cr.execute(SQL("DELETE FROM digital_sign_anchor WHERE request_id = %s", request.id))
        self.env.invalidate_all()
        self.assertIsNone(request._check_integrity())
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "warning", "no anchor left: never reported as anchored")
        self.assertIn("not anchored outside the database yet", message)

    def test_the_daily_run_anchors_the_chains_that_moved(self):
        self._use_key(KEY)
        cron = self.env.ref("digital_sign.ir_cron_anchor_audit_trails")
        draft = self._create_request(name="Never sent")
        request = self._create_request(name="Sent")
        request.action_send()
        self.assertFalse(self._anchors(request), "sending is not a signature")
        day = fields.Datetime.now().replace(microsecond=0) + timedelta(days=1)
        with freeze_time(day):
            cron.method_direct_trigger()
        anchor = self._anchors(request)
        self.assertEqual((anchor.trigger, anchor.mode, anchor.anchored_at), ("daily", "hmac", day))
        self.assertEqual(anchor.sequence, max(request.sudo().event_ids.mapped("sequence")))
        self.assertFalse(self._anchors(draft), "a draft is no evidence yet")
        with freeze_time(day + timedelta(days=1)):
            cron.method_direct_trigger()
        self.assertEqual(len(self._anchors(request)), 1, "a chain that did not move is not")
        request._log_event("viewed", participant=request.participant_ids)
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "info")
        self.assertIn(f"up to event #{anchor.sequence}", message)
        with freeze_time(day + timedelta(days=2)):
            cron.method_direct_trigger()
        self.assertEqual(len(self._anchors(request)), 2)
        self.assertEqual(self._verify(request)[0], "success")

    def test_signatures_are_timestamped_and_the_timestamp_alone_catches_a_rewrite(self):
        company = self.env.company
        company.digital_sign_tsa_url = self.tsa.url
        cron = self.env.ref("digital_sign.ir_cron_anchor_signatures")
        request = self._signed_request()
        self.assertFalse(self._anchors(request), "no key: the timestamp follows the commit")
        self.tsa.set_mode("unavailable")
        with mute_logger("odoo.addons.digital_sign.models.digital_sign_anchor"):
            cron.method_direct_trigger()
        self.assertFalse(self._anchors(request), "a TSA that is down anchors nothing")
        self.tsa.set_mode("ok")
        timestamp.reset_breaker()
        tokens = self.tsa.tokens_issued
        cron.method_direct_trigger()
        anchor = self._anchors(request)
        self.assertEqual((anchor.mode, anchor.head_hash), ("tsa", request.sudo().audit_head))
        self.assertEqual(self.tsa.tokens_issued, tokens + 1)
        self.assertIn("anchor test TSA", anchor.tsa_subject)
        self.assertTrue(company.digital_sign_tsa_certificates, "the TSA's chain is trusted")
        cron.method_direct_trigger()
        self.assertEqual(self.tsa.tokens_issued, tokens + 1, "one token per head")
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "success")
        self.assertIn("RFC 3161 timestamp", message)
        self._rewrite(request, 2, '{"deadline": "2099-01-01 00:00:00"}')
        _event, reason = request._check_integrity()
        self.assertIn("rewritten after it was anchored", reason)

    def test_anchors_cannot_be_changed_or_deleted_by_anyone(self):
        self._use_key(KEY)
        request = self._signed_request()
        anchor = self._anchors(request)[0]
        admin = self.env.ref("base.user_admin")
        for env in (
            self.env(user=self.user_a),
            self.env(user=self.manager),
            self.env(user=admin),
            self.env(su=True),
        ):
            with self.subTest(user=env.user.login, su=env.su):
                with self.assertRaises(UserError):
                    anchor.with_env(env).write({"head_hash": "0" * 64})
                with self.assertRaises(UserError):
                    anchor.with_env(env).unlink()
                with self.assertRaises(UserError):
                    env["digital.sign.anchor"].create(
                        {"request_id": request.id, "mode": "hmac", "head_hash": "0" * 64}
                    )
        self.assertEqual(anchor.sudo().head_hash, self._anchors(request)[0].head_hash)
        self.assertIsNone(request._check_integrity())

    def test_rotated_keys_verify_older_anchors_and_a_missing_key_is_said(self):
        self._use_key(OLD_KEY)
        request = self._signed_request()
        self._use_key(KEY, OLD_KEY)
        self.assertEqual(self._verify(request)[0], "success")
        self._use_key(KEY)
        notif_type, message = self._verify(request)
        self.assertEqual(notif_type, "warning")
        self.assertIn(audit_anchor.key_id(OLD_KEY.encode()), message)
        self.assertIn("could not be checked", message)

    def test_the_settings_say_how_trails_are_anchored(self):
        def status():
            return self.env["res.config.settings"].create({}).digital_sign_anchor_status

        self.assertIn("not anchored outside the database", status())
        self._use_key(KEY)
        self.assertIn(audit_anchor.key_id(KEY.encode()), status())
        self.env.company.digital_sign_tsa_url = self.tsa.url
        self.assertIn(self.tsa.url, status())
        self._use_key("short")
        self.assertIn("too short", status())
