"""Several Odoo servers on one database (issue 17): background jobs and participants meet on
one document, each in a transaction of its own worker.

Each test commits its documents from a connection of its own, then plays two workers with two
real database connections of the test database (``registry.cursor()`` outside test mode), the
way two servers' workers meet: one holds the document while the other acts. A wait that the
fixes remove is bounded by ``lock_timeout``, so a regression fails the test instead of hanging
it. Everything committed is removed afterwards.
"""

import contextlib
from datetime import timedelta
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.base.models.ir_cron import IrCron
from odoo.addons.base.tests.common import MockSmtplibCase
from odoo.addons.sms.tools.sms_api import SmsApi

from ..models.digital_sign_request import DigitalSignRequest
from .common import DigitalSignCommon, b64, make_pdf, person, signature_data_url


def fake_seal(request, pdf):
    """The seal, without the company's key (made once per database, and other tests expect
    to make it): these tests are about who holds the document, not about sealing."""
    request.sudo().seal_state = "sealed"
    request._log_event("sealed", details={"level": "test"})
    return pdf


@tagged("post_install", "-at_install")
class TestSeveralWorkers(TransactionCase, MockSmtplibCase):
    # pylint: disable=invalid-commit  # each worker is a connection of its own, as on a server
    @contextlib.contextmanager
    def _worker(self, lock_timeout="2s"):
        """A transaction of another worker: committed on success, rolled back on error."""
        cr = self.registry.cursor()
        try:
            cr.execute(SQL("SET lock_timeout = %s", lock_timeout))
            yield api.Environment(cr, SUPERUSER_ID, {})
            cr.commit()
        finally:
            cr.rollback()
            cr.execute("RESET lock_timeout")
            cr.commit()
            cr.close()

    def _committed_request(self, name, **participant):
        """A sent request with one participant (Cara, with ``participant``'s values),
        committed; its id."""
        with self._worker() as env:
            request = env["digital.sign.request"].create(
                {
                    "name": name,
                    "original_pdf": b64(make_pdf()),
                    "original_filename": "contract.pdf",
                    "participant_ids": [Command.create(person("Cara", "Customer", **participant))],
                }
            )
            request._detect_fields()
            request.action_send()
            request_id = request.id
        self.addCleanup(self._remove_committed, request_id)
        return request_id

    def _remove_committed(self, request_id):
        with self._worker() as env:
            cr = env.cr
            cr.execute(
                SQL(
                    "SELECT id, mail_message_id FROM mail_mail WHERE digital_sign_participant_id "
                    "IN (SELECT id FROM digital_sign_participant WHERE request_id = %s)",
                    request_id,
                )
            )
            mails = cr.fetchall()
            message_ids = [row[1] for row in mails] or [0]
            cr.execute(
                SQL(
                    "SELECT id FROM mail_message WHERE model = 'digital.sign.request' "
                    "AND res_id = %s",
                    request_id,
                )
            )
            message_ids += [row[0] for row in cr.fetchall()]
            statements = [
                SQL(
                    "DELETE FROM ir_attachment WHERE id IN (SELECT attachment_id FROM "
                    "message_attachment_rel WHERE message_id IN %s)",
                    tuple(message_ids),
                ),
                SQL("DELETE FROM mail_mail WHERE id IN %s", tuple(r[0] for r in mails) or (0,)),
                SQL(
                    "DELETE FROM sms_sms WHERE digital_sign_participant_id IN "
                    "(SELECT id FROM digital_sign_participant WHERE request_id = %s)",
                    request_id,
                ),
                SQL("DELETE FROM mail_message WHERE id IN %s", tuple(message_ids)),
                SQL(
                    "DELETE FROM mail_followers WHERE res_model = 'digital.sign.request' "
                    "AND res_id = %s",
                    request_id,
                ),
                SQL(
                    "DELETE FROM ir_attachment WHERE res_model = 'digital.sign.request' "
                    "AND res_id = %s",
                    request_id,
                ),
                SQL("DELETE FROM digital_sign_event WHERE request_id = %s", request_id),
                SQL("DELETE FROM digital_sign_request WHERE id = %s", request_id),
            ]
            for statement in statements:
                cr.execute(statement)

    def _events(self, env, request_id, event_type):
        return (
            env["digital.sign.event"]
            .sudo()
            .search_count([("request_id", "=", request_id), ("event_type", "=", event_type)])
        )

    def _sign(self, env, request_id):
        request = env["digital.sign.request"].browse(request_id)
        values = {str(field.id): signature_data_url() for field in request.field_ids}
        return request.participant_ids._submit(values, True, request.original_sha256)

    # === the final document === #
    def test_a_final_document_is_made_once_while_another_worker_writes_its_trail(self):
        """While a worker builds and seals the final document, another server's mail queue
        logs that an e-mail of this document left. Without the document locked for the
        whole step, that log commits in the middle, and the final document's own writes then
        fail after the seal was made (the step is lost, and retried: a second seal). Now the
        other worker waits, and goes on once the final document is stored."""
        request_id = self._committed_request("Cluster final document")
        with self._worker() as env:
            self.assertEqual(self._sign(env, request_id), {"status": "ok"})
        intruder = {}

        def log_delivery_elsewhere():
            try:
                with self._worker(lock_timeout="1s") as env:
                    participant = env["digital.sign.request"].browse(request_id).participant_ids
                    participant._log_message_outcome("email", "invitation", True)
                intruder["outcome"] = "written"
            except pg_errors.LockNotAvailable:
                intruder["outcome"] = "waited"

        def build(request):
            log_delivery_elsewhere()
            return make_pdf()

        with (
            patch.object(DigitalSignRequest, "_build_final_document", build),
            patch.object(DigitalSignRequest, "_seal_final_document", fake_seal),
            self._worker() as env,
        ):
            env["digital.sign.request"]._cron_finalize_documents()
        self.assertEqual(intruder["outcome"], "waited", "the document is held while it is built")
        log_delivery_elsewhere()  # the other worker's retry
        self.assertEqual(intruder["outcome"], "written")
        with self._worker() as env:
            request = env["digital.sign.request"].browse(request_id)
            self.assertEqual(request.finalize_state, "done")
            self.assertEqual(self._events(env, request_id, "finalized"), 1)
            self.assertEqual(self._events(env, request_id, "sealed"), 1)
            self.assertEqual(self._events(env, request_id, "message_sent"), 1)
            self.assertEqual(
                env["ir.attachment"].search_count(
                    [
                        ("res_model", "=", "digital.sign.request"),
                        ("res_id", "=", request_id),
                        ("name", "=like", "%(signed).pdf"),
                    ]
                ),
                1,
            )
            self.assertIsNone(request._check_integrity())

    def test_a_busy_document_waits_for_the_next_run_of_the_final_document_job(self):
        """A document held by another transaction is left for the next run, which is asked
        for at once; then it is made once."""
        request_id = self._committed_request("Cluster busy final document")
        with self._worker() as env:
            self._sign(env, request_id)
        cron = self.env.ref("digital_sign.ir_cron_finalize_documents")
        with self._worker() as holder:
            holder["digital.sign.request"].browse(request_id)._lock_for_update()
            with self._worker() as env:
                triggers = env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
                env["digital.sign.request"]._cron_finalize_documents()
                self.assertEqual(
                    env["digital.sign.request"].browse(request_id).finalize_state, "pending"
                )
                self.assertEqual(
                    env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
                    triggers + 1,
                )
        with (
            patch.object(DigitalSignRequest, "_build_final_document", lambda r: make_pdf()),
            patch.object(DigitalSignRequest, "_seal_final_document", fake_seal),
            self._worker() as env,
        ):
            env["digital.sign.request"]._cron_finalize_documents()
            self.assertEqual(env["digital.sign.request"].browse(request_id).finalize_state, "done")
            self.assertEqual(self._events(env, request_id, "finalized"), 1)

    # === e-mails of the flow === #
    def test_an_email_whose_document_is_busy_waits_then_leaves_once(self):
        """The invitation leaves while its participant signs on another server. Sent at
        once, its log in the audit trail would wait for the signature, fail, and the queue
        would send it again. Now it waits in the queue, and leaves once."""
        request_id = self._committed_request("Cluster invitation")
        with self._worker() as env:
            mail = env["mail.mail"].search(
                [
                    ("digital_sign_participant_id.request_id", "=", request_id),
                    ("digital_sign_purpose", "=", "invitation"),
                ]
            )
            self.assertEqual(len(mail), 1)
            mail_id = mail.id
        queue = self.env.ref("mail.ir_cron_mail_scheduler_action")
        with self.mock_smtplib_connection():
            with self._worker() as signer:
                self.assertEqual(self._sign(signer, request_id), {"status": "ok"})
                with self._worker() as env:
                    triggers = env["ir.cron.trigger"].search_count([("cron_id", "=", queue.id)])
                    env["mail.mail"].browse(mail_id).send(auto_commit=True)
                    self.assertEqual(self.emails, [], "nothing left while the document is busy")
                    self.assertEqual(env["mail.mail"].browse(mail_id).state, "outgoing")
                    self.assertEqual(
                        env["ir.cron.trigger"].search_count([("cron_id", "=", queue.id)]),
                        triggers + 1,
                        "the queue is asked to run again",
                    )
            with self._worker() as env:
                env["mail.mail"].browse(mail_id).send(auto_commit=True)
                env["mail.mail"].browse(mail_id).send(auto_commit=True)  # a replayed run
            self.assertEqual(len(self.emails), 1)
            self.assertIn("cara@example.com", self.emails[0]["smtp_to_list"])
        with self._worker() as env:
            self.assertFalse(
                env["mail.mail"].search([("id", "=", mail_id), ("state", "=", "outgoing")]),
                "sent (and deleted, as its template says)",
            )
            self.assertEqual(self._events(env, request_id, "message_sent"), 1)
            self.assertIsNone(env["digital.sign.request"].browse(request_id)._check_integrity())

    # === SMS of the flow === #
    def test_an_sms_whose_document_is_busy_waits_then_leaves_once(self):
        """The invitation SMS leaves while its participant signs on another server. Sent in
        the queue's batch, its log in the audit trail would wait for the signature, fail
        after the gateway took it, and the queue would send it again. Now it waits in the
        queue, which is asked to run again, and leaves once."""
        request_id = self._committed_request(
            "Cluster SMS", invite_channel="sms", mobile="+46 70 123 45 67"
        )
        with self._worker() as env:
            sms = env["sms.sms"].search(
                [("digital_sign_participant_id.request_id", "=", request_id)]
            )
            self.assertEqual(len(sms), 1)
            self.assertEqual(sms.state, "outgoing")
            sms_id = sms.id
        gateway = []

        def send_sms_batch(_api, messages, delivery_reports_url=False):
            numbers = [number for message in messages for number in message["numbers"]]
            gateway.extend(number["number"] for number in numbers)
            return [{"uuid": number["uuid"], "state": "success"} for number in numbers]

        queue = self.env.ref("sms.ir_cron_sms_scheduler_action")
        with patch.object(SmsApi, "_send_sms_batch", send_sms_batch):
            with self._worker() as signer:
                self.assertEqual(self._sign(signer, request_id), {"status": "ok"})
                with self._worker() as env:
                    triggers = env["ir.cron.trigger"].search_count([("cron_id", "=", queue.id)])
                    env["sms.sms"]._process_queue()
                    self.assertNotIn("+46701234567", gateway, "nothing left while it is busy")
                    self.assertEqual(env["sms.sms"].browse(sms_id).state, "outgoing")
                    self.assertEqual(
                        env["ir.cron.trigger"].search_count([("cron_id", "=", queue.id)]),
                        triggers + 1,
                        "the queue is asked to run again",
                    )
            with self._worker() as env:
                env["sms.sms"]._process_queue()
                env["sms.sms"]._process_queue()  # a replayed run
        self.assertEqual(gateway.count("+46701234567"), 1)
        with self._worker() as env:
            self.assertFalse(
                env["sms.sms"].search([("id", "=", sms_id), ("state", "=", "outgoing")]),
                "sent",
            )
            self.assertEqual(self._events(env, request_id, "message_sent"), 1)
            self.assertIsNone(env["digital.sign.request"].browse(request_id)._check_integrity())

    # === reminders === #
    def _make_due(self, request_id):
        with self._worker() as env:
            env["digital.sign.request"].browse(request_id).participant_ids.sudo().write(
                {"invited_at": fields.Datetime.now() - timedelta(days=4)}
            )

    def _reminders(self, env, request_id):
        return env["mail.mail"].search_count(
            [
                ("digital_sign_participant_id.request_id", "=", request_id),
                ("digital_sign_purpose", "=", "reminder"),
            ]
        )

    def test_no_reminder_for_a_participant_who_signs_while_the_job_runs(self):
        """The reminder job found the participant due, then the participant signed on
        another server before the job reached them: no reminder (the job acted on what it
        had read before)."""
        request_id = self._committed_request("Cluster reminder")
        self._make_due(request_id)
        commit_progress = IrCron._commit_progress
        signed = []

        def sign_after_the_search(cron, processed=0, **kwargs):
            result = commit_progress(cron, processed, **kwargs)
            if not signed:
                with self._worker() as signer:
                    signed.append(self._sign(signer, request_id))
            return result

        with (
            patch.object(IrCron, "_commit_progress", sign_after_the_search),
            self._worker() as env,
        ):
            env["digital.sign.request"]._cron_send_reminders()
        self.assertEqual(signed, [{"status": "ok"}])
        with self._worker() as env:
            self.assertEqual(self._reminders(env, request_id), 0)
            self.assertEqual(self._events(env, request_id, "reminded"), 0)
            self.assertEqual(env["digital.sign.request"].browse(request_id).state, "signed")

    def test_the_reminder_job_skips_a_document_being_signed(self):
        """A participant is signing on another server right now: the reminder job does not
        wait for them (nor fail); the next run finds them signed."""
        request_id = self._committed_request("Cluster reminder busy")
        self._make_due(request_id)
        with self._worker() as signer:
            self.assertEqual(self._sign(signer, request_id), {"status": "ok"})
            with self._worker() as env:
                env["digital.sign.request"]._cron_send_reminders()
                self.assertEqual(self._reminders(env, request_id), 0)
        with self._worker() as env:
            env["digital.sign.request"]._cron_send_reminders()
            self.assertEqual(self._reminders(env, request_id), 0)
            self.assertEqual(self._events(env, request_id, "reminded"), 0)
            self.assertIsNone(env["digital.sign.request"].browse(request_id)._check_integrity())


@tagged("post_install", "-at_install")
class TestClusterSafeguards(DigitalSignCommon):
    def test_queued_emails_wake_the_mail_queue_once_per_transaction(self):
        """Invitations leave at once, not at the queue's next hourly run: one wake-up per
        transaction, whatever the number of e-mails."""
        queue = self.env.ref("mail.ir_cron_mail_scheduler_action")
        Trigger = self.env["ir.cron.trigger"].sudo()
        before = Trigger.search_count([("cron_id", "=", queue.id)])
        request = self._create_request(
            pdf=self.pdf_two_roles,
            participants=[person("Ada", "Customer"), person("Ben", "Cosigner")],
        )
        request.action_send()
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "in", request.participant_ids.ids)])
        )
        self.assertEqual(len(mails), 2)
        self.assertEqual(Trigger.search_count([("cron_id", "=", queue.id)]), before + 1)

    def test_the_audit_trail_cannot_fork(self):
        """Two events with one sequence number in one chain are refused by the database."""
        request = self._create_request()
        request.action_send()
        last = request.sudo().event_ids.sorted("sequence")[-1]
        with self.assertRaises(pg_errors.UniqueViolation), mute_logger("odoo.sql_db"):
            self.env.cr.execute(
                SQL(
                    "INSERT INTO digital_sign_event (request_id, sequence, event_type, "
                    "event_date) VALUES (%s, %s, 'viewed', now())",
                    request.id,
                    last.sequence,
                )
            )
