import base64

from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import const
from ..engine import qr as engine_qr


class DigitalSignMixin(models.AbstractModel):
    """What a business document (quotation, ticket) needs to be sent for signature: its
    requests, the state of the current one, and the buttons. Specifics (which PDF, which
    participants, what happens when it is signed) live in the inheriting model through the
    ``_digital_sign_*`` hooks."""

    _name = "digital.sign.mixin"
    _inherit = ["digital.sign.evidence.mixin"]
    _description = "Digital Signing on a Document"

    # === FIELDS === #
    digital_sign_request_ids = fields.One2many(
        "digital.sign.request",
        "res_id",
        string="Signature Requests",
        domain=lambda self: [("res_model", "=", self._name)],
        groups="digital_sign.group_user",
    )
    digital_sign_request_id = fields.Many2one(
        "digital.sign.request",
        string="Current Signature Request",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="digital_sign.group_user",
        evidence="flow",
    )
    digital_sign_state = fields.Selection(
        [("none", "None")] + const.REQUEST_STATES,
        string="Digital Status",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        group_expand="_group_expand_digital_sign_states",
        evidence="flow",
    )
    digital_sign_request_count = fields.Integer(
        "Signatures",
        compute="_compute_digital_sign_request_count",
        groups="digital_sign.group_user",
    )
    digital_sign_url = fields.Char(
        "Signing Link",
        compute="_compute_digital_sign_url",
        groups="digital_sign.group_user",
        help="The personal link sent to the first participant of the current request (shown "
        "to its owner and the managers: a link lets anyone sign).",
    )
    digital_sign_qr = fields.Binary(
        "QR Code of the Signing Link",
        compute="_compute_digital_sign_url",
        groups="digital_sign.group_user",
        help="The signing link as a QR code, for the customer's phone (shown to the same "
        "users as the link).",
    )
    digital_sign_can_sign_now = fields.Boolean(
        "Can Sign Now",
        compute="_compute_digital_sign_can_sign_now",
        groups="digital_sign.group_user",
    )
    digital_sign_document_url = fields.Char(
        related="digital_sign_request_id.provider_document_url",
        string="Document at the Service",
    )
    digital_sign_provider_reference = fields.Char(
        related="digital_sign_request_id.provider_reference",
        string="Service Reference",
    )
    digital_sign_checked_at = fields.Datetime(
        related="digital_sign_request_id.last_checked_at",
        string="Status Checked At",
    )
    digital_sign_cancel_pending = fields.Boolean(
        "Cancel Pending at the Service",
        compute="_compute_digital_sign_cancel_pending",
        help="A signature request of this document was cancelled here, and its signature "
        "service has not confirmed the cancellation yet (retried automatically).",
    )

    # === COMPUTE === #
    def _compute_digital_sign_request_count(self):
        counts = dict(
            self.env["digital.sign.request"]._read_group(
                [("res_model", "=", self._name), ("res_id", "in", self.ids)],
                ["res_id"],
                ["__count"],
            )
        )
        for record in self:
            record.digital_sign_request_count = counts.get(record.id, 0)

    def _compute_digital_sign_cancel_pending(self):
        ids = [record._origin.id for record in self if record._origin.id]
        pending = (
            set(
                self.env["digital.sign.request"]
                .sudo()
                .search(
                    [
                        ("res_model", "=", self._name),
                        ("res_id", "in", ids),
                        ("provider_cancel_state", "=", "pending"),
                    ]
                )
                .mapped("res_id")
            )
            if ids
            else set()
        )
        for record in self:
            record.digital_sign_cancel_pending = record._origin.id in pending

    @api.depends("digital_sign_request_id.state")
    @api.depends_context("uid")
    def _compute_digital_sign_url(self):
        for record in self:
            request = record.digital_sign_request_id
            url = ""
            if (
                request
                and request.state in const.OPEN_REQUEST_STATES
                and request._can_see_live_links()
            ):
                participant = (
                    request.sudo()
                    .participant_ids.filtered(lambda p: p.state in ("sent", "viewed"))
                    .sorted(lambda p: (not p.is_primary, p.signing_order, p.id))[:1]
                )
                url = participant._get_signing_url() if participant else ""
            png = engine_qr.url_qr_png(url, scale=6) if url else b""
            record.digital_sign_url = url
            record.digital_sign_qr = base64.b64encode(png) if png else False

    @api.depends("digital_sign_request_id.state")
    @api.depends_context("uid")
    def _compute_digital_sign_can_sign_now(self):
        for record in self:
            request = record.digital_sign_request_id
            record.digital_sign_can_sign_now = bool(request) and request.can_sign_now

    def _group_expand_digital_sign_states(self, states, domain):
        # The summaries show every status of the flow as a column, in order.
        return [key for key, _label in const.REQUEST_STATES]

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        return super().create(vals_list)

    def write(self, vals):
        self._evidence_check_write(vals)
        return super().write(vals)

    # === ACTIONS === #
    def action_digital_sign_send(self):
        """Open the "Send for signature" wizard for this document."""
        self.ensure_one()
        self.check_access("write")
        self._digital_sign_check_can_send()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send for signature"),
            "res_model": "digital.sign.request.send",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_res_model": self._name,
                "default_res_id": self.id,
            },
        }

    def action_digital_sign_check_status(self):
        """Refresh the current request's status now (an external service is asked)."""
        self.ensure_one()
        request = self.digital_sign_request_id
        if not request:
            raise UserError(self.env._("Nothing was sent for signature yet."))
        return request.action_check_status()

    def action_digital_sign_sign_now(self):
        """Sign now, in person: hand the device to the customer (see
        ``digital.sign.request.action_sign_now``)."""
        self.ensure_one()
        request = self.digital_sign_request_id
        if not request or request.state not in const.OPEN_REQUEST_STATES:
            raise UserError(self.env._("There is no document out for signature to sign now."))
        return request.action_sign_now()

    def action_digital_sign_cancel(self):
        self.ensure_one()
        request = self.digital_sign_request_id
        if not request or request.state not in const.LIVE_REQUEST_STATES:
            raise UserError(self.env._("There is no live signature request to cancel."))
        return request.action_open_cancel()

    def action_view_digital_sign_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.digital_sign_request_action"
        )
        action["domain"] = [("res_model", "=", self._name), ("res_id", "=", self.id)]
        action["context"] = {"create": False}
        if self.digital_sign_request_count == 1:
            action.update(
                {
                    "view_mode": "form",
                    "res_id": self.digital_sign_request_ids.id,
                    "views": [(False, "form")],
                }
            )
        return action

    # === BUSINESS: hooks for the inheriting model === #
    def _digital_sign_check_can_send(self):
        """Raise a UserError when this document cannot be sent for signature now.

        Note: self.ensure_one()
        """
        self.ensure_one()

    def _digital_sign_default_name(self):
        """The default document name in the wizard.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return self.display_name

    def _digital_sign_default_document_kind(self):
        return False

    def _digital_sign_rule_kind(self, request):
        """The document kind filing and outbound rules match ``request`` on (a key of
        ``const.RULE_DOCUMENT_KINDS``).

        :param request: a digital.sign.request linked to this record
        :return: str
        """
        return request.document_kind or "other"

    def _digital_sign_default_pdf_source(self):
        return "upload"

    def _digital_sign_wizard_features(self):
        """Wizard options this document offers: a subset of {'document_kind',
        'conversation'}."""
        return set()

    def _digital_sign_default_deadline(self):
        return False

    def _digital_sign_live_requests(self):
        self.ensure_one()
        return self.env["digital.sign.request"].search(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("state", "in", const.LIVE_REQUEST_STATES),
            ]
        )

    def _digital_sign_handle_live_requests(self, wizard):
        """Deal with live requests before a new one is sent: by default a new version
        replaces them (their links stop working at once; the history keeps both).

        :return: the replaced request (the newest), or an empty recordset
        Note: self.ensure_one()
        """
        self.ensure_one()
        live = self._digital_sign_live_requests()
        for request in live:
            request._set_cancelled(self.env._("Replaced by a new version."))
        return live.sorted("id")[-1:]

    def _digital_sign_replaces_live_requests(self):
        """Whether a new request replaces the live ones of this document (see
        ``_digital_sign_handle_live_requests``). Return False when several documents may be
        out at once: the wizard then words its notice about the live one accordingly.

        :return: bool
        """
        return True

    def _digital_sign_after_send(self, request, wizard):
        """What the wizard returns once ``request`` was sent (also called with ``wizard``
        None when a draft in the "during a conversation" mode is sent from its own form).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("%(ref)s was sent for signature.", ref=request.reference),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _digital_sign_get_partner(self):
        """Return the customer (res.partner) of this document.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return self.env["res.partner"]

    def _digital_sign_get_default_participants(self):
        """Return a list of participant value dicts (digital.sign.request.send.line) for the
        wizard: the customer contact by default.

        Note: self.ensure_one()
        """
        self.ensure_one()
        partner = self._digital_sign_get_partner()
        if not partner:
            return []
        return [
            {
                "partner_id": partner.id,
                "name": partner.name,
                "email": partner.email or False,
                "mobile": partner.phone or False,
                "role": self.env._("Customer"),
                "signing_order": 1,
                "mandatory": True,
            }
        ]

    def _digital_sign_prepare_request_values(self, wizard):
        """Return the values of the digital.sign.request the wizard creates (the PDF
        included). Overrides must call super and add their own values.

        :param wizard: the digital.sign.request.send record
        :return: dict of values for digital.sign.request.create
        Note: self.ensure_one()
        """
        self.ensure_one()
        partner = self._digital_sign_get_partner()
        return {
            "res_model": self._name,
            "res_id": self.id,
            "partner_id": partner.id,
            "company_id": self._digital_sign_get_company().id,
            "source_hash": self._digital_sign_content_hash(),
        }

    def _digital_sign_approval_amount(self):
        """The amount approval rules compare (a quotation's total), with its currency.

        :return: (float amount, res.currency or None)
        Note: self.ensure_one()
        """
        self.ensure_one()
        return 0.0, None

    def _digital_sign_get_company(self):
        """The company of the documents sent from this record.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return (self.company_id if "company_id" in self else False) or self.env.company

    def _digital_sign_prepare_template_request_values(self, template):
        """Return the values of a request sent from ``template`` on this record: the link,
        the customer, the company, the owner (the sender) and the record's team. The PDF,
        places and participants come from the template (``digital.sign.template``).

        :param template: the digital.sign.template
        :return: dict of values for digital.sign.request.create
        Note: self.ensure_one()
        """
        self.ensure_one()
        values = {
            "res_model": self._name,
            "res_id": self.id,
            "partner_id": self._digital_sign_get_partner().id,
            "company_id": self._digital_sign_get_company().id,
            "user_id": self.env.user.id,
            "team_id": False,
        }
        team = self["team_id"] if "team_id" in self else False
        if team and team._name == "crm.team":
            values["team_id"] = team.id
        elif team and team._name == "helpdesk.ticket.team":
            values["helpdesk_team_id"] = team.id
        return values

    def _digital_sign_content_hash(self):
        """A digest of what the document says (amounts, lines...) when the PDF is made from
        the record: signing is refused once it changed (what you see is what you sign).
        '' when the PDF does not come from the record's content (an uploaded file).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return ""

    def _digital_sign_invitation_template(self, request, reminder=False):
        """The mail.template inviting participants of ``request``, or None for the
        default one."""
        return None

    def _digital_sign_invitation_sms(self, request, participant, url, reminder=False):
        """The invitation SMS text for ``participant``, or None for the default one."""
        return None

    def _digital_sign_sync(self, request):
        """Keep ``digital_sign_state`` and the current request in step with ``request``."""
        for record in self.sudo():
            current = record.digital_sign_request_id
            if current and current != request and current.id > request.id:
                continue  # an older version changed: the newest one stays current
            record.write(
                {"digital_sign_request_id": request.id, "digital_sign_state": request.state}
            )

    def _digital_sign_on_request_state(self, request):
        """Called when ``request`` became rejected, cancelled or expired (and, with the final
        document, signed: see ``_digital_sign_on_completed``).

        Note: self.ensure_one()
        """
        self.ensure_one()

    def _digital_sign_on_completed(self, request):
        """Called once the signed document of ``request`` exists (final PDF attached).

        Note: self.ensure_one()
        """
        self.ensure_one()
