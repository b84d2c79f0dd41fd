from odoo import fields, models


class DigitalSignRequestPartMixin(models.AbstractModel):
    """A record that belongs to one document for signature (its participants, its places):
    the document is given at creation, the company is the document's, and the evidence
    fields follow the document's state (digital.sign.evidence.mixin)."""

    _name = "digital.sign.request.part.mixin"
    _description = "Part of a Document for Signature"
    _inherit = ["digital.sign.evidence.mixin"]

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", evidence="create"
    )
    company_id = fields.Many2one(
        related="request_id.company_id", store=True, index=True, evidence="flow"
    )
    request_state = fields.Selection(related="request_id.state", string="Request State")

    # === BUSINESS === #
    def _evidence_document_state(self):
        self.ensure_one()
        return self.request_id.state
