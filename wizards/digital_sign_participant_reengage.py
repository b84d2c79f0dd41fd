from odoo import api, fields, models
from odoo.exceptions import UserError


class DigitalSignParticipantReengage(models.TransientModel):
    """Re-engage a participant with new contact details (before they opened the link): the
    old link stops working at once and a new one is sent."""

    _name = "digital.sign.participant.reengage"
    _description = "Re-engage a Signature Participant"

    # === FIELDS === #
    participant_id = fields.Many2one("digital.sign.participant", required=True, readonly=True)
    current_contact = fields.Char(compute="_compute_current_contact")
    email = fields.Char("New E-mail")
    mobile = fields.Char("New Mobile")

    # === COMPUTE === #
    @api.depends("participant_id")
    def _compute_current_contact(self):
        for wizard in self:
            participant = wizard.participant_id
            wizard.current_contact = " / ".join(
                filter(None, (participant.email, participant.mobile))
            )

    # === ACTIONS === #
    def action_reengage(self):
        self.ensure_one()
        participant = self.participant_id
        participant.request_id.check_access("write")
        result = participant._reengage(
            email=self.email if self.email else None, mobile=self.mobile if self.mobile else None
        )
        if result["status"] == "closed":
            raise UserError(
                self.env._(
                    "%s already opened the link (or the document is closed): the contact can no "
                    "longer change.",
                    participant.name,
                )
            )
        if result["status"] != "ok":
            raise UserError(
                " ".join(result.get("errors", {}).values())
                or self.env._("Give a new e-mail address or mobile number.")
            )
        return {"type": "ir.actions.act_window_close"}
