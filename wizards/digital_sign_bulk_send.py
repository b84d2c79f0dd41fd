from odoo import api, fields, models
from odoo.exceptions import UserError


class DigitalSignBulkSend(models.TransientModel):
    """ "Send for signature" on a selection of a list (contacts, tickets, quotations,
    opportunities): one template to each record, in the background."""

    _name = "digital.sign.bulk.send"
    _description = "Send a Template to Many Records"

    # === FIELDS === #
    res_model = fields.Char(
        required=True, readonly=True, default=lambda self: self._default_res_model()
    )
    res_ids = fields.Json(
        required=True, readonly=True, default=lambda self: self._default_res_ids()
    )
    record_count = fields.Integer("Recipients", compute="_compute_record_count")
    template_id = fields.Many2one(
        "digital.sign.template",
        required=True,
        domain="[('pdf_sha256', '!=', False)]",
    )

    # === DEFAULTS === #
    def _default_res_model(self):
        return self.env.context.get("active_model")

    def _default_res_ids(self):
        return self.env.context.get("active_ids") or []

    # === COMPUTE === #
    @api.depends("res_ids")
    def _compute_record_count(self):
        for wizard in self:
            wizard.record_count = len(wizard.res_ids or [])

    # === ACTIONS === #
    def action_start(self):
        """Start the bulk send and open its progress."""
        self.ensure_one()
        Mixin = self.env.registry["digital.sign.mixin"]
        if self.res_model not in self.env or not isinstance(self.env[self.res_model], Mixin):
            raise UserError(self.env._("These records cannot be sent for signature."))
        ids = [int(res_id) for res_id in self.res_ids or []]
        records = self.env[self.res_model].browse(ids).exists()
        if not records:
            raise UserError(self.env._("Select the records to send the template to."))
        bulk = self.env["digital.sign.bulk"]._start(self.template_id, records)
        return bulk._get_records_action(view_mode="form", context={})
