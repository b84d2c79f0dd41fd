from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from .. import const
from ..engine import pdf_markers, pdf_sanitize
from ..engine.errors import EngineError
from ..utils import decode_binary, engine_error_message


class DigitalSignRequestSend(models.TransientModel):
    """ "Send for signature" from a business document (quotation, ticket)."""

    _name = "digital.sign.request.send"
    _description = "Send a Document for Signature"

    # === FIELDS === #
    res_model = fields.Char(required=True, readonly=True)
    res_id = fields.Integer(required=True, readonly=True)
    name = fields.Char("Document Name", compute="_compute_name", store=True, readonly=False)
    document_kind = fields.Selection(
        selection="_selection_document_kind",
        compute="_compute_document_kind",
        store=True,
        readonly=False,
    )
    pdf_source = fields.Selection(
        selection="_selection_pdf_source",
        string="Document",
        compute="_compute_pdf_source",
        store=True,
        readonly=False,
    )
    template_id = fields.Many2one(
        "digital.sign.template",
        domain="[('pdf_sha256', '!=', False)]",
        help="Send a prepared document: its PDF, places and roles (filled from this record; "
        "fill the others below).",
    )
    pdf_file = fields.Binary("PDF to Sign")
    pdf_filename = fields.Char()
    attachment_id = fields.Many2one(
        "ir.attachment",
        domain="[('res_model', '=', res_model), ('res_id', '=', res_id), "
        "('mimetype', '=', 'application/pdf')]",
    )
    sending_mode = fields.Selection(
        [("standard", "Standard"), ("conversation", "During the conversation")],
        default="standard",
        required=True,
    )
    show_sending_mode = fields.Boolean(compute="_compute_show_fields")
    show_document_kind = fields.Boolean(compute="_compute_show_fields")
    invite_channel = fields.Selection(
        const.CHANNELS, string="Channel", default="email", required=True
    )
    otp_channel = fields.Selection(
        const.OTP_CHANNELS, string="One-time Code", default="none", required=True
    )
    deadline = fields.Datetime(compute="_compute_deadline", store=True, readonly=False)
    line_ids = fields.One2many(
        "digital.sign.request.send.line",
        "wizard_id",
        string="Participants",
        compute="_compute_line_ids",
        store=True,
        readonly=False,
    )
    contact_warning = fields.Text(compute="_compute_contact_warning")
    marker_summary = fields.Text("Places Found", compute="_compute_pdf_preview")
    active_content_warning = fields.Text(compute="_compute_pdf_preview")
    live_request_id = fields.Many2one("digital.sign.request", compute="_compute_live_request_id")
    live_request_replaced = fields.Boolean(compute="_compute_live_request_id")
    provider_id = fields.Many2one(
        "digital.sign.provider",
        default=lambda self: self.env["digital.sign.provider"]._get_default_provider(),
        domain="[('state', 'in', ('enabled', 'test'))]",
    )

    # === COMPUTE === #
    def _get_record(self):
        self.ensure_one()
        return self.env[self.res_model].browse(self.res_id).exists()

    @api.depends("res_model", "res_id")
    def _compute_name(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            if record and not wizard.name:
                wizard.name = record._digital_sign_default_name()

    @api.model
    def _selection_document_kind(self):
        return list(const.SALE_DOCUMENT_KINDS)

    @api.depends("res_model")
    def _compute_document_kind(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            wizard.document_kind = record._digital_sign_default_document_kind() if record else False

    @api.model
    def _selection_pdf_source(self):
        return [
            ("report", "The document as printed"),
            ("upload", "A PDF to upload"),
            ("attachment", "One of its attachments"),
        ]

    @api.depends("res_model")
    def _compute_pdf_source(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            wizard.pdf_source = record._digital_sign_default_pdf_source() if record else "upload"

    @api.depends("res_model")
    def _compute_show_fields(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            features = record._digital_sign_wizard_features() if record else set()
            wizard.show_sending_mode = "conversation" in features
            wizard.show_document_kind = "document_kind" in features

    @api.depends("res_model", "res_id")
    def _compute_line_ids(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            if not record or wizard.line_ids:
                continue
            wizard.line_ids = [fields.Command.clear()] + [
                fields.Command.create(
                    {
                        **vals,
                        "invite_channel": wizard.invite_channel,
                        "otp_channel": wizard.otp_channel,
                    }
                )
                for vals in record._digital_sign_get_default_participants()
            ]

    @api.depends("res_model", "res_id", "sending_mode")
    def _compute_deadline(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            wizard.deadline = record._digital_sign_default_deadline() if record else False

    @api.depends(
        "line_ids.invite_channel",
        "line_ids.otp_channel",
        "line_ids.email",
        "line_ids.mobile",
        "line_ids.to_be_named",
    )
    def _compute_contact_warning(self):
        for wizard in self:
            problems = [line._get_problem() for line in wizard.line_ids]
            wizard.contact_warning = "\n".join(p for p in problems if p) or False

    @api.depends("pdf_source", "pdf_file", "attachment_id")
    def _compute_pdf_preview(self):
        """What the chosen PDF will give once sent: the places found in it, and what will be
        removed from it. The file goes through the request's intake first (its checks, then
        the removal of active content), as every PDF that comes in, before any parser looks
        for places: a refused file is explained by the places summary (and refused on
        creation)."""
        Request = self.env["digital.sign.request"]
        for wizard in self:
            wizard.marker_summary = wizard.active_content_warning = False
            data = (
                wizard._get_uploaded_pdf()
                if wizard.pdf_source != "report" and not wizard.template_id
                else b""
            )
            if not data:
                continue
            try:
                _info, sanitized = Request._intake_pdf(data)
            except UserError as error:
                wizard.marker_summary = error.args[0]
                continue
            wizard.active_content_warning = (
                "\n".join(
                    Request._describe_removed_content(entry)
                    for entry in pdf_sanitize.summarize(sanitized.removed)
                )
                or False
            )
            try:
                placements = pdf_markers.detect_markers(
                    sanitized.data, Request._get_marker_options()
                )
            except EngineError as error:
                wizard.marker_summary = engine_error_message(self.env, error)
            else:
                wizard.marker_summary = wizard._summarize_placements(placements)

    def _summarize_placements(self, placements):
        if not placements:
            return self.env._(
                "No signature place was found: mark the document with an arrow "
                "or {{sign:Customer}} anchors, or add places by hand after "
                '"Review places".'
            )
        kinds = dict(const.FIELD_KINDS)
        counts = {}
        for placement in placements:
            key = (
                placement.page,
                placement.role or self.env._("(arrow)"),
                kinds.get(placement.kind),
                placement.mandatory,
            )
            counts[key] = counts.get(key, 0) + 1
        lines = [
            self.env._(
                "Page %(page)s: %(count)s × %(kind)s for %(role)s%(optional)s",
                page=page,
                count=count,
                kind=kind,
                role=role,
                optional="" if mandatory else self.env._(" (optional)"),
            )
            for (page, role, kind, mandatory), count in sorted(counts.items())
        ]
        return "\n".join(lines)

    @api.depends("res_model", "res_id")
    def _compute_live_request_id(self):
        for wizard in self:
            record = wizard._get_record() if wizard.res_model else None
            current = record.digital_sign_request_id if record else False
            wizard.live_request_id = (
                current if current and current.state in const.LIVE_REQUEST_STATES else False
            )
            wizard.live_request_replaced = (
                bool(record) and record._digital_sign_replaces_live_requests()
            )

    # === ONCHANGE === #
    @api.onchange("template_id")
    def _onchange_template_id(self):
        """A template gives the name, deadline, kind and participants (its roles, filled
        from the record: the sender fills the rest)."""
        template = self.template_id
        record = self._get_record() if self.res_model else None
        if not template or not record:
            return
        self.name = template._get_document_name(record)
        self.document_kind = template.document_kind or self.document_kind
        if template.validity_days:
            self.deadline = template._get_deadline()
        self.line_ids = [fields.Command.clear()] + [
            fields.Command.create(values) for values in template._prepare_participants(record)
        ]

    @api.onchange("invite_channel", "otp_channel")
    def _onchange_channels(self):
        otp = self.otp_channel
        if otp == self.invite_channel:
            otp = "sms" if self.invite_channel == "email" else "email"
            self.otp_channel = otp
        for line in self.line_ids:
            line.invite_channel = self.invite_channel
            line.otp_channel = otp

    # === ACTIONS === #
    def action_send(self):
        """Create the request from the document, send it, and (during a conversation) put
        the link in the document's message composer."""
        self.ensure_one()
        request = self._create_request()
        request._check_ready_to_send()
        if request._get_matching_tier_definitions():
            # Approval first: the reviewers are asked now; the owner sends once approved.
            request.request_validation()
            return request._get_records_action(name=request.display_name, context={})
        request.action_send()
        record = self._get_record()
        return record._digital_sign_after_send(request, self)

    def action_review(self):
        """Create the request as a draft and open it, to check or change its places."""
        self.ensure_one()
        return self._create_request()._get_records_action(view_mode="form", context={})

    # === BUSINESS === #
    def _get_uploaded_pdf(self):
        self.ensure_one()
        if self.pdf_source == "upload":
            return decode_binary(self.pdf_file)
        if self.pdf_source == "attachment" and self.attachment_id:
            attachment = self.attachment_id
            if (attachment.res_model, attachment.res_id) != (self.res_model, self.res_id):
                raise UserError(self.env._("Choose an attachment of this document."))
            return attachment.raw or b""
        return b""

    def _create_request(self):
        """Create the draft request: the PDF, its places, its participants.

        :return: the new digital.sign.request
        Note: self.ensure_one()
        """
        self.ensure_one()
        record = self._get_record()
        if not record:
            raise UserError(self.env._("The document no longer exists."))
        record.check_access("write")
        record._digital_sign_check_can_send()
        if not self.line_ids:
            raise UserError(self.env._("Add at least one participant."))
        company = record._digital_sign_get_company()
        if not company._digital_sign_sms_allowed() and self.line_ids.filtered(
            lambda line: line._uses_sms()
        ):
            raise UserError(company._digital_sign_sms_off_message())
        problems = [line._get_problem() for line in self.line_ids if line.mandatory]
        if any(problems):
            raise UserError("\n".join(p for p in problems if p))
        previous = record._digital_sign_handle_live_requests(self)
        if self.template_id:
            return self.template_id._create_request(
                record,
                [
                    {
                        **line._prepare_participant_values(),
                        "template_role_id": line.template_role_id.id,
                    }
                    for line in self.line_ids
                ],
                name=self.name,
                provider=self.provider_id,
                values={
                    "sending_mode": self.sending_mode,
                    "deadline": self.deadline or self.template_id._get_deadline(),
                    "previous_request_id": previous.id if previous else False,
                    "version": (previous.version + 1) if previous else 1,
                },
            )
        vals = record._digital_sign_prepare_request_values(self)
        if not vals.get("original_pdf"):
            raise UserError(self.env._("Choose the PDF to sign."))
        vals.update(
            {
                "name": self.name or record._digital_sign_default_name(),
                "sending_mode": self.sending_mode,
                "deadline": self.deadline,
                "document_kind": self.document_kind or False,
                "provider_id": self.provider_id.id,
                "previous_request_id": previous.id if previous else False,
                "version": (previous.version + 1) if previous else 1,
                "participant_ids": [
                    fields.Command.create(line._prepare_participant_values())
                    for line in self.line_ids
                ],
            }
        )
        request = self.env["digital.sign.request"].create(vals)
        request._detect_fields()
        return request


class DigitalSignRequestSendLine(models.TransientModel):
    _name = "digital.sign.request.send.line"
    _description = "Participant to Invite"
    _order = "signing_order, id"

    # === FIELDS === #
    wizard_id = fields.Many2one("digital.sign.request.send", required=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", string="Contact")
    name = fields.Char(compute="_compute_from_partner", store=True, readonly=False)
    email = fields.Char(compute="_compute_from_partner", store=True, readonly=False)
    mobile = fields.Char(compute="_compute_from_partner", store=True, readonly=False)
    role = fields.Char(required=True, default=lambda self: self.env._("Cosigner"))
    participant_kind = fields.Selection(
        const.PARTICIPANT_KINDS, string="Kind", default="person", required=True
    )
    signing_order = fields.Integer("Order", default=1, required=True)
    mandatory = fields.Boolean(default=True)
    to_be_named = fields.Boolean("Named by the Customer")
    invite_channel = fields.Selection(
        const.CHANNELS, string="Invitation", default="email", required=True
    )
    lang = fields.Selection(
        selection=lambda self: self.env["digital.sign.participant"]._selection_lang(),
        string="Language",
        compute="_compute_from_partner",
        store=True,
        readonly=False,
    )
    otp_channel = fields.Selection(const.OTP_CHANNELS, string="Code", default="none", required=True)
    template_role_id = fields.Many2one(
        "digital.sign.template.role",
        help="Its places in the template go to this participant.",
    )

    # === COMPUTE === #
    @api.depends("partner_id")
    def _compute_from_partner(self):
        for line in self:
            if line.partner_id:
                line.name = line.partner_id.name
                line.email = line.partner_id.email
                line.mobile = line.partner_id.phone
            Participant = self.env["digital.sign.participant"]
            line.lang = (
                line.partner_id.lang
                if Participant._is_signing_lang(line.partner_id.lang)
                else line.lang
            )

    # === ONCHANGE === #
    @api.onchange("participant_kind")
    def _onchange_participant_kind(self):
        for line in self.filtered(lambda line: line.participant_kind == "company"):
            record = line.wizard_id._get_record() if line.wizard_id.res_model else None
            company = (
                record.company_id
                if record is not None and "company_id" in record
                else self.env["res.company"]
            ) or self.env.company
            line.update(
                {
                    "partner_id": False,
                    "name": company.name,
                    "email": False,
                    "mobile": False,
                    "otp_channel": "none",
                    "invite_channel": "email",
                    "to_be_named": False,
                }
            )

    # === BUSINESS === #
    def _usable_mobile(self):
        self.ensure_one()
        if not self.mobile:
            return False
        try:
            self.env["digital.sign.participant"]._format_mobile(self.mobile, self.partner_id.id)
        except UserError:
            return False
        except Exception:  # noqa: BLE001 - ValidationError and friends: not usable
            return False
        return True

    def _uses_sms(self):
        self.ensure_one()
        channels = (
            (self.otp_channel,) if self.to_be_named else (self.invite_channel, self.otp_channel)
        )
        return "sms" in channels

    def _get_problem(self):
        """Why this participant cannot be reached on the chosen channels, or ''."""
        self.ensure_one()
        if self.participant_kind == "company":
            return ""  # the company: its seal keepers are checked when the document is sent
        who = self.name or self.env._("A participant")
        if self._uses_sms():
            record = self.wizard_id._get_record() if self.wizard_id.res_model else None
            company = record._digital_sign_get_company() if record else self.env.company
            if not company._digital_sign_sms_allowed():
                return self.env._(
                    "%(name)s: %(reason)s", name=who, reason=company._digital_sign_sms_off_message()
                )
        if self.to_be_named:
            return ""
        if not self.name:
            return self.env._("%s: a name is needed.", who)
        if self.otp_channel == self.invite_channel:
            return self.env._(
                "%s: the code must travel on another channel than the invitation.", who
            )
        for channel in {self.invite_channel, self.otp_channel} - {"none"}:
            if channel == "email" and not email_normalize(self.email or ""):
                return self.env._("%s has no usable e-mail address.", who)
            if channel == "sms" and not self._usable_mobile():
                return self.env._("%s has no usable mobile number.", who)
        return ""

    def _prepare_participant_values(self):
        self.ensure_one()
        if self.participant_kind == "company":
            return {
                "participant_kind": "company",
                "name": self.name or False,
                "role": self.role,
                "signing_order": self.signing_order,
                "mandatory": self.mandatory,
            }
        return {
            "partner_id": self.partner_id.id,
            "name": self.name or self.role,
            "email": self.email or False,
            "mobile": self.mobile if self._usable_mobile() else False,
            "role": self.role,
            "signing_order": self.signing_order,
            "mandatory": self.mandatory,
            "to_be_named": self.to_be_named,
            "invite_channel": self.invite_channel,
            "otp_channel": self.otp_channel,
            "lang": self.lang or False,
        }
