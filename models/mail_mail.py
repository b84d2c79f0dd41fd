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
