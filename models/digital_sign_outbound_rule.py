from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import email_normalize


class DigitalSignOutboundRule(models.Model):
    """Who else gets the signed copy of a completed document, besides its participants.

    Every active rule that matches a document (see ``digital.sign.rule.mixin``) adds its
    contacts and addresses to the document's extra recipients when the document completes,
    with the rule's text and attachments; an address already listed (by the sender or an
    earlier rule) or a participant's who signed is not added twice. Each one then gets one
    e-mail, whose fate (sent, bounced) the audit trail records.
    """

    _name = "digital.sign.outbound.rule"
    _description = "Outbound Copy Rule for Signed Documents"
    _inherit = ["digital.sign.rule.mixin"]
    _order = "sequence, id"

    # === FIELDS === #
    recipient_partner_ids = fields.Many2many(
        "res.partner",
        "digital_sign_outbound_rule_partner_rel",
        "rule_id",
        "partner_id",
        string="Contacts",
        help="Contacts who get a copy (at their e-mail address).",
    )
    recipient_emails = fields.Char(
        "E-mail Addresses",
        help="Other addresses that get a copy, separated by commas (e.g. an archive mailbox).",
    )
    message = fields.Html("Text", sanitize=True, help="Shown in the e-mail above the signature.")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "digital_sign_outbound_rule_attachment_rel",
        "rule_id",
        "attachment_id",
        string="Extra Attachments",
        help="Sent with the signed document (general terms, a welcome pack...).",
    )

    # === CONSTRAINTS === #
    @api.constrains("recipient_emails", "recipient_partner_ids")
    def _check_recipients(self):
        for rule in self:
            if not rule.recipient_partner_ids and not rule.recipient_emails:
                raise ValidationError(
                    self.env._("The outbound rule %s sends the copy to nobody.", rule.name)
                )
            pieces = [piece.strip() for piece in (rule.recipient_emails or "").split(",")]
            bad = [piece for piece in pieces if piece and not email_normalize(piece)]
            if bad:
                raise ValidationError(self.env._("Not an e-mail address: %s", ", ".join(bad)))
            unreachable = rule.recipient_partner_ids.filtered(lambda p: not p.email_normalized)
            if unreachable:
                raise ValidationError(
                    self.env._(
                        "%s has no e-mail address.", ", ".join(unreachable.mapped("display_name"))
                    )
                )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules.attachment_ids.check_access("read")
        return rules

    def write(self, vals):
        result = super().write(vals)
        if "attachment_ids" in vals:
            self.attachment_ids.check_access("read")
        return result

    # === BUSINESS === #
    def _get_recipient_addresses(self):
        """The rule's recipients: ``[(partner or empty, normalized e-mail)]``, in order.

        Note: self.ensure_one()
        """
        self.ensure_one()
        rule_sudo = self.sudo()
        recipients = [
            (partner, partner.email_normalized)
            for partner in rule_sudo.recipient_partner_ids
            if partner.email_normalized
        ]
        recipients += [
            (self.env["res.partner"], email_normalize(piece))
            for piece in (rule_sudo.recipient_emails or "").split(",")
            if email_normalize(piece)
        ]
        return recipients
