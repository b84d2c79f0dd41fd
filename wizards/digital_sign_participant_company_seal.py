import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..utils import client_info


class DigitalSignParticipantCompanySeal(models.TransientModel):
    """Apply the company seal: a seal keeper reviews the document (the PDF as it stands,
    with the signatures of the participants before the company), ticks "I reviewed this
    document" and applies the seal.

    Only seal keepers create it (access rights) and apply it (checked again here); the
    document they reviewed is pinned by its hash, set here and never by the caller.
    """

    _name = "digital.sign.participant.company.seal"
    _description = "Apply the Company Seal"

    # === FIELDS === #
    participant_id = fields.Many2one(
        "digital.sign.participant", required=True, readonly=True, ondelete="cascade"
    )
    request_id = fields.Many2one(related="participant_id.request_id", string="Document")
    company_id = fields.Many2one(related="request_id.company_id")
    company_seal = fields.Binary(
        "Company Seal", related="company_id.digital_sign_company_seal", readonly=True
    )
    document_sha256 = fields.Char("Reviewed Document SHA-256", readonly=True)
    review_pdf = fields.Binary("Document to Review", readonly=True)
    places_summary = fields.Text("The Seal Goes On", compute="_compute_places_summary")
    reviewed = fields.Boolean(
        "I reviewed this document",
        help="The seal is applied only to a document its seal keeper reviewed.",
    )

    # === COMPUTE === #
    @api.depends("participant_id")
    def _compute_places_summary(self):
        kinds = dict(const.FIELD_KINDS)
        for wizard in self:
            participant = wizard.participant_id
            places = participant.request_id.field_ids.filtered(
                lambda f, p=participant: f.participant_id == p
            )
            wizard.places_summary = (
                "\n".join(
                    self.env._(
                        "Page %(page)s: %(kind)s%(optional)s",
                        page=place.page,
                        kind=kinds.get(place.kind, place.kind),
                        optional="" if place.mandatory else self.env._(" (optional)"),
                    )
                    for place in places.sorted(lambda f: (f.page, f.y0, f.x0))
                )
                or False
            )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        Request = self.env["digital.sign.request"]
        for vals in vals_list:
            participant = self.env["digital.sign.participant"].browse(vals.get("participant_id"))
            participant.check_access("read")
            sign_request = participant.request_id
            Request._check_seal_keeper(sign_request.company_id)
            # What the keeper reviews comes from the server, never from the caller.
            vals["document_sha256"] = sign_request.original_sha256
            vals["review_pdf"] = base64.b64encode(sign_request._get_company_seal_review_pdf())
        return super().create(vals_list)

    # === ACTIONS === #
    def action_apply(self):
        """Apply the company seal on the reviewed document (seal keepers only).

        :raise AccessError: the user is not a seal keeper of the document's company
        :raise UserError: the review was not ticked, or the seal cannot be applied now
        """
        self.ensure_one()
        sign_request = self.request_id
        self.env["digital.sign.request"]._check_seal_keeper(sign_request.company_id)
        sign_request.check_access("read")
        if not self.reviewed:
            raise UserError(
                self.env._(
                    'Tick "I reviewed this document" first: the seal goes only on a document '
                    "you reviewed."
                )
            )
        ip, user_agent = client_info()
        result = self.participant_id._apply_company_seal(
            self.document_sha256, ip=ip, user_agent=user_agent
        )
        if result["status"] == "changed":
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "message": sign_request.cancel_reason,
                    "type": "warning",
                    "sticky": True,
                    "next": {"type": "ir.actions.act_window_close"},
                },
            }
        return {"type": "ir.actions.act_window_close"}
