from odoo import api, fields, models


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "digital.sign.mixin"]

    # === FIELDS === #
    digital_sign_order_ids = fields.Many2many(
        "sale.order",
        compute="_compute_digital_sign_orders",
        string="Digital Quotes",
    )
    digital_sign_order_count = fields.Integer(compute="_compute_digital_sign_orders")
    digital_sign_summary = fields.Char("Digital Status", compute="_compute_digital_sign_orders")

    # === COMPUTE === #
    @api.depends("order_ids.digital_sign_state")
    def _compute_digital_sign_orders(self):
        selection = (
            self.env["sale.order"]._fields["digital_sign_state"]._description_selection(self.env)
        )
        order_of = {state: index for index, (state, _label) in enumerate(selection)}
        labels = dict(selection)
        for lead in self:
            orders = lead.order_ids.filtered(lambda o: o.digital_sign_state != "none")
            counts = {}
            for order in orders:
                counts[order.digital_sign_state] = counts.get(order.digital_sign_state, 0) + 1
            lead.digital_sign_order_ids = orders
            lead.digital_sign_order_count = len(orders)
            lead.digital_sign_summary = (
                ", ".join(
                    f"{count} {labels[state].lower()}"
                    for state, count in sorted(counts.items(), key=lambda item: order_of[item[0]])
                )
                or False
            )

    # === ACTIONS === #
    def action_view_digital_sign_quotes(self):
        """Open the digital quotes of this opportunity (list first)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.sale_order_action_digital_quotes"
        )
        action["domain"] = [("opportunity_id", "=", self.id), ("digital_sign_state", "!=", "none")]
        action["context"] = {"default_opportunity_id": self.id, "create": False}
        action["views"] = sorted(action["views"], key=lambda view: view[1] != "list")
        return action

    # === BUSINESS: digital.sign.mixin hooks === #
    def _digital_sign_get_partner(self):
        self.ensure_one()
        return self.partner_id
