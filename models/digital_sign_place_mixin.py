from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const

BOX_KEYS = ("x0", "y0", "width", "height")  # a place's box as the places editor sends it


class DigitalSignPlaceMixin(models.AbstractModel):
    """A place on a page of a PDF (its box in points from the page's top left corner, its
    kind) and the places editor's side of it: the places of a document
    (digital.sign.field) and of a template (digital.sign.template.place).

    A model that inherits it names in ``_place_document_field`` its Many2one to the record
    whose pages the places are on (a record with ``page_geometry``; the places editor's
    ``params`` and the route of the page images name it the same way), and may override the
    hooks below.
    """

    _name = "digital.sign.place.mixin"
    _description = "Signature Place Layout"
    _place_document_field = None

    # === FIELDS === #
    page = fields.Integer(required=True, default=1)
    x0 = fields.Float("Left", digits=(16, 2))
    y0 = fields.Float("Top", digits=(16, 2))
    x1 = fields.Float("Right", digits=(16, 2))
    y1 = fields.Float("Bottom", digits=(16, 2))
    kind = fields.Selection(const.FIELD_KINDS, required=True, default="signature")
    role = fields.Char(help="The role named by the marker.")
    mandatory = fields.Boolean(default=True)
    source = fields.Selection(const.FIELD_SOURCES, default="manual", required=True, readonly=True)
    marker = fields.Json(readonly=True)

    # === CONSTRAINTS === #
    @api.constrains(lambda self: ("page", "x0", "y0", "x1", "y1", self._place_document_field))
    def _check_geometry(self):
        for place in self:
            geometry = place[place._place_document_field].page_geometry or []
            if place.page < 1 or (geometry and place.page > len(geometry)):
                raise ValidationError(place._get_missing_page_message())
            if place.x1 <= place.x0 or place.y1 <= place.y0:
                raise ValidationError(self.env._("A place must have a positive width and height."))
            if geometry:
                width, height = geometry[place.page - 1]
                if (
                    place.x0 < -0.5
                    or place.y0 < -0.5
                    or place.x1 > width + 0.5
                    or place.y1 > height + 0.5
                ):
                    raise ValidationError(
                        self.env._(
                            "The place lies outside page %(page)s (%(w)s x %(h)s points).",
                            page=place.page,
                            w=round(width),
                            h=round(height),
                        )
                    )

    # === HOOKS === #
    @api.model
    def _get_document_label(self, document):
        """How messages and the places editor name ``document`` (default: its display name).

        :param document: the record the places are on
        :return: str
        """
        return document.display_name

    def _get_missing_page_message(self):
        """The message of a place on a page its document does not have.

        :return: str
        Note: self.ensure_one()
        """
        self.ensure_one()
        return self.env._(
            "Page %(page)s does not exist in %(ref)s.",
            page=self.page,
            ref=self._get_document_label(self[self._place_document_field]),
        )

    # === PLACES EDITOR === #
    @api.model
    def _get_places_editor_action(self, document):
        """The client action that opens the places editor on ``document``."""
        return {
            "type": "ir.actions.client",
            "tag": "digital_sign.places_editor",
            "name": self.env._("Places of %s", self._get_document_label(document)),
            "params": {self._place_document_field: document.id},
            "context": {"active_id": document.id, "active_model": document._name},
        }

    def _get_places_editor_data(self, document, page_path, sha256):
        """What the places editor shows of ``document`` whatever it is: its pages, the place
        kinds and default sizes, and its places (``self``). The caller adds what it knows of
        ``document``: ``name``, ``editable`` and ``participants`` (who fills a place).

        :param document: the record the places ``self`` are on
        :param str page_path: the route of its page images (``const``), formatted with the
            document's id (named as ``_place_document_field``) and the page number
        :param str sha256: the hash of the PDF the images show (their URL changes with it)
        :return: dict (id, reference, pages, kinds, default_sizes, places)
        """
        Request = self.env["digital.sign.request"]
        kinds = self._fields["kind"]._description_selection(self.env)
        signature_size = (
            Request._get_setting("signature_width"),
            Request._get_setting("signature_height"),
        )
        return {
            "id": document.id,
            "reference": self._get_document_label(document),
            "pages": [
                {
                    "number": number,
                    "width": width,
                    "height": height,
                    "src": page_path.format(
                        page=number, **{self._place_document_field: document.id}
                    )
                    + f"?sha={sha256}",
                }
                for number, (width, height) in enumerate(document.page_geometry or [], start=1)
            ],
            "kinds": [[key, label] for key, label in kinds],
            "default_sizes": {**const.PLACE_DEFAULT_SIZES, "signature": signature_size},
            "places": [place._prepare_editor_place() for place in self],
        }

    @api.model
    def _apply_places_editor_changes(self, document, changes):
        """Apply the places editor's ``changes`` to the places of ``document``: ``create``
        (list of values), ``write`` (list of ``[id, values]``) and ``unlink`` (list of ids).
        Only layout values are taken (``_prepare_editor_values``); this model's rules and
        access rights apply.

        :raise UserError: a place is not one of ``document``
        """
        changes = changes or {}
        self._browse_places_of(document, changes.get("unlink") or []).unlink()
        for place_id, values in changes.get("write") or []:
            place = self._browse_places_of(document, [place_id])
            place.write(place._prepare_editor_values(values))
        self.create(
            [
                {**self._prepare_editor_values(values), self._place_document_field: document.id}
                for values in changes.get("create") or []
            ]
        )

    @api.model
    def _browse_places_of(self, document, ids):
        """The places ``ids``, every one of them a place of ``document``.

        :raise UserError: an id is unknown or a place of another document
        """
        places = self.browse(ids).exists()
        if places[self._place_document_field] - document or len(places) != len(set(ids)):
            raise UserError(
                self.env._("These places do not belong to %s.", self._get_document_label(document))
            )
        return places

    def _prepare_editor_place(self):
        """One place as the places editor shows it (``participant_id``: who fills it).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {
            "id": self.id,
            "page": self.page,
            "kind": self.kind,
            "role": self.role or "",
            "participant_id": False,
            "mandatory": self.mandatory,
            "source": self.source,
            "x0": self.x0,
            "y0": self.y0,
            "width": self.x1 - self.x0,
            "height": self.y1 - self.y0,
        }

    def _prepare_editor_values(self, values):
        """The values to write for a place the editor sends: its layout keys, and its box as
        ``x0, y0, width, height`` (a key left out keeps this place's current value; a new
        place, ``self`` empty, gets 0).

        :param dict values: what the editor sent for one place
        :return: dict of field values
        """
        vals = {key: values[key] for key in const.PLACE_EDITOR_KEYS if key in values}
        if any(key in values for key in BOX_KEYS):
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
            box = {key: float(values.get(key, current.get(key, 0.0))) for key in BOX_KEYS}
            vals.update(
                x0=box["x0"],
                y0=box["y0"],
                x1=box["x0"] + box["width"],
                y1=box["y0"] + box["height"],
            )
        return vals

    # === BUSINESS === #
    @api.model
    def _prepare_placement_values(self, placement):
        """The values of a place found by the marker detection.

        :param placement: pdf_markers.Placement
        :return: dict of field values (the layout, the role named, where it came from)
        """
        return {
            "page": placement.page,
            "x0": placement.x0,
            "y0": placement.y0,
            "x1": placement.x1,
            "y1": placement.y1,
            "kind": placement.kind,
            "role": placement.role,
            "mandatory": placement.mandatory,
            "source": placement.source,
            "marker": list(placement.marker),
        }
