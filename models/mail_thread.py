from odoo import api, models
from odoo.tools import html2plaintext


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        """A bounce of a signed copy sent to an extra recipient is recorded on that delivery
        and in its document's audit trail (found by the Message-Id the bounce refers to, as
        mass mailing's traces are)."""
        super()._routing_handle_bounce(email_message, message_dict)
        self.env["digital.sign.copy.recipient"]._process_bounce(
            message_dict.get("bounced_msg_ids") or [],
            message_dict.get("bounced_email"),
            html2plaintext(message_dict.get("body") or "").strip()[:500],
        )
