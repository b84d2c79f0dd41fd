from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const


class DigitalSignField(models.Model):
    _name = "digital.sign.field"
    _description = "Signature Place"
    _order = "request_id, page, y0, x0, id"
    _inherit = ["digital.sign.evidence.mixin"]

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", evidence="create"
    )
    company_id = fields.Many2one(related="request_id.company_id", store=True, index=True,
                                 evidence="flow")
    request_state = fields.Selection(related="request_id.state", string="Request State")
    participant_id = fields.Many2one(
        "digital.sign.participant",
        string="Participant",
        index="btree_not_null",
        ondelete="set null",
        domain="[('request_id', '=', request_id)]",
        evidence="draft",
    )
    page = fields.Integer(required=True, default=1, evidence="draft")
    x0 = fields.Float("Left", digits=(16, 2), help="Points from the left edge of the page.",
                      evidence="draft")
    y0 = fields.Float("Top", digits=(16, 2), help="Points from the top edge of the page.",
                      evidence="draft")
    x1 = fields.Float("Right", digits=(16, 2), evidence="draft")
    y1 = fields.Float("Bottom", digits=(16, 2), evidence="draft")
    width = fields.Float(compute="_compute_size", inverse="_inverse_size", digits=(16, 2),
                         evidence="draft")
    height = fields.Float(compute="_compute_size", inverse="_inverse_size", digits=(16, 2),
                          evidence="draft")
    kind = fields.Selection(const.FIELD_KINDS, required=True, default="signature", evidence="draft")
    role = fields.Char(help="The role named by the marker; matched with participants' roles.",
                       evidence="draft")
    mandatory = fields.Boolean(default=True, evidence="draft")
    source = fields.Selection(const.FIELD_SOURCES, default="manual", required=True,
                              readonly=True, evidence="flow")
    marker = fields.Json(readonly=True, copy=True, evidence="flow",
                         help="Rectangle of the marker that defined this place (hidden in the "
                              "document shown and produced).")
    value = fields.Text(copy=False, readonly=True, evidence="flow")
    value_image = fields.Binary(attachment=True, copy=False, readonly=True, evidence="flow")
    filled_at = fields.Datetime(copy=False, readonly=True, evidence="flow")

    # === COMPUTE === #
    @api.depends("x0", "x1", "y0", "y1")
    def _compute_size(self):
        for field in self:
            field.width = field.x1 - field.x0
            field.height = field.y1 - field.y0

    def _inverse_size(self):
        for field in self:
            field.write({"x1": field.x0 + field.width, "y1": field.y0 + field.height})

    @api.depends("kind", "page", "role", "participant_id")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for field in self:
            who = field.participant_id.name or field.role or self.env._("unassigned")
            field.display_name = self.env._(
                "%(kind)s p.%(page)s (%(who)s)", kind=kinds.get(field.kind), page=field.page,
                who=who,
            )

    # === CONSTRAINTS === #
    @api.constrains("page", "x0", "y0", "x1", "y1", "request_id")
    def _check_geometry(self):
        for field in self:
            geometry = field.request_id.page_geometry or []
            if field.page < 1 or (geometry and field.page > len(geometry)):
                raise ValidationError(self.env._(
                    "Page %(page)s does not exist in %(ref)s.",
                    page=field.page, ref=field.request_id.reference,
                ))
            if field.x1 <= field.x0 or field.y1 <= field.y0:
                raise ValidationError(self.env._("A place must have a positive width and height."))
            if geometry:
                width, height = geometry[field.page - 1]
                if field.x0 < -0.5 or field.y0 < -0.5 or field.x1 > width + 0.5 or field.y1 > height + 0.5:
                    raise ValidationError(self.env._(
                        "The place lies outside page %(page)s (%(w)s x %(h)s points).",
                        page=field.page, w=round(width), h=round(height),
                    ))

    @api.constrains("participant_id", "request_id")
    def _check_participant(self):
        for field in self.filtered("participant_id"):
            if field.participant_id.request_id != field.request_id:
                raise ValidationError(self.env._("A place belongs to a participant of its document."))

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        requests = self.env["digital.sign.request"].browse(
            [vals["request_id"] for vals in vals_list if vals.get("request_id")]
        )
        if any(request.state != "draft" for request in requests):
            raise UserError(self.env._("Places can only be added while the document is a draft."))
        return super().create(vals_list)

    def write(self, vals):
        self._evidence_check_write(vals)
        return super().write(vals)

    def _evidence_document_state(self):
        self.ensure_one()
        return self.request_id.state

    @api.ondelete(at_uninstall=False)
    def _unlink_if_draft(self):
        if any(field.request_id.state != "draft" for field in self):
            raise UserError(self.env._("Places can only be removed while the document is a draft."))

    # === ACTIONS === #
    def action_mark_mandatory(self):
        self.write({"mandatory": True})

    def action_mark_optional(self):
        self.write({"mandatory": False})

    def action_open_places_editor(self):
        """From the list of places: the same places on the page images."""
        request = self.request_id[:1] or self.env["digital.sign.request"].browse(
            self.env.context.get("count_request_id"))
        if not request:
            raise UserError(self.env._("Open the places of one document first."))
        return request.action_open_places_editor()

    # === BUSINESS === #
    def _reset_values(self):
        self.sudo().write({"value": False, "value_image": False, "filled_at": False})

    def _is_filled(self):
        self.ensure_one()
        if self.kind in ("signature", "initials"):
            return bool(self.value_image)
        if self.kind == "checkbox":
            return self.value == "1"
        return bool((self.value or "").strip())

