from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const


class DigitalSignField(models.Model):
    _name = "digital.sign.field"
    _description = "Signature Place"
    _order = "request_id.id desc, page, y0, x0, id"  # a request's places, without a join
    _inherit = ["digital.sign.request.part.mixin", "digital.sign.place.mixin"]
    _place_document_field = "request_id"

    # === FIELDS === #
    participant_id = fields.Many2one(
        "digital.sign.participant",
        index="btree_not_null",
        ondelete="set null",
        domain="[('request_id', '=', request_id)]",
        evidence="draft",
    )
    # The layout (digital.sign.place.mixin): users change it while the document is a draft.
    page = fields.Integer(evidence="draft")
    x0 = fields.Float(help="Points from the left edge of the page.", evidence="draft")
    y0 = fields.Float(help="Points from the top edge of the page.", evidence="draft")
    x1 = fields.Float(evidence="draft")
    y1 = fields.Float(evidence="draft")
    width = fields.Float(
        compute="_compute_size", inverse="_inverse_size", digits=(16, 2), evidence="draft"
    )
    height = fields.Float(
        compute="_compute_size", inverse="_inverse_size", digits=(16, 2), evidence="draft"
    )
    kind = fields.Selection(evidence="draft")
    role = fields.Char(
        help="The role named by the marker; matched with participants' roles.", evidence="draft"
    )
    mandatory = fields.Boolean(evidence="draft")
    source = fields.Selection(evidence="flow")
    marker = fields.Json(
        evidence="flow",
        help="Rectangle of the marker that defined this place (hidden in the "
        "document shown and produced).",
    )
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
                "%(kind)s p.%(page)s (%(who)s)",
                kind=kinds.get(field.kind),
                page=field.page,
                who=who,
            )

    # === CONSTRAINTS === #
    @api.constrains("participant_id", "request_id")
    def _check_participant(self):
        for field in self.filtered("participant_id"):
            if field.participant_id.request_id != field.request_id:
                raise ValidationError(
                    self.env._("A place belongs to a participant of its document.")
                )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        requests = self.env["digital.sign.request"].browse(
            [vals["request_id"] for vals in vals_list if vals.get("request_id")]
        )
        if any(request.state != "draft" for request in requests):
            raise UserError(self.env._("Places can only be added while the document is a draft."))
        places = super().create(vals_list)
        places.request_id._restart_approval_if_changed()
        return places

    def write(self, vals):
        self._evidence_check_write(vals)
        result = super().write(vals)
        self.request_id._restart_approval_if_changed()
        return result

    def unlink(self):
        requests = self.request_id
        result = super().unlink()
        requests.exists()._restart_approval_if_changed()
        return result

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
            self.env.context.get("count_request_id")
        )
        if not request:
            raise UserError(self.env._("Open the places of one document first."))
        return request.action_open_places_editor()

    # === PLACES EDITOR (RPC of the backend editor, with the user's rights) === #
    @api.model
    def get_places_editor_data(self, request_id):
        """Everything the places editor shows of the document ``request_id``, in one call:
        its pages, participants, place kinds and default sizes, and its places.

        :param int request_id: the digital.sign.request the editor opened
        :return: dict (id, reference, name, editable, pages, participants, kinds,
            default_sizes, places)
        :raise AccessError: when the user may not read the document
        """
        sign_request = self.env["digital.sign.request"].browse(request_id)
        sign_request.ensure_one()
        sign_request.check_access("read")
        return {
            **sign_request.field_ids._get_places_editor_data(
                sign_request, const.PLACES_PAGE_PATH, sign_request.original_sha256
            ),
            "name": sign_request.name,
            "editable": sign_request.state == "draft" and sign_request.has_access("write"),
            "participants": [
                {
                    "id": participant.id,
                    "name": participant.name,
                    "role": participant.role or "",
                }
                for participant in sign_request.participant_ids.sorted(
                    lambda p: (p.signing_order, p.id)
                )
            ],
        }

    @api.model
    def save_places_editor_data(self, request_id, changes):
        """Apply the places editor's changes to the document ``request_id`` in one call, all
        or nothing (the call is one transaction): ``changes`` holds ``create`` (list of
        values), ``write`` (list of ``[id, values]``) and ``unlink`` (list of ids). Only layout
        values are accepted (``const.PLACE_EDITOR_KEYS`` and the box); this model's rules and
        access rights apply (a draft document, a place inside its page, a participant of this
        document).

        :param int request_id: the digital.sign.request the editor opened
        :param dict changes: see above
        :return: the editor's data after the save (``get_places_editor_data``)
        :raise UserError: the document is no longer a draft, or a place is not its own
        """
        sign_request = self.env["digital.sign.request"].browse(request_id)
        sign_request.ensure_one()
        if sign_request.state != "draft":
            raise UserError(self.env._("Places can only change while the document is a draft."))
        self._apply_places_editor_changes(sign_request, changes)
        return self.get_places_editor_data(sign_request.id)

    # === PLACES (digital.sign.place.mixin) === #
    @api.model
    def _get_document_label(self, document):
        return document.reference

    def _prepare_editor_place(self):
        return {
            **super()._prepare_editor_place(),
            "participant_id": self.participant_id.id or False,
        }

    # === BUSINESS === #
    def _get_box(self):
        """Where the place is and what it holds, as the keyword arguments the engine's
        placements and stamps share (``page``, ``x0``, ``y0``, ``x1``, ``y1``, ``kind``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {
            "page": self.page,
            "x0": self.x0,
            "y0": self.y0,
            "x1": self.x1,
            "y1": self.y1,
            "kind": self.kind,
        }

    def _reset_values(self):
        self.sudo().write({"value": False, "value_image": False, "filled_at": False})

    def _is_filled(self):
        self.ensure_one()
        if self.kind in ("signature", "initials"):
            return bool(self.value_image)
        if self.kind == "checkbox":
            return self.value == "1"
        return bool((self.value or "").strip())
