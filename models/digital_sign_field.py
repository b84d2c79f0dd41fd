from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const


class DigitalSignField(models.Model):
    _name = "digital.sign.field"
    _description = "Signature Place"
    _order = "request_id.id desc, page, y0, x0, id"  # a request's places, without a join
    _inherit = ["digital.sign.evidence.mixin"]

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", evidence="create"
    )
    company_id = fields.Many2one(
        related="request_id.company_id", store=True, index=True, evidence="flow"
    )
    request_state = fields.Selection(related="request_id.state", string="Request State")
    participant_id = fields.Many2one(
        "digital.sign.participant",
        index="btree_not_null",
        ondelete="set null",
        domain="[('request_id', '=', request_id)]",
        evidence="draft",
    )
    page = fields.Integer(required=True, default=1, evidence="draft")
    x0 = fields.Float(
        "Left", digits=(16, 2), help="Points from the left edge of the page.", evidence="draft"
    )
    y0 = fields.Float(
        "Top", digits=(16, 2), help="Points from the top edge of the page.", evidence="draft"
    )
    x1 = fields.Float("Right", digits=(16, 2), evidence="draft")
    y1 = fields.Float("Bottom", digits=(16, 2), evidence="draft")
    width = fields.Float(
        compute="_compute_size", inverse="_inverse_size", digits=(16, 2), evidence="draft"
    )
    height = fields.Float(
        compute="_compute_size", inverse="_inverse_size", digits=(16, 2), evidence="draft"
    )
    kind = fields.Selection(const.FIELD_KINDS, required=True, default="signature", evidence="draft")
    role = fields.Char(
        help="The role named by the marker; matched with participants' roles.", evidence="draft"
    )
    mandatory = fields.Boolean(default=True, evidence="draft")
    source = fields.Selection(
        const.FIELD_SOURCES, default="manual", required=True, readonly=True, evidence="flow"
    )
    marker = fields.Json(
        readonly=True,
        copy=True,
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
    @api.constrains("page", "x0", "y0", "x1", "y1", "request_id")
    def _check_geometry(self):
        for field in self:
            geometry = field.request_id.page_geometry or []
            if field.page < 1 or (geometry and field.page > len(geometry)):
                raise ValidationError(
                    self.env._(
                        "Page %(page)s does not exist in %(ref)s.",
                        page=field.page,
                        ref=field.request_id.reference,
                    )
                )
            if field.x1 <= field.x0 or field.y1 <= field.y0:
                raise ValidationError(self.env._("A place must have a positive width and height."))
            if geometry:
                width, height = geometry[field.page - 1]
                if (
                    field.x0 < -0.5
                    or field.y0 < -0.5
                    or field.x1 > width + 0.5
                    or field.y1 > height + 0.5
                ):
                    raise ValidationError(
                        self.env._(
                            "The place lies outside page %(page)s (%(w)s x %(h)s points).",
                            page=field.page,
                            w=round(width),
                            h=round(height),
                        )
                    )

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
        kinds = self._fields["kind"]._description_selection(self.env)
        geometry = sign_request.page_geometry or []
        signature_size = (
            sign_request._get_setting("signature_width"),
            sign_request._get_setting("signature_height"),
        )
        return {
            "id": sign_request.id,
            "reference": sign_request.reference,
            "name": sign_request.name,
            "editable": sign_request.state == "draft" and sign_request.has_access("write"),
            "pages": [
                {
                    "number": number,
                    "width": width,
                    "height": height,
                    "src": const.PLACES_PAGE_PATH.format(request_id=sign_request.id, page=number)
                    + f"?sha={sign_request.original_sha256}",
                }
                for number, (width, height) in enumerate(geometry, start=1)
            ],
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
            "kinds": [[key, label] for key, label in kinds],
            "default_sizes": {**const.PLACE_DEFAULT_SIZES, "signature": signature_size},
            "places": [
                {
                    "id": field.id,
                    "page": field.page,
                    "kind": field.kind,
                    "role": field.role or "",
                    "participant_id": field.participant_id.id or False,
                    "mandatory": field.mandatory,
                    "source": field.source,
                    "x0": field.x0,
                    "y0": field.y0,
                    "width": field.x1 - field.x0,
                    "height": field.y1 - field.y0,
                }
                for field in sign_request.field_ids
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
        changes = changes or {}
        self._browse_places_of(sign_request, changes.get("unlink") or []).unlink()
        for field_id, values in changes.get("write") or []:
            field = self._browse_places_of(sign_request, [field_id])
            field.write(field._prepare_editor_values(values))
        self.create(
            [
                {**self._prepare_editor_values(values), "request_id": sign_request.id}
                for values in changes.get("create") or []
            ]
        )
        return self.get_places_editor_data(sign_request.id)

    # === BUSINESS === #
    @api.model
    def _browse_places_of(self, sign_request, ids):
        """The places ``ids``, every one of them a place of ``sign_request``.

        :raise UserError: an id is unknown or a place of another document
        """
        places = self.browse(ids).exists()
        if places.request_id - sign_request or len(places) != len(set(ids)):
            raise UserError(self.env._("These places do not belong to %s.", sign_request.reference))
        return places

    def _prepare_editor_values(self, values):
        """The values to write for a place the editor sends: its layout keys, and its box as
        ``x0, y0, width, height`` (a key left out keeps this place's current value; a new
        place, ``self`` empty, gets 0).

        :param dict values: what the editor sent for one place
        :return: dict of field values
        """
        vals = {key: values[key] for key in const.PLACE_EDITOR_KEYS if key in values}
        if any(key in values for key in ("x0", "y0", "width", "height")):
            current = (
                {
                    "x0": self.x0,
                    "y0": self.y0,
                    "width": self.x1 - self.x0,
                    "height": self.y1 - self.y0,
                }
                if self
                else {}
            )
            box = {
                key: float(values.get(key, current.get(key, 0.0)))
                for key in ("x0", "y0", "width", "height")
            }
            vals.update(
                x0=box["x0"],
                y0=box["y0"],
                x1=box["x0"] + box["width"],
                y1=box["y0"] + box["height"],
            )
        return vals

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
