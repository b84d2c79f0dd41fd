from odoo import fields, models

from .. import const


class MailMail(models.Model):
    _inherit = "mail.mail"

    # === FIELDS === #
    digital_sign_participant_id = fields.Many2one(
        "digital.sign.participant", index="btree_not_null", ondelete="set null"
    )
    digital_sign_purpose = fields.Selection(const.MESSAGE_PURPOSES)
    digital_sign_copy_recipient_id = fields.Many2one(
        "digital.sign.copy.recipient",
        string="Recipient of the Signed Copy",
        index="btree_not_null",
        ondelete="set null",
    )

    # === BUSINESS === #
    def _send(
        self,
        auto_commit=False,
        raise_exception=False,
        smtp_session=None,
        alias_domain_id=False,
        mail_server=False,
        post_send_callback=None,
    ):
        """Send the e-mails of the signing flow one at a time, each with its document locked.

        The outcome of each of them is logged in the document's audit trail right after the
        mail server took it, in the same transaction. On several servers, a participant may
        be signing that document, or its final document being built, at that moment: the
        log would then fail after the e-mail left, the queue would roll back and send it a
        second time. So, when the queue commits as it goes (the scheduled action), each such
        e-mail starts a fresh transaction that locks its document before anything is sent;
        an e-mail whose document is busy stays in the queue, which is asked to run again at
        once. Other e-mails go through Odoo's loop unchanged.
        """
        ours = self.filtered("digital_sign_participant_id")
        options = {
            "auto_commit": auto_commit,
            "raise_exception": raise_exception,
            "smtp_session": smtp_session,
            "alias_domain_id": alias_domain_id,
            "mail_server": mail_server,
            "post_send_callback": post_send_callback,
        }
        if not ours or auto_commit is not True:
            return super()._send(**options)
        others = self - ours
        if others:
            super(MailMail, others)._send(**options)
        # Read before the loop: after each commit the lock must be the first statement.
        jobs = [(mail, mail.digital_sign_participant_id.request_id.id) for mail in ours]
        self.env["digital.sign.request"].sudo()._run_each_locked(
            jobs,
            lambda mail: super(MailMail, mail)._send(**options),
            "mail.ir_cron_mail_scheduler_action",
            "e-mails",
        )
        return True

    def _postprocess_sent_message(
        self, success_pids, success_emails, failure_reason=False, failure_type=None
    ):
        """Every e-mail sent to a participant (invitation, reminder, code, signed document)
        or to an extra recipient of the signed copy lands in the audit trail with its outcome
        at the mail server."""
        failed = bool(failure_type or failure_reason)
        for mail in self.filtered("digital_sign_participant_id"):
            participant = mail.digital_sign_participant_id.sudo()
            if participant:
                participant._log_message_outcome(
                    "email",
                    mail.digital_sign_purpose,
                    not failed,
                    failure_type or "",
                )
        for mail in self.filtered("digital_sign_copy_recipient_id"):
            recipient = mail.digital_sign_copy_recipient_id.sudo()
            if failed:
                recipient._set_failed(failure_reason or failure_type)
            else:
                recipient._set_sent(mail.message_id)
        return super()._postprocess_sent_message(
            success_pids, success_emails, failure_reason=failure_reason, failure_type=failure_type
        )
