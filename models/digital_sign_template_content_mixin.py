from odoo import api, fields, models


class DigitalSignTemplateContentMixin(models.AbstractModel):
    """A part of a template's content (its roles, its places): before it changes on a
    template that was used, the template gets a new version (see
    digital.sign.template._new_version_if_used)."""

    _name = "digital.sign.template.content.mixin"
    _description = "Part of a Signature Template's Content"

    # === FIELDS === #
    template_id = fields.Many2one(
        "digital.sign.template", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="template_id.company_id", store=True, index=True)

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self.env["digital.sign.template"].browse(
            {vals["template_id"] for vals in vals_list if vals.get("template_id")}
        )._new_version_if_used()
        return super().create(vals_list)

    def write(self, vals):
        self.template_id._new_version_if_used()
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_new_version(self):
        self.template_id._new_version_if_used()
