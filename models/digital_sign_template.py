import base64
import hashlib
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import email_normalize

from .. import const
from ..engine import pdf_markers
from ..engine.errors import EngineError
from ..utils import CheckedPdf, decode_binary, engine_error_message
from .digital_sign_reminder_mixin import REMINDER_FIELDS

# What a template's content is: a change of any of these on a template that was used makes
# a new version (the requests keep their own copy; the version says which content they had).
CONTENT_FIELDS = ("pdf", "role_ids", "place_ids", *REMINDER_FIELDS)
ROLE_FILL = [
    ("customer", "The record's customer"),
    ("user", "The record's salesperson or agent"),
    ("sender", "The sender"),
    ("company", "The company (its seal)"),
    ("manual", "Filled by the sender"),
]


class DigitalSignTemplate(models.Model):
    """A document prepared once and sent many times: its PDF (through the same intake as
    every PDF), its places, its roles, its message, deadline and kind.

    Sending copies the PDF, the places and the reminder plan into a new request
    (``_create_requests``): the request owns its copy, so a later edit of the template never
    changes a sent document. A template that was used gets a new ``version`` when its
    content (PDF, places, roles, reminder plan) changes; each request records the template
    and the version it came from.

    Managers create and edit templates; users (salespeople, agents) read and use them,
    restricted by company and team (record rules).
    """

    _name = "digital.sign.template"
    _description = "Signature Template"
    _inherit = ["mail.thread", "digital.sign.reminder.mixin", "digital.sign.cache.mixin"]
    _order = "sequence, name, id"
    _check_company_auto = True

    # === FIELDS === #
    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: shared by every company.",
    )
    team_ids = fields.Many2many(
        "crm.team",
        string="Sales Teams",
        help="Empty (with no helpdesk team either): every user of the company may use it.",
    )
    helpdesk_team_ids = fields.Many2many("helpdesk.ticket.team", string="Helpdesk Teams")
    tag_ids = fields.Many2many("digital.sign.template.tag", string="Tags")
    pdf = fields.Binary("PDF", attachment=True, copy=True)
    pdf_filename = fields.Char(copy=True)
    pdf_sha256 = fields.Char("SHA-256", readonly=True, copy=True)
    page_count = fields.Integer(readonly=True, copy=True)
    page_geometry = fields.Json(readonly=True, copy=True)
    role_ids = fields.One2many(
        "digital.sign.template.role", "template_id", string="Roles", copy=True
    )
    place_ids = fields.One2many(
        "digital.sign.template.place", "template_id", string="Places", copy=False
    )
    place_count = fields.Integer(compute="_compute_place_count")
    message = fields.Html(
        "Default Message",
        sanitize=True,
        help="Shown in the invitation e-mail of every document sent from this template.",
    )
    validity_days = fields.Integer(
        "Deadline (days)",
        help="Days the document stays open once sent; 0: the settings' default validity.",
    )
    document_kind = fields.Selection(const.SALE_DOCUMENT_KINDS)
    reminder_mode = fields.Selection(tracking=True)
    version = fields.Integer(default=1, readonly=True, copy=False, tracking=True)
    request_ids = fields.One2many("digital.sign.request", "template_id", string="Documents")
    request_count = fields.Integer("Documents Sent", compute="_compute_request_count")

    # === COMPUTE === #
    @api.depends("place_ids")
    def _compute_place_count(self):
        for template in self:
            template.place_count = len(template.place_ids)

    def _compute_request_count(self):
        counts = dict(
            self.env["digital.sign.request"]
            .sudo()
            ._read_group([("template_id", "in", self.ids)], ["template_id"], ["__count"])
        )
        for template in self:
            template.request_count = counts.get(template, 0)

    # === CONSTRAINTS === #
    @api.constrains("validity_days")
    def _check_validity_days(self):
        if any(template.validity_days < 0 for template in self):
            raise ValidationError(self.env._("The deadline cannot be negative."))

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("pdf"):
                vals.update(self._prepare_pdf_values(vals["pdf"]))
        templates = super().create(vals_list)
        if self.env.context.get("digital_sign_template_copy"):
            return templates  # copy() copies the places, each to the copy of its role
        for template, vals in zip(templates, vals_list, strict=True):
            if vals.get("pdf") and not vals.get("place_ids"):
                template._detect_places()
        return templates

    def write(self, vals):
        self.filtered(lambda t: t._content_changes(vals))._new_version_if_used()
        if "pdf" in vals:
            vals.update(self._prepare_pdf_values(vals["pdf"]))
        result = super().write(vals)
        if vals.get("pdf"):
            for template in self:
                template.place_ids.filtered(lambda p: p.source != "manual").unlink()
                template._detect_places()
        return result

    def copy(self, default=None):
        """A copy gets the roles (copy=True) and the places, each to the copy of its role."""
        copies = super(
            DigitalSignTemplate, self.with_context(digital_sign_template_copy=True)
        ).copy(default)
        new_templates = copies.with_env(self.env)  # the caller's context back, without the flag
        for old, new in zip(self, new_templates, strict=True):
            roles = dict(zip(old.role_ids, new.role_ids, strict=True))
            self.env["digital.sign.template.place"].create(
                [
                    place.copy_data(
                        {
                            "template_id": new.id,
                            "role_id": roles.get(place.role_id, place.role_id).id,
                        }
                    )[0]
                    for place in old.place_ids
                ]
            )
        return new_templates

    def copy_data(self, default=None):
        default = dict(default or {})
        vals_list = super().copy_data(default)
        if "name" not in default:
            for template, vals in zip(self, vals_list, strict=True):
                vals["name"] = self.env._("%s (copy)", template.name)
        return vals_list

    # === ACTIONS === #
    def action_open_places_editor(self):
        """The places editor on the template's pages (the same editor as a document's)."""
        self.ensure_one()
        self.check_access("read")
        if not self.pdf:
            raise UserError(self.env._("Upload the template's PDF first."))
        return self.env["digital.sign.template.place"]._get_places_editor_action(self)

    def action_detect_places(self):
        """Replace the detected (non-manual) places by a fresh detection of the markers."""
        for template in self:
            template._new_version_if_used()
            template.place_ids.filtered(lambda p: p.source != "manual").unlink()
            template._detect_places()

    def action_view_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.digital_sign_request_action"
        )
        action["domain"] = [("template_id", "=", self.id)]
        action["context"] = {"create": False}
        return action

    # === PLACES EDITOR (RPC of the backend editor, with the user's rights) === #
    @api.model
    def get_places_editor_data(self, template_id):
        """What the places editor shows of template ``template_id`` (the same shape as
        ``digital.sign.field.get_places_editor_data``; the template's roles stand for the
        participants, and a place's ``participant_id`` is its role's id).

        :param int template_id: the digital.sign.template the editor opened
        :return: dict (see digital.sign.field.get_places_editor_data)
        :raise AccessError: when the user may not read the template
        """
        template = self.browse(template_id)
        template.ensure_one()
        template.check_access("read")
        return {
            **template.place_ids._get_places_editor_data(
                template, const.TEMPLATE_PAGE_PATH, template.pdf_sha256
            ),
            "name": self.env._("version %s", template.version),
            "editable": template.has_access("write"),
            "is_template": True,
            "participants": [
                {"id": role.id, "name": role.name, "role": ""} for role in template.role_ids
            ],
        }

    @api.model
    def save_places_editor_data(self, template_id, changes):
        """Apply the places editor's changes to template ``template_id``, all or nothing (see
        ``digital.sign.field.save_places_editor_data``). A template that was used gets a new
        version first.

        :return: the editor's data after the save
        :raise AccessError: when the user may not change templates (managers only)
        """
        template = self.browse(template_id)
        template.ensure_one()
        template.check_access("write")
        changes = changes or {}
        if any(changes.get(key) for key in ("create", "write", "unlink")):
            template._new_version_if_used()
        self.env["digital.sign.template.place"]._apply_places_editor_changes(template, changes)
        return self.get_places_editor_data(template.id)

    # === BUSINESS === #
    @api.model
    def _prepare_pdf_values(self, value):
        """The PDF goes through the intake of every PDF (checks, active content removed):
        the template keeps the cleaned file, which every document sent from it copies.

        :raise UserError: the engine refused the file (its message says why)
        """
        if not value:
            return {"pdf_sha256": False, "page_count": 0, "page_geometry": False}
        info, sanitized = self.env["digital.sign.request"]._intake_pdf(decode_binary(value))
        values = {
            "pdf_sha256": hashlib.sha256(sanitized.data).hexdigest(),
            "page_count": info.page_count,
            "page_geometry": [[page.width, page.height] for page in info.pages],
        }
        if sanitized.changed:
            values["pdf"] = base64.b64encode(sanitized.data)
        return values

    def _get_pdf_bytes(self):
        self.ensure_one()
        return decode_binary(self.sudo().pdf)

    def _detect_places(self):
        """Create a place for every marker of the PDF, for the role it names (a role is
        added when the template has none of that name: the record's customer for the first
        one when no role is, else one the sender fills; arrows go to the first role).

        Note: self.ensure_one()
        """
        self.ensure_one()
        data = self._get_pdf_bytes()
        if not data:
            return self.env["digital.sign.template.place"]
        Request = self.env["digital.sign.request"]
        try:
            placements = pdf_markers.detect_markers(data, Request._get_marker_options())
        except EngineError as error:
            raise UserError(engine_error_message(self.env, error)) from error
        roles = {role.name.strip().casefold(): role for role in self.role_ids}
        for placement in placements:
            key = (placement.role or "").strip().casefold()
            if key and key not in roles:
                roles[key] = self.env["digital.sign.template.role"].create(
                    {
                        "template_id": self.id,
                        "name": placement.role,
                        "sequence": len(roles) + 1,
                        "signing_order": 1,
                        # The first role found is the record's customer, unless a role is
                        # already; the others are filled by the sender.
                        "fill_from": "manual"
                        if any(role.fill_from == "customer" for role in roles.values())
                        else "customer",
                        "mandatory": placement.mandatory,
                    }
                )
        first = self.role_ids.sorted(lambda r: (r.sequence, r.id))[:1]
        Place = self.env["digital.sign.template.place"]
        return Place.create(
            [
                {
                    **Place._prepare_placement_values(placement),
                    "template_id": self.id,
                    "role_id": (roles.get((placement.role or "").strip().casefold()) or first).id,
                    "role": placement.role or False,
                }
                for placement in placements
            ]
        )

    def _content_changes(self, vals):
        """Whether writing ``vals`` changes this template's content (see CONTENT_FIELDS):
        its PDF, roles or places are written, or its reminder plan takes other values.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return any(
            key in vals and (key not in REMINDER_FIELDS or self[key] != vals[key])
            for key in CONTENT_FIELDS
        )

    def _is_used(self):
        """True when a document was made from the current version.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return bool(self.id) and bool(
            self.env["digital.sign.request"]
            .sudo()
            .search_count(
                [("template_id", "=", self.id), ("template_version", "=", self.version)], limit=1
            )
        )

    def _new_version_if_used(self):
        """Before the content of a used template changes: the next documents come from a new
        version (the sent ones keep their own copy and their version number)."""
        for template in self:
            if template._is_used():
                template.sudo().version = template.version + 1
                template.message_post(
                    body=self.env._(
                        "Version %(version)s: the content changed after documents were sent from "
                        "version %(previous)s (they keep their own copy).",
                        version=template.version,
                        previous=template.version - 1,
                    )
                )

    def _get_page_image(self, page):
        """One page as the places editor shows it (anchors hidden), cached as a private
        attachment keyed by the PDF's SHA-256.

        :return: ``(bytes, mimetype)``
        Note: self.ensure_one()
        """
        self.ensure_one()
        return self._get_cached_page_image(
            f"digital_sign_template_page_{self.pdf_sha256}_{page}",
            page,
            lambda: pdf_markers.hide_markers(self._get_pdf_bytes()),
        )

    def _check_usable(self):
        """Raise a UserError when documents cannot be sent from this template.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.active:
            raise UserError(self.env._("The template %s is archived.", self.name))
        if not self.pdf:
            raise UserError(self.env._("The template %s has no PDF.", self.name))
        if not self.role_ids:
            raise UserError(self.env._("The template %s has no role.", self.name))
        if not self.place_ids.filtered(
            lambda p: p.mandatory and p.kind in ("signature", "initials")
        ):
            raise UserError(
                self.env._("The template %s has no mandatory signature place.", self.name)
            )

    def _get_document_name(self, record):
        """The name of a document sent from this template on ``record``: the template's,
        with the record's when it is not the contact itself (a customer cannot have two
        live documents of the same name: two quotations, two tickets)."""
        self.ensure_one()
        if record._name == "res.partner":
            return self.name
        return f"{self.name} - {record.display_name}"

    def _get_deadline(self, now=None):
        self.ensure_one()
        if not self.validity_days:
            return False
        return (now or fields.Datetime.now()) + timedelta(days=self.validity_days)

    def _prepare_participants(self, record, sender=None):
        """The participants of a document sent from this template on ``record``: each role
        filled from the record (its customer, its salesperson or agent), with the sender, or
        with the company itself (its seal, applied by a seal keeper); a role "Filled by the
        sender" is left empty for the sender to fill.

        :param record: a record carrying digital.sign.mixin
        :param sender: res.users sending (default: the current user)
        :return: list of dicts of digital.sign.request.send.line values (with ``role_id``)
        """
        self.ensure_one()
        sender = sender or self.env.user
        customer = record._digital_sign_get_partner()
        user = (
            record.user_id
            if "user_id" in record and record._fields["user_id"].comodel_name == "res.users"
            else sender
        )
        company = (
            record.company_id
            if "company_id" in record and record._fields["company_id"].comodel_name == "res.company"
            else self.env["res.company"]
        ) or self.env.company
        lines = []
        for role in self.role_ids.sorted(lambda r: (r.sequence, r.id)):
            if role.fill_from == "company":
                lines.append(
                    {
                        "role": role.name,
                        "signing_order": role.signing_order,
                        "mandatory": role.mandatory,
                        "invite_channel": "email",
                        "otp_channel": "none",
                        "template_role_id": role.id,
                        "participant_kind": "company",
                        "partner_id": False,
                        "name": company.name,
                        "email": False,
                        "mobile": False,
                    }
                )
                continue
            partner = {
                "customer": customer,
                "user": (user or sender).partner_id,
                "sender": sender.partner_id,
            }.get(role.fill_from)
            values = {
                "role": role.name,
                "signing_order": role.signing_order,
                "mandatory": role.mandatory,
                "invite_channel": role.invite_channel,
                "otp_channel": role.otp_channel,
                "template_role_id": role.id,
                "partner_id": partner.id if partner else False,
                "name": partner.name if partner else False,
                "email": partner.email or False if partner else False,
                "mobile": partner.phone or False if partner else False,
            }
            if role.fill_from == "customer" and not partner:
                # A ticket from an unknown sender: its name and address are all there is.
                contact = (record._digital_sign_get_default_participants() or [{}])[0]
                values.update(
                    {key: contact[key] for key in ("name", "email", "mobile") if contact.get(key)}
                )
            lines.append(values)
        return lines

    @api.model
    def _get_contact_problem(self, values):
        """Why a participant with ``values`` cannot be reached on its channels, or ''."""
        who = values.get("name") or values.get("role")
        if values.get("participant_kind") == "company":
            return ""  # its seal keepers are checked when the document is sent
        if not values.get("name"):
            return self.env._("%s: no contact.", who)
        for channel in {values.get("invite_channel"), values.get("otp_channel")} - {"none", None}:
            if channel == "email" and not email_normalize(values.get("email") or ""):
                return self.env._("%s has no usable e-mail address.", who)
            if channel == "sms":
                if not values.get("mobile"):
                    return self.env._("%s has no mobile number.", who)
                try:
                    self.env["digital.sign.participant"]._format_mobile(
                        values["mobile"], values.get("partner_id")
                    )
                except (UserError, ValidationError):
                    return self.env._(
                        '%(who)s: "%(number)s" is not a valid mobile number.',
                        who=who,
                        number=values["mobile"],
                    )
        return ""

    def _create_request(self, record, participants, name=None, provider=None, values=None):
        """Create the draft request of ``record`` from this template: its own copy of the
        PDF and of the places, the participants given, the template and version recorded.

        :param record: a record carrying digital.sign.mixin
        :param participants: list of participant value dicts (``_prepare_participants``
            shape; ``template_role_id`` ties a participant to its role's places)
        :param dict values: more request values (the send wizard's mode, deadline, version)
        :return: the new digital.sign.request (draft)
        Note: self.ensure_one()
        """
        return self._create_requests(
            [(record, participants, name)], provider=provider, values=values
        )

    def _create_requests(self, batch, provider=None, values=None):
        """Create the draft requests of several records from this template in one batch
        (a bulk send): each one as ``_create_request`` makes it. The PDF goes through the
        intake once for the whole batch, and all the copies share its file.

        :param list batch: ``(record, participants, name or None)`` of each request
        :param provider: digital.sign.provider of the requests (default: the default one)
        :param dict values: more values for every request
        :return: the new digital.sign.request records, in the order of ``batch``
        Note: self.ensure_one()
        """
        self.ensure_one()
        self._check_usable()
        checked = self._prepare_checked_pdf()
        deadline = self._get_deadline()
        Request = self.env["digital.sign.request"]
        provider = provider or Request._default_provider_id()  # once, not once a request
        vals_list = []
        for record, participants, name in batch:
            request_values = record._digital_sign_prepare_template_request_values(self)
            request_values.update(
                {
                    "name": name or self._get_document_name(record),
                    "original_pdf": checked.datas,
                    "original_filename": self.pdf_filename or f"{self.name}.pdf",
                    "deadline": deadline,
                    "document_kind": self.document_kind or False,
                    "invitation_message": self.message or False,
                    "template_id": self.id,
                    "template_version": self.version,
                    "participant_ids": [
                        fields.Command.create(self._prepare_participant_values(vals))
                        for vals in participants
                    ],
                    **self._prepare_reminder_values(),
                }
            )
            if provider:
                request_values["provider_id"] = provider.id
            request_values.update(values or {})
            vals_list.append(request_values)
        requests = (
            Request.with_context(digital_sign_checked_pdf=checked)
            .create(vals_list)
            .with_env(self.env)
        )
        self._copy_places_to(requests, [participants for _record, participants, _name in batch])
        return requests

    def _prepare_checked_pdf(self):
        """The template's PDF as the documents sent from it copy it: through the intake of
        every PDF once (the settings' limits as they are now, the hashes and pages computed
        from the bytes themselves), whatever the number of documents (utils.CheckedPdf).

        Note: self.ensure_one()
        """
        self.ensure_one()
        datas = self.sudo().pdf
        values = self.env["digital.sign.request"]._prepare_document_values(datas)
        return CheckedPdf(values.pop("original_pdf", None) or datas, values)

    @api.model
    def _prepare_participant_values(self, values):
        """Participant values from a ``_prepare_participants`` dict: the mobile only when a
        channel uses it (a stored number is checked; an unused one is not kept)."""
        vals = {key: value for key, value in values.items() if key != "template_role_id"}
        if "sms" not in (vals.get("invite_channel"), vals.get("otp_channel")):
            vals["mobile"] = False
        return vals

    def _copy_places_to(self, requests, participants_list):
        """Give each of ``requests`` its own copy of the template's places, each to the
        participant of its role (all in one batch). The flow writes them (where a place
        came from is evidence).

        :param requests: the new digital.sign.request records
        :param list participants_list: the participants given for each request, in order
        """
        self.ensure_one()
        places = self.sudo().place_ids
        fields_vals = []
        for request, participants in zip(requests, participants_list, strict=True):
            by_role = {}
            for vals, participant in zip(
                participants, request.participant_ids.sorted("id"), strict=True
            ):
                if vals.get("template_role_id"):
                    by_role[vals["template_role_id"]] = participant
            fields_vals += [
                {
                    "request_id": request.id,
                    "participant_id": by_role[place.role_id.id].id
                    if place.role_id.id in by_role
                    else False,
                    "page": place.page,
                    "x0": place.x0,
                    "y0": place.y0,
                    "x1": place.x1,
                    "y1": place.y1,
                    "kind": place.kind,
                    "role": place.role_id.name or place.role or False,
                    "mandatory": place.mandatory,
                    "source": place.source,
                    "marker": place.marker,
                }
                for place in places
            ]
        self.env["digital.sign.field"].sudo().create(fields_vals)


class DigitalSignTemplateRole(models.Model):
    _name = "digital.sign.template.role"
    _description = "Signature Template Role"
    _order = "template_id, sequence, id"
    _inherit = ["digital.sign.template.content.mixin"]

    # === FIELDS === #
    name = fields.Char(
        "Role",
        required=True,
        help="Customer, Cosigner... Markers of the PDF name it ({{sign:Customer}}).",
    )
    sequence = fields.Integer(default=10)
    signing_order = fields.Integer("Order", default=1, required=True)
    mandatory = fields.Boolean(default=True)
    fill_from = fields.Selection(ROLE_FILL, string="Who", default="customer", required=True)
    invite_channel = fields.Selection(
        const.CHANNELS, string="Invitation", default="email", required=True
    )
    otp_channel = fields.Selection(const.OTP_CHANNELS, string="Code", default="none", required=True)

    # === CONSTRAINTS === #
    _name_uniq = models.Constraint(
        "UNIQUE(template_id, name)", "A role appears once in a template."
    )

    @api.constrains("invite_channel", "otp_channel")
    def _check_channels(self):
        for role in self:
            if role.invite_channel == role.otp_channel:
                raise ValidationError(
                    self.env._(
                        "%s: the code must travel on another channel than the invitation.",
                        role.name,
                    )
                )


class DigitalSignTemplatePlace(models.Model):
    _name = "digital.sign.template.place"
    _description = "Signature Template Place"
    _order = "template_id, page, y0, x0, id"
    _inherit = ["digital.sign.template.content.mixin", "digital.sign.place.mixin"]
    _place_document_field = "template_id"

    # === FIELDS === #
    role_id = fields.Many2one(
        "digital.sign.template.role",
        string="Role Of",
        index=True,
        ondelete="set null",
        domain="[('template_id', '=', template_id)]",
    )

    # === CONSTRAINTS === #
    @api.constrains("role_id", "template_id")
    def _check_role(self):
        for place in self.filtered("role_id"):
            if place.role_id.template_id != place.template_id:
                raise ValidationError(self.env._("A place belongs to a role of its template."))

    # === PLACES (digital.sign.place.mixin): a place's participant is its role === #
    def _get_missing_page_message(self):
        self.ensure_one()
        return self.env._("Page %s does not exist in the template.", self.page)

    def _prepare_editor_place(self):
        return {
            **super()._prepare_editor_place(),
            "role": self.role_id.name or self.role or "",
            "participant_id": self.role_id.id or False,
        }

    def _prepare_editor_values(self, values):
        vals = super()._prepare_editor_values(values)
        if "participant_id" in vals:
            vals["role_id"] = vals.pop("participant_id") or False
        return vals


class DigitalSignTemplateTag(models.Model):
    _name = "digital.sign.template.tag"
    _description = "Signature Template Tag"
    _order = "name"

    # === FIELDS === #
    name = fields.Char(required=True, translate=True)
    color = fields.Integer()

    _name_uniq = models.Constraint("UNIQUE(name)", "A tag with this name exists already.")
