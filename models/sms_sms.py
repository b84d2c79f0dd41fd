from odoo import fields, models

from .. import const


class SmsSms(models.Model):
    _inherit = "sms.sms"

    # === FIELDS === #
    digital_sign_participant_id = fields.Many2one(
        "digital.sign.participant", index="btree_not_null", ondelete="set null"
    )
    digital_sign_purpose = fields.Selection(const.MESSAGE_PURPOSES)

    # === BUSINESS === #
    def _handle_call_result_hook(self, results):
        """Every SMS sent for a participant (invitation, reminder, code) lands in the audit
        trail with its outcome at the SMS provider."""
        super()._handle_call_result_hook(results)
        for sms in self.filtered("digital_sign_participant_id"):
            sms.digital_sign_participant_id._log_message_outcome(
                "sms", sms.digital_sign_purpose, sms.state != "error", sms.failure_type or ""
            )
