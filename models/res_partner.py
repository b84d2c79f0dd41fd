from odoo import api, fields, models


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "digital.sign.mixin"]

    # === FIELDS === #
    digital_sign_request_count = fields.Integer(
        "Signatures",
        compute="_compute_digital_sign_request_count",
        groups="digital_sign.group_user",
    )

    # === COMPUTE === #
    def _get_digital_sign_domain(self):
        """Documents of these contacts: as customer, or as a participant."""
        partners = self.with_context(active_test=False).search([("id", "child_of", self.ids)])
        return [
            "|",
            ("partner_id", "in", partners.ids),
            ("participant_ids.partner_id", "in", partners.ids),
        ]

    @api.depends_context("uid")
    def _compute_digital_sign_request_count(self):
        Request = self.env["digital.sign.request"]
        for partner in self:
            partner.digital_sign_request_count = (
                Request.search_count(partner._get_digital_sign_domain()) if partner.id else 0
            )

    # === BUSINESS: digital.sign.mixin hooks === #
    def _digital_sign_get_partner(self):
        self.ensure_one()
        return self

    # === ACTIONS === #
    def action_view_digital_sign_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.digital_sign_request_action"
        )
        action["domain"] = self._get_digital_sign_domain()
        action["context"] = {"default_partner_id": self.id}
        return action
