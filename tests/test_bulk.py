from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_cron import IrCron

from ..models.digital_sign_bulk import DigitalSignBulkLine
from .test_template import DigitalSignTemplateCommon


class WorkerKilled(BaseException):
    """Stands for a worker killed in the middle of a batch (not an Exception: nothing in
    the flow may catch it)."""


@tagged("post_install", "-at_install")
class TestDigitalSignBulk(DigitalSignTemplateCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Bulk to contacts: the Seller role is the sender.
        cls.template.role_ids.filtered(lambda r: r.name == "Seller").sudo().fill_from = "sender"
        cls.contacts = cls.env["res.partner"].create(
            [
                {
                    "name": f"Recipient {index}",
                    "email": f"recipient{index}@example.com",
                    "country_id": cls.env.ref("base.se").id,
                }
                for index in range(7)
            ]
        )

    def _requests_of(self, records):
        return self.env["digital.sign.request"].search(
            [("res_model", "=", records._name), ("res_id", "in", records.ids)]
        )

    def _invitations_of(self, sign_requests):
        return (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "in", sign_requests.participant_ids.ids)])
        )

    def _start(self, records, user=None, template=None):
        wizard = (
            self.env["digital.sign.bulk.send"]
            .with_user(user or self.user_a)
            .with_context(
                active_model=records._name,
                active_ids=records.ids,
            )
            .create({"template_id": (template or self.template).id})
        )
        action = wizard.action_start()
        return self.env["digital.sign.bulk"].browse(action["res_id"])

    def _run_cron(self):
        """The scheduled action, with each of its commits simulated by a savepoint (a test
        cannot commit): returns the fake commit that a crash rolls back to."""
        cr = self.env.cr

        def commit_progress(cron, processed=0, remaining=None, deactivate=False):
            cron.env.flush_all()
            cr.execute("SAVEPOINT bulk_commit")
            return float("inf")

        with patch.object(IrCron, "_commit_progress", commit_progress):
            self.env["digital.sign.bulk"]._cron_process_bulk_sends()

    def test_bulk_send_with_refused_recipients(self):
        """Each reachable record gets its own request, link and audit trail; a recipient
        without an e-mail address (or with an unusable mobile on an SMS role) is refused
        with the reason, and the others go on."""
        no_email = self.contacts[2]
        no_email.email = False
        sms_template = self._create_template("SMS agreement")
        sms_template.role_ids.filtered(lambda r: r.name == "Seller").sudo().fill_from = "sender"
        sms_template.role_ids.filtered(lambda r: r.name == "Customer").sudo().write(
            {"invite_channel": "sms", "otp_channel": "none"}
        )
        bad_mobile = self.contacts[3]
        bad_mobile.phone = "12"
        bulk = self._start(self.contacts, user=self.user_a)
        self.assertEqual((bulk.state, bulk.total_count, bulk.pending_count), ("running", 7, 7))
        self._run_cron()
        bulk.invalidate_recordset()
        self.assertEqual(bulk.state, "done")
        self.assertEqual((bulk.sent_count, bulk.refused_count), (6, 1))
        refused = bulk.line_ids.filtered(lambda line: line.state == "refused")
        self.assertEqual(refused.res_id, no_email.id)
        self.assertIn("e-mail", refused.reason)
        self.assertEqual(bulk.progress, 100.0)
        sign_requests = self._requests_of(self.contacts)
        self.assertEqual(len(sign_requests), 6)
        self.assertEqual(
            sorted(sign_requests.mapped("res_id")), sorted((self.contacts - no_email).ids)
        )
        self.assertEqual(sign_requests.mapped("state"), ["sent"] * 6)
        self.assertEqual(sign_requests.user_id, self.user_a)
        self.assertEqual(len(set(sign_requests.mapped("reference"))), 6)
        self.assertTrue(
            all(r.event_ids.filtered(lambda e: e.event_type == "invited") for r in sign_requests)
        )
        self.assertEqual(
            len(self._invitations_of(sign_requests)),
            12,
            "two roles each, invitations queued (not sent synchronously)",
        )
        # The SMS template: an unusable number is refused, the rest go on.
        sms_bulk = self._start(self.contacts[3:5], template=sms_template)
        self._run_cron()
        sms_bulk.invalidate_recordset()
        line = sms_bulk.line_ids.filtered(lambda line: line.res_id == bad_mobile.id)
        self.assertEqual(line.state, "refused")
        self.assertIn("not a valid mobile", line.reason)

    def test_resume_after_interrupted_batch(self):
        """A batch commits its recipients together: a worker killed in the middle of a batch
        loses that batch only, and the next run sends to exactly the recipients left (none
        twice, none skipped)."""
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.bulk_batch_size", 3)
        bulk = self._start(self.contacts)
        cr = self.env.cr
        cr.execute("SAVEPOINT bulk_commit")  # the wizard's transaction was committed
        self._run_cron()  # the first batch: 3 recipients, committed
        self.assertEqual(bulk.line_ids.mapped("state"), ["sent"] * 3 + ["pending"] * 4)
        original = DigitalSignBulkLine._send_batch
        batches = []

        def send_then_die(lines):
            batches.append(lines.mapped("res_id"))
            original(lines)  # the requests are made and their invitations queued...
            raise WorkerKilled()  # ...then the worker dies before the batch is committed

        # Not assertRaises: Odoo's rolls its whole block back, commits included.
        killed = False
        try:
            with patch.object(DigitalSignBulkLine, "_send_batch", send_then_die):
                self._run_cron()
        except WorkerKilled:
            killed = True
        self.assertTrue(killed)
        self.assertEqual(batches, [self.contacts[3:6].ids])
        cr.execute("ROLLBACK TO SAVEPOINT bulk_commit")  # what was not committed is lost
        self.env.invalidate_all()
        self.assertEqual(bulk.line_ids.mapped("state"), ["sent"] * 3 + ["pending"] * 4)
        self.assertEqual(len(self._requests_of(self.contacts)), 3)
        self.assertEqual(len(self._invitations_of(self._requests_of(self.contacts))), 6)
        self._run_cron()  # the restart: the next runs pick up where the last commit left it
        self._run_cron()
        self.assertEqual(bulk.line_ids.mapped("state"), ["sent"] * 7)
        self._run_cron()  # nothing left: nothing happens
        bulk.invalidate_recordset()
        self.assertEqual(bulk.state, "done")
        sent = self._requests_of(self.contacts)
        self.assertEqual(
            sorted(sent.mapped("res_id")), sorted(self.contacts.ids), "no one skipped, no one twice"
        )
        self.assertEqual(len(self._invitations_of(sent)), 14, "one invitation per participant")
        self.assertEqual(bulk.line_ids.request_id, sent)

    def test_problem_at_sending_refuses_that_recipient_only(self):
        """A problem the checks before the batch cannot see (here: the contact already has
        a live document of that name) stops the batch; each recipient is then sent on its
        own, and only that one is refused, with the reason."""
        taken = self.contacts[4]
        self._send_with_wizard(taken.with_user(self.user_a), self.user_a)
        bulk = self._start(self.contacts)
        self._run_cron()
        bulk.invalidate_recordset()
        self.assertEqual((bulk.state, bulk.sent_count, bulk.refused_count), ("done", 6, 1))
        refused = bulk.line_ids.filtered(lambda line: line.state == "refused")
        self.assertEqual(refused.res_id, taken.id)
        self.assertIn("already has a document", refused.reason)
        sent = bulk.line_ids.request_id
        self.assertEqual(sorted(sent.mapped("res_id")), sorted((self.contacts - taken).ids))
        self.assertEqual(len(self._invitations_of(sent)), 12)

    def test_queries_per_recipient(self):
        """A batch of 50 recipients costs at most 10 SQL queries per recipient (it cost 69
        when each recipient was sent on its own): the requests, participants, places,
        events, invitations and chatter of a batch are written together. Behaviour stays
        the same: each recipient has their own request, link, audit trail and invitation."""
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.bulk_batch_size", 50)
        contacts = self.env["res.partner"].create(
            [
                {"name": f"Batch {index}", "email": f"batch{index}@example.com"}
                for index in range(50)
            ]
        )
        bulk = self._start(contacts)
        self.env.flush_all()
        count_before = self.cr.sql_log_count
        self._run_cron()
        self.env.flush_all()
        queries = self.cr.sql_log_count - count_before
        bulk.invalidate_recordset()
        self.assertEqual((bulk.state, bulk.sent_count), ("done", 50))
        self.assertLessEqual(queries / 50, 10, f"{queries} queries for 50 recipients")
        sign_requests = bulk.line_ids.request_id
        self.assertEqual(sorted(sign_requests.mapped("res_id")), sorted(contacts.ids))
        self.assertEqual(len(set(sign_requests.mapped("reference"))), 50)
        mails = self._invitations_of(sign_requests)
        self.assertEqual(len(mails), 100, "two roles each: one invitation per participant")
        tokens = set()
        for sign_request in sign_requests:
            self.assertIsNone(sign_request._check_integrity(), "its own intact audit trail")
            self.assertEqual(
                sign_request.event_ids.sorted("sequence").mapped("event_type"),
                ["created", "sent", "invited", "invited"],
            )
            for participant in sign_request.participant_ids:
                mail = mails.filtered(lambda m, p=participant: m.digital_sign_participant_id == p)
                url = participant._get_signing_url()
                self.assertEqual(len(mail), 1)
                self.assertIn(url, mail.body_html, "each invitation carries its own link")
                self.assertEqual(mail.email_to, participant.email)
                tokens.add(url)
        self.assertEqual(len(tokens), 100)
        # All the copies share the template's file (one file in the store).
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "digital.sign.request"),
                    ("res_id", "in", sign_requests.ids),
                    ("res_field", "=", "original_pdf"),
                ]
            )
        )
        self.assertEqual(len(attachments), 50)
        self.assertEqual(len(set(attachments.mapped("store_fname"))), 1)
        self.assertEqual(set(sign_requests.mapped("original_sha256")), {self.template.pdf_sha256})

    def test_queue_limit_pauses(self):
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.bulk_max_queue", 3)
        bulk = self._start(self.contacts[:3])
        self._run_cron()  # 6 invitations queued: over the limit now
        bulk.invalidate_recordset()
        self.assertEqual(bulk.sent_count, 3)
        bulk2 = self._start(self.contacts[3:5])
        self._run_cron()
        bulk2.invalidate_recordset()
        self.assertEqual((bulk2.state, bulk2.pending_count), ("paused", 2))
        self.env["mail.mail"].sudo().search([("state", "=", "outgoing")]).state = "sent"
        self._run_cron()
        bulk2.invalidate_recordset()
        self.assertEqual((bulk2.state, bulk2.sent_count), ("done", 2))

    def test_bulk_access(self):
        """Users read their own bulk sends only and never write them; a mandatory role the
        sender must fill cannot go in bulk."""
        bulk = self._start(self.contacts[:2])
        with mute_logger("odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_rule"):
            with self.assertRaises(AccessError):
                bulk.with_user(self.user_a).write({"state": "done"})
            with self.assertRaises(AccessError):
                bulk.with_user(self.user_b).read(["name"])
            with self.assertRaises(AccessError):
                self.env["digital.sign.bulk"].with_user(self.user_a).create(
                    {"name": "x", "template_id": self.template.id, "res_model": "res.partner"}
                )
        self.template.role_ids.filtered(lambda r: r.name == "Seller").sudo().fill_from = "manual"
        with self.assertRaisesRegex(UserError, "Seller"):
            self._start(self.contacts[:2])
