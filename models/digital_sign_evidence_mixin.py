from odoo import api, models, tools
from odoo.exceptions import AccessError, UserError

EVIDENCE_LEVELS = ("flow", "create", "draft", "open")


class DigitalSignEvidenceMixin(models.AbstractModel):
    """Fields that are evidence are written by the signing flow only.

    A field says who may write it with its ``evidence`` parameter:

    - ``"flow"``: the flow only (states, times, values, hashes, signed files);
    - ``"create"``: given when the record is created, then the flow only (the linked
      record, the request a participant belongs to);
    - ``"draft"``: users may change it while the document is a draft (the PDF, the
      participants' contacts, the places), then the flow only;
    - ``"open"``: users may change it until the document is closed (owner, deadline).

    The flow is code running in a superuser environment: its methods are private (no
    external call reaches them) and write evidence on ``sudo()`` recordsets. Every other
    path a user has (the web client, XML-RPC and JSON-2 ``create``/``write`` on one record
    or a batch, import, mass edit, ``copy``, default values in the context) is checked here,
    administrators included. A refused write raises an AccessError that names the fields
    and says why, in one line.

    Threat: a user with write access on their own documents (a salesperson, an agent)
    forging a signature, a state or a hash through the external API.
    """

    _name = "digital.sign.evidence.mixin"
    _description = "Evidence Written by the Signing Flow Only"

    def _valid_field_parameter(self, field, name):
        return name == "evidence" or super()._valid_field_parameter(field, name)

    @api.model
    @tools.ormcache()
    def _evidence_levels(self):
        """``{field name: level}`` of this model's evidence fields."""
        levels = {}
        for name, field in self._fields.items():
            level = getattr(field, "evidence", None)
            if level:
                assert level in EVIDENCE_LEVELS, f"{self._name}.{name}: evidence={level!r}"
                levels[name] = level
        return levels

    def _evidence_document_state(self):
        """The state of the signature document this record belongs to (draft, sent...).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return "draft"

    def _evidence_refuse(self, names, reason):
        labels = ", ".join(
            f'"{self._fields[name]._description_string(self.env)}"' for name in sorted(names)
        )
        raise AccessError(
            self.env._(
                "%(fields)s of %(model)s: %(reason)s",
                fields=labels,
                model=self._description,
                reason=reason,
            )
        )

    def _evidence_check_write(self, vals):
        """Refuse a write of evidence fields from outside the flow (see the class)."""
        if self.env.su or not vals:
            return
        levels = self._evidence_levels()
        asked = {name: levels[name] for name in vals if name in levels}
        if not asked:
            return
        flow_only = [name for name, level in asked.items() if level in ("flow", "create")]
        if flow_only:
            self._evidence_refuse(
                flow_only, self.env._("only the signing flow writes them (they are evidence).")
            )
        states = {record._evidence_document_state() for record in self}
        draft_only = [name for name, level in asked.items() if level == "draft"]
        if draft_only and states - {"draft"}:
            self._evidence_refuse(
                draft_only,
                self.env._(
                    "they cannot change once the document was sent (cancel it and send a new "
                    "version)."
                ),
            )
        open_only = [name for name, level in asked.items() if level == "open"]
        if open_only and states - {"draft", "sent", "viewed"}:
            self._evidence_refuse(
                open_only, self.env._("they cannot change once the document is closed.")
            )

    @api.model
    def _evidence_check_create(self, vals_list):
        """Refuse flow-only values on create, and return this model without the context
        defaults of flow-only fields (``default_state``...), which are never legitimate.

        :return: the model to create with
        """
        if self.env.su:
            return self
        levels = self._evidence_levels()
        refused = {name for vals in vals_list for name in vals if levels.get(name) == "flow"}
        if refused:
            self._evidence_refuse(
                refused, self.env._("only the signing flow writes them (they are evidence).")
            )
        context = self.env.context
        defaults = {
            key for key in context if key.startswith("default_") and levels.get(key[8:]) == "flow"
        }
        if defaults:
            return self.with_context(  # pylint: disable=context-overridden  # drops default_*
                {k: v for k, v in context.items() if k not in defaults}
            )
        return self

    @api.model
    def _evidence_check_create_on_requests(self, vals_list, states, message):
        """Refuse to add records to a signature document, from outside the flow, unless the
        document is in ``states`` (participants to a draft, copy recipients to a live one).

        :param list vals_list: the create values; those with a ``request_id`` are checked
        :param states: the document states that accept new records
        :param str message: the refusal, translated
        :raise UserError: a document of ``vals_list`` is in another state
        """
        if self.env.su:
            return
        requests = self.env["digital.sign.request"].browse(
            {vals["request_id"] for vals in vals_list if vals.get("request_id")}
        )
        if any(request.state not in states for request in requests):
            raise UserError(message)
