from psycopg2.errors import SerializationFailure

from odoo import api, fields, models

from .. import const

# The SMS the queue may send: Odoo's own domain (sms.sms._process_queue)
OUTGOING = [("state", "=", "outgoing"), ("to_delete", "!=", True)]


class SmsSms(models.Model):
    _inherit = "sms.sms"

    # === FIELDS === #
    digital_sign_participant_id = fields.Many2one(
        "digital.sign.participant", index="btree_not_null", ondelete="set null"
    )
    digital_sign_purpose = fields.Selection(const.MESSAGE_PURPOSES)

    # === BUSINESS === #
    @api.model
    def _process_queue(self):
        """The SMS queue (its scheduled action, which commits as it goes).

        An SMS of the signing flow logs its outcome in its document's audit trail, which
        locks the document. Sent in a batch while a participant signs that document on
        another server, the log would wait for the signature, fail after the SMS left, and
        the queue would roll back and send it again. So each such SMS goes in a transaction
        of its own that locks its document first (``_try_lock_for_job``); one whose document
        is busy stays queued, and the queue is asked to run again. Other SMS go through
        Odoo's queue unchanged.
        """
        self._send_signing_flow_sms()
        return super(SmsSms, self.with_context(digital_sign_sms_done=True))._process_queue()

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        records = self
        if self.env.context.get("digital_sign_sms_done"):
            # Odoo's queue, after ours: the SMS of the signing flow still queued wait for
            # their document (see _process_queue)
            records = self.filtered(lambda sms: not sms.digital_sign_participant_id)
            if not records:
                return None
        return super(SmsSms, records)._send(
            unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
        )

    @api.model
    def _send_signing_flow_sms(self):
        """Send the queued SMS of the signing flow, each in its own transaction that locks
        its document first (see ``_process_queue``)."""
        domain = [*OUTGOING, ("digital_sign_participant_id", "!=", False)]
        batch = self.search(domain, limit=self._get_send_batch_size(), order="id")
        jobs = [(sms.id, sms.digital_sign_participant_id.request_id.id) for sms in batch]

        def send(sms_id):
            try:
                with self.env.cr.savepoint(flush=False):
                    sms = self.browse(sms_id).try_lock_for_update().filtered_domain(domain)
            except SerializationFailure:  # sent by another server since: nothing to do
                return
            if sms:
                sms._send(unlink_failed=False, unlink_sent=True, raise_exception=False)

        self.env["digital.sign.request"].sudo()._run_each_locked(
            jobs, send, "sms.ir_cron_sms_scheduler_action", "SMS"
        )

    def _handle_call_result_hook(self, results):
        """Every SMS sent for a participant (invitation, reminder, code) lands in the audit
        trail with its outcome at the SMS provider."""
        super()._handle_call_result_hook(results)
        for sms in self.filtered("digital_sign_participant_id"):
            sms.digital_sign_participant_id._log_message_outcome(
                "sms", sms.digital_sign_purpose, sms.state != "error", sms.failure_type or ""
            )
