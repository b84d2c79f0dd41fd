from odoo import fields, models
from odoo.exceptions import UserError


class DigitalSignRequestCancel(models.TransientModel):
    _name = "digital.sign.request.cancel"
    _description = "Cancel a Signature Request"

    # === FIELDS === #
    request_ids = fields.Many2many("digital.sign.request", required=True)
    reason = fields.Text(required=True)

    # === ACTIONS === #
    def action_cancel(self):
        self.ensure_one()
        for request in self.request_ids:
            request.check_access("write")
            if request.state not in ("draft", "sent", "viewed"):
                raise UserError(
                    self.env._(
                        "%(ref)s is %(state)s and can no longer be cancelled.",
                        ref=request.reference,
                        state=dict(request._fields["state"]._description_selection(self.env))[
                            request.state
                        ],
                    )
                )
        self.request_ids._set_cancelled(self.reason)
        return {"type": "ir.actions.act_window_close"}
