from odoo import api, fields, models
from odoo.fields import Domain

from .. import const


class DigitalSignRuleMixin(models.AbstractModel):
    """What filing rules and outbound rules match a completed document on: its company,
    its kind (a quotation's kind, a helpdesk ticket, anything else), its sales team, its
    helpdesk team and its customer (by commercial entity: a rule for a company matches the
    documents of its contacts). An empty criterion matches every document.

    Rules are configuration, written by managers; the flow reads them with sudo and never
    writes them.
    """

    _name = "digital.sign.rule.mixin"
    _description = "Rule on Completed Signature Documents"
    _order = "sequence, id"
    _check_company_auto = True

    # === FIELDS === #
    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    document_kind = fields.Selection(
        const.RULE_DOCUMENT_KINDS,
        help="Only documents of this kind (a quotation's kind, a helpdesk ticket, or any other "
        "document). Empty: every kind.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Only documents of this sales team. Empty: every team.",
    )
    helpdesk_team_id = fields.Many2one(
        "helpdesk.ticket.team",
        help="Only documents of this helpdesk team. Empty: every team.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        check_company=True,
        help="Only documents of this customer or of its contacts (the same company). Empty: "
        "every customer.",
    )

    # === BUSINESS === #
    @api.model
    def _get_matching(self, request):
        """The active rules of this model that match ``request``, in their order (sudo).

        :param request: a digital.sign.request
        :return: a recordset of this model, possibly empty
        """
        rules_sudo = self.sudo().search(Domain("company_id", "=", request.company_id.id))
        return rules_sudo.filtered(lambda rule: rule._matches(request))

    def _matches(self, request):
        """Whether this rule applies to ``request``: every criterion it sets holds.

        :param request: a digital.sign.request
        :return: bool
        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = request.sudo()
        if self.document_kind and self.document_kind != request_sudo._get_rule_kind():
            return False
        if self.team_id and self.team_id != request_sudo.team_id:
            return False
        if self.helpdesk_team_id and self.helpdesk_team_id != request_sudo.helpdesk_team_id:
            return False
        if self.partner_id and (
            self.partner_id.commercial_partner_id != request_sudo.partner_id.commercial_partner_id
        ):
            return False
        return True
