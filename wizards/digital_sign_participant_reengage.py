from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import const


class DigitalSignParticipantReengage(models.TransientModel):
    """Re-engage a participant with new contact details, on the same channel or the other
    one (before they opened the link): the old link stops working at once and a new one is
    sent."""

    _name = "digital.sign.participant.reengage"
    _description = "Re-engage a Signature Participant"

    # === FIELDS === #
    participant_id = fields.Many2one("digital.sign.participant", required=True, readonly=True)
    current_contact = fields.Char(compute="_compute_current_contact")
    current_channel = fields.Selection(
        const.CHANNELS, related="participant_id.invite_channel", string="Invited By"
    )
    invite_channel = fields.Selection(
        const.CHANNELS,
        string="Re-engage By",
        compute="_compute_invite_channel",
        store=True,
        readonly=False,
        help="The channel of the new link: the participant invited by e-mail can be "
        "re-engaged by SMS, and the other way round. A one-time code then travels on the "
        "other channel.",
    )
    sms_allowed = fields.Boolean("SMS Allowed", compute="_compute_sms_allowed")
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

    @api.depends("participant_id")
    def _compute_invite_channel(self):
        for wizard in self:
            wizard.invite_channel = wizard.participant_id.invite_channel or "email"

    @api.depends("participant_id")
    def _compute_sms_allowed(self):
        for wizard in self:
            company = wizard.participant_id.request_id.company_id or self.env.company
            wizard.sms_allowed = company._digital_sign_sms_allowed()

    # === ACTIONS === #
    def action_reengage(self):
        self.ensure_one()
        participant = self.participant_id
        participant.request_id.check_access("write")
        result = participant._reengage(
            email=self.email if self.email else None,
            mobile=self.mobile if self.mobile else None,
            channel=self.invite_channel or None,
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
                or self.env._("Give a new e-mail address or mobile number, or another channel.")
            )
        return {"type": "ir.actions.act_window_close"}
