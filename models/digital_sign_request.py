import base64
import hashlib
import json
import logging
import urllib.parse
from datetime import UTC, timedelta

import pytz
from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from .. import const
from ..engine import (
    audit,
    completion_certificate,
    pades,
    pades_verify,
    pdf_intake,
    pdf_markers,
    pdf_sanitize,
    pdf_stamp,
    providers,
    x509,
)
from ..engine import otp as otp_tools
from ..engine.errors import EngineError, SealError, TimestampUnavailable, UnsafeUrl
from ..utils import (
    CheckedPdf,
    active_content_label,
    client_info,
    decode_binary,
    engine_error_message,
)

_logger = logging.getLogger(__name__)


class DigitalSignRequest(models.Model):
    _name = "digital.sign.request"
    _description = "Document for Signature"
    _inherit = [
        "portal.mixin",
        "mail.thread",
        "mail.activity.mixin",
        "digital.sign.evidence.mixin",
        "digital.sign.reminder.mixin",
        "digital.sign.cache.mixin",
    ]
    _order = "id desc"
    _rec_names_search = ["name", "reference"]
    _check_company_auto = True

    # === FIELDS === #
    reference = fields.Char(
        readonly=True, copy=False, index="trigram", default="/", evidence="flow"
    )
    name = fields.Char(required=True, tracking=True, evidence="draft")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        evidence="draft",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        evidence="open",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        index=True,
        check_company=True,
        default=lambda self: self._default_team_id(),
        evidence="draft",
    )
    helpdesk_team_id = fields.Many2one("helpdesk.ticket.team", index=True, evidence="draft")
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        index=True,
        tracking=True,
        check_company=True,
        evidence="draft",
    )
    res_model = fields.Char("Linked Model", index=True, readonly=True, evidence="create")
    res_id = fields.Many2oneReference(
        "Linked Record ID", model_field="res_model", readonly=True, evidence="create"
    )
    res_name = fields.Char("Linked Record", compute="_compute_res_name")
    res_model_name = fields.Char("Linked Document Type", compute="_compute_res_name")
    original_pdf = fields.Binary("Original PDF", attachment=True, copy=False, evidence="draft")
    original_filename = fields.Char(copy=False, evidence="draft")
    original_sha256 = fields.Char("Original SHA-256", readonly=True, copy=False, evidence="flow")
    uploaded_sha256 = fields.Char(
        "Uploaded File SHA-256",
        readonly=True,
        copy=False,
        evidence="flow",
        help="The file as it was uploaded. It differs from the original's when active content "
        "was removed from it at intake.",
    )
    removed_content = fields.Json(
        readonly=True,
        copy=False,
        evidence="flow",
        help="What was removed from the upload: engine.pdf_sanitize.summarize() of it.",
    )
    removed_content_summary = fields.Text(
        "Active Content Removed", compute="_compute_removed_content_summary"
    )
    signed_pdf = fields.Binary(
        "Signed PDF", attachment=True, readonly=True, copy=False, evidence="flow"
    )
    signed_filename = fields.Char(readonly=True, copy=False, evidence="flow")
    signed_sha256 = fields.Char(
        "Signed SHA-256", readonly=True, copy=False, index="btree_not_null", evidence="flow"
    )
    page_count = fields.Integer(readonly=True, copy=False, evidence="flow")
    page_geometry = fields.Json(readonly=True, copy=False, evidence="flow")
    deadline = fields.Datetime(tracking=True, copy=False, evidence="open")
    sending_mode = fields.Selection(
        [("standard", "Standard"), ("conversation", "During a conversation")],
        default="standard",
        required=True,
        evidence="draft",
        help="During a conversation, the deadline is the number of signatures times the "
        "single-signature timeout of the settings.",
    )
    state = fields.Selection(
        const.REQUEST_STATES,
        default="draft",
        required=True,
        tracking=True,
        index=True,
        copy=False,
        group_expand="_group_expand_states",
        evidence="flow",
    )
    provider_id = fields.Many2one(
        "digital.sign.provider",
        index=True,
        check_company=True,
        default=lambda self: self._default_provider_id(),
        tracking=True,
        evidence="draft",
    )
    provider_code = fields.Selection(related="provider_id.code")
    provider_reference = fields.Char(
        readonly=True, copy=False, index="btree_not_null", evidence="flow"
    )
    state_message = fields.Text(readonly=True, copy=False, evidence="flow")
    last_checked_at = fields.Datetime(
        "Status Checked At", readonly=True, copy=False, evidence="flow"
    )
    provider_sync_state = fields.Selection(
        [
            ("none", "Not with a service"),
            ("to_send", "To send to the service"),
            ("sent", "With the service"),
            ("error", "Refused by the service"),
        ],
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        evidence="flow",
    )
    provider_status = fields.Char("Service Status", readonly=True, copy=False, evidence="flow")
    provider_failures = fields.Integer(readonly=True, copy=False, evidence="flow")
    provider_next_check_at = fields.Datetime(
        readonly=True, copy=False, index="btree_not_null", evidence="flow"
    )
    provider_refresh_requested = fields.Boolean(readonly=True, copy=False, evidence="flow")
    provider_cancel_state = fields.Selection(
        const.PROVIDER_CANCEL_STATES,
        string="Cancellation at the Service",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        evidence="flow",
        help="A document cancelled here while a signature service holds it: its envelope is "
        "withdrawn at the service (retried until the service confirms).",
    )
    provider_cancel_attempts = fields.Integer(readonly=True, copy=False, evidence="flow")
    provider_cancel_next_at = fields.Datetime(
        readonly=True, copy=False, index="btree_not_null", evidence="flow"
    )
    participant_ids = fields.One2many(
        "digital.sign.participant", "request_id", string="Participants", copy=True
    )
    field_ids = fields.One2many("digital.sign.field", "request_id", string="Fields")
    event_ids = fields.One2many("digital.sign.event", "request_id", string="Audit Trail")
    audit_head = fields.Char(readonly=True, copy=False, groups="base.group_system", evidence="flow")
    anchor_ids = fields.One2many(
        "digital.sign.anchor", "request_id", string="Anchors", groups="digital_sign.group_manager"
    )
    sent_on = fields.Datetime(readonly=True, copy=False, evidence="flow")
    signed_on = fields.Datetime(readonly=True, copy=False, evidence="flow")
    finalize_state = fields.Selection(
        [("none", "Not yet"), ("pending", "Finalising"), ("done", "Done"), ("error", "Error")],
        string="Final Document",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        evidence="flow",
    )
    finalize_error = fields.Text(readonly=True, copy=False, evidence="flow")
    interim_pdf = fields.Binary(
        "Document Awaiting its Seal",
        attachment=True,
        readonly=True,
        copy=False,
        groups="base.group_system",
        evidence="flow",
    )
    seal_state = fields.Selection(
        const.SEAL_STATES, default="none", required=True, readonly=True, copy=False, evidence="flow"
    )
    cancel_reason = fields.Text(readonly=True, copy=False, evidence="flow")
    reject_reason = fields.Text(readonly=True, copy=False, evidence="flow")
    document_kind = fields.Char(readonly=True, copy=False, evidence="create")
    source_hash = fields.Char(
        readonly=True,
        copy=False,
        evidence="create",
        help="Digest of the linked record's content when the PDF was made from it: signing "
        "is refused once the record changed.",
    )
    version = fields.Integer(default=1, readonly=True, copy=False, evidence="create")
    previous_request_id = fields.Many2one(
        "digital.sign.request",
        string="Previous Version",
        readonly=True,
        copy=False,
        index="btree_not_null",
        evidence="create",
    )
    template_id = fields.Many2one(
        "digital.sign.template",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
        evidence="create",
        help="The template this document was made from (it has its own copy of the PDF and "
        "the places).",
    )
    template_version = fields.Integer(readonly=True, copy=False, evidence="create")
    invitation_message = fields.Html(
        sanitize=True,
        copy=False,
        evidence="draft",
        help="A message shown in the invitation e-mail (a template's default message).",
    )
    # The reminder plan (digital.sign.reminder.mixin): a template's copy, or the settings'.
    reminder_mode = fields.Selection(tracking=True, evidence="draft")
    reminder_first_days = fields.Integer(evidence="draft")
    reminder_interval_days = fields.Integer(evidence="draft")
    reminder_max = fields.Integer(evidence="draft")
    participant_count = fields.Integer(compute="_compute_counts")
    field_count = fields.Integer(compute="_compute_counts")
    signed_participant_count = fields.Integer(compute="_compute_counts")
    progress_label = fields.Char("Signatures", compute="_compute_counts")
    color = fields.Integer(compute="_compute_color")
    active = fields.Boolean(default=True, tracking=True)
    link_participant_ids = fields.Many2many(
        "digital.sign.participant",
        string="Live Links",
        compute="_compute_link_participant_ids",
        help="The participants whose live signing link (and its QR code) the current user may see.",
    )
    can_sign_now = fields.Boolean(compute="_compute_can_sign_now")
    provider_document_url = fields.Char(
        "Document at the Service",
        compute="_compute_provider_document_url",
        help="Opens the document at the signature service (its reference there).",
    )

    # === SQL === #
    _reference_uniq = models.Constraint(
        "UNIQUE(reference, company_id)", "The reference of a document must be unique."
    )

    # === COMPUTE === #
    def _default_provider_id(self):
        return self.env["digital.sign.provider"]._get_default_provider()

    def _default_team_id(self):
        return self.env.user.sale_team_id if "sale_team_id" in self.env.user else False

    def _group_expand_states(self, states, domain):
        # Every state is a column (in the order of the flow) on the dashboard, empty or not.
        return [key for key, _label in const.REQUEST_STATES]

    @api.depends("res_model", "res_id")
    @api.depends_context("uid")
    def _compute_res_name(self):
        linked = self._get_linked_records()
        for request in self:
            record = linked[request.id]
            # Never the name of a record this user cannot read.
            request.res_name = (
                record.display_name
                if record and record.has_access("read")
                else self.env._("(restricted)")
                if record
                else False
            )
            request.res_model_name = (
                self.env["ir.model"]._get(request.res_model).name if record else False
            )

    @api.depends("removed_content")
    def _compute_removed_content_summary(self):
        for request in self:
            request.removed_content_summary = (
                "\n".join(
                    request._describe_removed_content(entry)
                    for entry in request.removed_content or ()
                )
                or False
            )

    @api.depends("participant_ids.state", "participant_ids.mandatory", "field_ids")
    def _compute_counts(self):
        for request in self:
            participants = request.participant_ids
            mandatory = participants.filtered("mandatory")
            signed = participants.filtered(lambda p: p.state == "signed")
            request.update(
                {
                    "participant_count": len(participants),
                    "field_count": len(request.field_ids),
                    "signed_participant_count": len(signed),
                    "progress_label": f"{len(signed & mandatory)} / {len(mandatory)}",
                }
            )

    @api.depends("state")
    def _compute_color(self):
        colors = {
            "draft": 0,
            "sent": 4,
            "viewed": 2,
            "signed": 10,
            "rejected": 1,
            "cancelled": 3,
            "expired": 5,
        }
        for request in self:
            request.color = colors.get(request.state, 0)

    @api.depends("state", "participant_ids.state")
    @api.depends_context("uid")
    def _compute_link_participant_ids(self):
        for request in self:
            request.link_participant_ids = request.participant_ids.filtered(
                lambda p: p._get_visible_signing_url()
            )

    @api.depends("state", "participant_ids.state")
    @api.depends_context("uid")
    def _compute_can_sign_now(self):
        for request in self:
            request.can_sign_now = bool(request.id) and bool(request._get_sign_now_participant())

    @api.depends("provider_id", "provider_reference")
    def _compute_provider_document_url(self):
        for request in self:
            request.provider_document_url = (
                request.provider_id._get_document_url(request)
                if request.provider_id and request.provider_reference
                else False
            ) or False

    def _compute_access_url(self):
        super()._compute_access_url()
        for request in self:
            request.access_url = f"/my/signatures/{request.id}"

    # === CONSTRAINTS === #
    @api.constrains("name", "partner_id", "state")
    def _check_name_unique_live(self):
        """A customer cannot have two live documents with the same name (the contact-centre
        rule: an upload named like a valid document is refused). One query for a batch."""
        live = self.filtered(lambda r: r.state in const.LIVE_REQUEST_STATES)
        if not live:
            return
        domain = (
            Domain("name", "in", list(set(live.mapped("name"))))
            & Domain("partner_id", "in", [False, *live.partner_id.ids])
            & Domain("company_id", "in", live.company_id.ids)
            & Domain("state", "in", const.LIVE_REQUEST_STATES)
        )
        found = {}
        for existing in self.sudo().search(domain, order="id"):
            key = (existing.name, existing.partner_id.id, existing.company_id.id)
            found.setdefault(key, []).append(existing)
        for request in live:
            key = (request.name, request.partner_id.id, request.company_id.id)
            existing = next((other for other in found.get(key, ()) if other.id != request.id), None)
            if existing:
                raise ValidationError(
                    self.env._(
                        '%(customer)s already has a document named "%(name)s" that is still '
                        "live: %(existing)s. Cancel it, or give this one another name.",
                        customer=request.partner_id.display_name or self.env._("This customer"),
                        name=request.name,
                        existing=existing.reference,
                    )
                )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        for vals in vals_list:
            if vals.get("original_pdf"):
                vals.update(self._prepare_document_values(vals["original_pdf"]))
        self._prepare_references(vals_list)
        requests = super().create(vals_list)
        if not self.env.su:
            # Constraints run as the superuser: the user's own right comes here.
            for model, ids in requests.filtered("res_model").grouped("res_model").items():
                self.env[model].browse(set(ids.mapped("res_id"))).check_access("write")
        # The sequence of a new chain is known: its first events need no look-up.
        self.env.cr.cache.setdefault("digital_sign_event_heads", {}).update(
            {(request_id, ""): 0 for request_id in requests.ids}
        )
        self._log_events(
            [
                {"request": request, "event_type": "created", "details": {"name": request.name}}
                for request in requests
            ]
        )
        for request, vals in zip(requests, vals_list, strict=True):
            if vals.get("original_pdf"):  # removed_content comes from the upload, not the caller
                request._log_removed_content()
        requests._sync_linked_records()
        return requests

    @api.model
    def _prepare_references(self, vals_list):
        """Give each of ``vals_list`` without one the next reference of its company's
        sequence (looked up once per company, whatever the number of documents)."""
        Sequence = self.env["ir.sequence"].sudo()
        sequences = {}
        for vals in vals_list:
            if vals.get("reference") and vals["reference"] != "/":
                continue
            company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            if company.id not in sequences:
                sequences[company.id] = Sequence.search(
                    [
                        ("code", "=", "digital.sign.request"),
                        ("company_id", "in", [company.id, False]),
                    ],
                    order="company_id",
                    limit=1,
                ).with_company(company)
            sequence = sequences[company.id]
            vals["reference"] = (sequence._next() if sequence else False) or "/"

    def write(self, vals):
        self._evidence_check_write(vals)
        if "active" in vals and not vals["active"] and not self.env.su:
            open_requests = self.filtered(lambda r: r.state in const.OPEN_REQUEST_STATES)
            if open_requests:
                raise UserError(
                    self.env._(
                        "%(refs)s: a document out for signature cannot be archived; cancel it first.",
                        refs=", ".join(open_requests.mapped("reference")),
                    )
                )
        if "original_pdf" in vals:
            if any(request.state != "draft" for request in self):
                raise UserError(
                    self.env._(
                        "The document of a request cannot change once it was sent: cancel it and "
                        "send a new version."
                    )
                )
            vals.update(self._prepare_document_values(vals["original_pdf"]))
            if vals.get("original_pdf"):
                self.field_ids.filtered(lambda f: f.source != "manual").unlink()
        if "deadline" in vals and not self.env.su:
            for request in self.filtered(lambda r: r.state in const.OPEN_REQUEST_STATES):
                request._log_event(
                    "deadline_changed",
                    details={
                        "old": fields.Datetime.to_string(request.deadline) or "",
                        "new": fields.Datetime.to_string(
                            fields.Datetime.to_datetime(vals["deadline"])
                        )
                        or "",
                    },
                )
        result = super().write(vals)
        if vals.get("original_pdf") and vals.get("removed_content"):
            for request in self:
                request._log_removed_content()
        if "state" in vals:
            self._sync_linked_records()
        return result

    def copy(self, default=None):
        """Copy a document with its participants and places (never its evidence). Places
        are copied by the flow: their origin (an anchor found in the PDF) is not user input,
        and each copied place goes to the copy of its participant."""
        new_requests = super().copy(default)
        for old, new in zip(self, new_requests):
            participants = dict(zip(old.participant_ids, new.participant_ids))
            self.env["digital.sign.field"].sudo().create(
                [
                    field.copy_data(
                        {
                            "request_id": new.id,
                            "participant_id": participants.get(
                                field.participant_id, field.participant_id
                            ).id,
                        }
                    )[0]
                    for field in old.field_ids
                ]
            )
        return new_requests

    @api.ondelete(at_uninstall=False)
    def _unlink_except_sent(self):
        for request in self:
            if request.sent_on or request.state not in ("draft", "cancelled"):
                raise UserError(
                    self.env._(
                        "%(ref)s was sent for signature: its audit trail is evidence and cannot be "
                        "deleted. Cancel or archive it instead.",
                        ref=request.reference,
                    )
                )

    def unlink(self):
        # A draft that was never sent has no evidence: its own events ("created") go with it.
        # The database refuses any other deletion of events (ON DELETE RESTRICT): no cascade
        # can remove the audit trail of a document that was sent.
        if self.ids:
            self.env.cr.execute(
                SQL("DELETE FROM digital_sign_event WHERE request_id IN %s", tuple(self.ids))
            )
        return super().unlink()

    @api.constrains("res_model", "res_id")
    def _check_linked_record(self):
        """A request is linked only to a document that carries the signing mixin (and a user
        links it only to a record they may change: checked in create, as constraints run as
        the superuser)."""
        Mixin = self.env.registry["digital.sign.mixin"]
        linked = self._get_linked_records()
        for request in self:
            if not request.res_model and not request.res_id:
                continue
            model = request.res_model
            if not model or model not in self.env or not isinstance(self.env[model], Mixin):
                raise ValidationError(
                    self.env._(
                        "A signature document can only be linked to a quotation, a ticket or "
                        "another document that can be sent for signature."
                    )
                )
            if not linked.get(request.id):
                raise ValidationError(self.env._("The linked record does not exist."))

    def _prepare_document_values(self, value):
        """Validate an uploaded PDF, remove its active content, and return the values that
        describe it.

        Active content (scripts, automatic actions, embedded files, XFA, rich media...: see
        engine.pdf_sanitize) never reaches a participant: the cleaned file becomes the
        original everyone sees and signs (``original_pdf``, ``original_sha256``), the upload's
        hash is kept in ``uploaded_sha256`` and what was removed in ``removed_content``. A
        file without any comes back byte for byte, both hashes equal.

        :param value: the Binary value written (base64)
        :return: dict with uploaded_sha256, original_sha256, removed_content, page_count,
            page_geometry, and original_pdf when the file was cleaned
        :raise UserError: when the engine refuses the file (its message says why)
        """
        checked = self.env.context.get("digital_sign_checked_pdf")
        if isinstance(checked, CheckedPdf) and checked.matches(value):
            return dict(checked.values)  # a template's PDF, through the intake once a batch
        if not value:
            return {
                "original_sha256": False,
                "uploaded_sha256": False,
                "removed_content": False,
                "page_count": 0,
                "page_geometry": False,
            }
        info, sanitized = self._intake_pdf(decode_binary(value))
        values = {
            "uploaded_sha256": info.sha256,
            "original_sha256": info.sha256,
            "removed_content": False,
            "page_count": info.page_count,
            "page_geometry": [[page.width, page.height] for page in info.pages],
        }
        if sanitized.changed:
            values.update(
                {
                    "original_pdf": base64.b64encode(sanitized.data),
                    "original_sha256": hashlib.sha256(sanitized.data).hexdigest(),
                    "removed_content": pdf_sanitize.summarize(sanitized.removed),
                }
            )
        return values

    @api.model
    def _intake_pdf(self, data):
        """The intake of a PDF that comes in to be signed, before any other parser reads it:
        the engine's checks (size and page limits of the settings, decompression bombs,
        damage, encryption), then the removal of its active content.

        :param bytes data: the PDF as uploaded
        :return: ``(engine.pdf_intake.PdfInfo, engine.pdf_sanitize.Sanitized)``
        :raise UserError: when the engine refuses the file (its message says why)
        """
        try:
            info = pdf_intake.inspect_pdf(
                data,
                max_bytes=int(self._get_setting("max_upload_mb")) * 1024 * 1024,
                max_pages=int(self._get_setting("max_pages")),
            )
            sanitized = pdf_sanitize.sanitize_pdf(data)
        except EngineError as error:
            if error.code == "pdf_too_large":
                error.params = {
                    "size": round(len(data) / 1024 / 1024, 1),
                    "limit": self._get_setting("max_upload_mb"),
                }
            raise UserError(engine_error_message(self.env, error)) from error
        return info, sanitized

    def _describe_removed_content(self, entry):
        """One line for one entry of ``removed_content``: "JavaScript: the document, page 2"."""
        places = [self.env._("the document")] if entry.get("document") else []
        pages = entry.get("pages") or []
        if pages:
            places.append(
                self.env._("page %(pages)s", pages=", ".join(map(str, pages)))
                if len(pages) == 1
                else self.env._("pages %(pages)s", pages=", ".join(map(str, pages)))
            )
        kind = active_content_label(self.env, entry.get("kind"))
        return self.env._("%(kind)s: %(places)s", kind=kind, places=", ".join(places))

    def _log_removed_content(self):
        """Log what was removed from the upload, with both hashes (stable codes, not words:
        the audit trail reads the same in every language).

        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = self.sudo()
        removed = "; ".join(
            "%s (%s)"
            % (
                entry["kind"],
                ", ".join(
                    (["document"] if entry.get("document") else [])
                    + [f"p. {page}" for page in entry.get("pages") or ()]
                ),
            )
            for entry in request_sudo.removed_content or ()
        )
        if removed:
            self._log_event(
                "sanitized",
                details={
                    "removed": removed,
                    "uploaded_sha256": request_sudo.uploaded_sha256,
                    "original_sha256": request_sudo.original_sha256,
                },
            )

    # === ACTIONS === #
    def action_send(self):
        if any(request.state != "draft" for request in self):
            raise UserError(self.env._("Only draft documents can be sent."))
        self.check_access("write")
        for request in self:
            request._check_ready_to_send()
        self._send()
        if len(self) == 1 and self.sending_mode == "conversation":
            # Sent from its own form after "Review places first": the document still
            # offers the link for the conversation (e.g. the ticket's message composer).
            record = self._get_linked_record()
            if record and isinstance(record, self.env.registry["digital.sign.mixin"]):
                return record._digital_sign_after_send(self, None)
        return True

    def action_open_cancel(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Cancel %s", self.reference),
            "res_model": "digital.sign.request.cancel",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_ids": self.ids},
        }

    def action_reset_to_draft(self):
        for request in self:
            request.check_access("write")
            if request.state != "cancelled":
                raise UserError(self.env._("Only cancelled documents can go back to draft."))
            if request.provider_cancel_state == "pending":
                raise UserError(
                    self.env._(
                        "%s is still being withdrawn at the signature service: wait until the "
                        "service confirms the cancellation.",
                        request.reference,
                    )
                )
            signed = request.participant_ids.filtered(lambda p: p.state == "signed")
            if signed:
                raise UserError(
                    self.env._(
                        "%(names)s already signed %(ref)s: a signature is never erased. Duplicate "
                        "the document to send a new version.",
                        names=", ".join(signed.mapped("name")),
                        ref=request.reference,
                    )
                )
            request.sudo().write({"state": "draft", "cancel_reason": False, "deadline": False})
            request.participant_ids._reset()
            request.field_ids._reset_values()
            request._log_event("reset")
        return True

    def action_count_signatures(self):
        """Detect the document's signature places again and open the "Count signatures"
        view (per page and role; assign, mark mandatory, add or move places)."""
        self.ensure_one()
        if self.state == "draft" and not self.field_ids:
            self._detect_fields()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Signature places of %s", self.reference),
            "res_model": "digital.sign.field",
            "view_mode": "list,form",
            "views": [
                (self.env.ref("digital_sign.digital_sign_field_view_list_count").id, "list"),
                (False, "form"),
            ],
            "domain": [("request_id", "=", self.id)],
            "context": {
                "default_request_id": self.id,
                "group_by": ["page"],
                "count_request_id": self.id,
            },
        }

    def action_open_places_editor(self):
        """Open the visual places editor: the document's pages with every place drawn on
        them, to move, resize, add, assign and mark mandatory or optional."""
        self.ensure_one()
        self.check_access("read")
        if self.state == "draft" and not self.field_ids:
            self._detect_fields()
        return self.env["digital.sign.field"]._get_places_editor_action(self)

    def action_detect_fields(self):
        """Replace the detected (non-manual) places by a fresh detection."""
        for request in self:
            if request.state != "draft":
                raise UserError(self.env._("Places can only change while the document is a draft."))
            request.field_ids.filtered(lambda f: f.source != "manual").unlink()
            request._detect_fields()
        return True

    def action_verify_integrity(self):
        """Check the audit trail: its hash chain, and its anchors outside the database (a
        chain rewritten consistently by someone with database access is caught by them).
        The message says how far the trail is anchored, or that it is not."""
        self.ensure_one()
        self.check_access("read")
        broken = self._check_integrity()
        count = len(self.sudo().event_ids)
        if broken:
            event, reason = broken
            message = self.env._(
                "The audit trail of %(ref)s is broken at event #%(seq)s (%(type)s, %(date)s): "
                "%(reason)s",
                ref=self.reference,
                seq=event.sequence if event else "?",
                type=event.event_type if event else "?",
                date=event.event_date if event else "?",
                reason=reason,
            )
            notif_type = "danger"
        else:
            message, notif_type = self._describe_anchoring(count)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": notif_type, "sticky": notif_type != "success"},
        }

    def _describe_anchoring(self, count):
        """``(message, notification type)`` for an intact chain of ``count`` events: how far
        its anchors outside the database cover it, or why it is not anchored.

        Note: self.ensure_one()
        """
        self.ensure_one()
        checked = self._check_anchors()
        last_sequence = max(self.sudo().event_ids.mapped("sequence") or [0])
        valid = checked["valid"].sorted(lambda a: (a.sequence, a.id))
        intact = self.env._(
            "The audit trail of %(ref)s is intact (%(count)s events)",
            ref=self.reference,
            count=count,
        )
        if valid:
            last = valid[-1]
            modes = ", ".join(
                sorted(
                    {dict(const.ANCHOR_MODES)[a.mode] for a in valid if a.sequence == last.sequence}
                )
            )
            if last.sequence >= last_sequence:
                return self.env._(
                    "%(intact)s and anchored outside the database up to its last event "
                    "(%(modes)s, %(time)s).",
                    intact=intact,
                    modes=modes,
                    time=self._format_time(last.anchored_at),
                ), "success"
            return self.env._(
                "%(intact)s. It is anchored outside the database up to event #%(seq)s "
                "(%(modes)s, %(time)s); the %(later)s later events are anchored at the next "
                "signature or by the daily run.",
                intact=intact,
                seq=last.sequence,
                modes=modes,
                time=self._format_time(last.anchored_at),
                later=last_sequence - last.sequence,
            ), "info"
        if checked["unchecked"]:
            anchor, check = checked["unchecked"][0]
            if check.status == "unknown_key":
                why = self.env._(
                    "they were made with an anchor key (%(key)s) that the server's "
                    "configuration no longer holds: add it back, after the current "
                    "key, to check them",
                    key=anchor.key_id,
                )
            else:
                why = self.env._(
                    "the certificate of their timestamp authority (%(tsa)s) is not "
                    "one this database trusts",
                    tsa=check.tsa_subject,
                )
            return self.env._(
                "%(intact)s as far as the database shows, but its anchors could "
                "not be checked: %(why)s.",
                intact=intact,
                why=why,
            ), "warning"
        config = self.env["digital.sign.anchor"]._get_configuration(self.company_id)
        if config["key_id"] or config["tsa_url"]:
            return self.env._(
                "%(intact)s as far as the database shows, but it is not anchored outside the "
                "database yet (anchors are made at each signature and daily).",
                intact=intact,
            ), "warning"
        return self.env._(
            "%(intact)s as far as the database shows, but it is not anchored outside the "
            "database: configure %(option)s in the Odoo configuration file, or a timestamp "
            "server in the settings.",
            intact=intact,
            option=const.ANCHOR_KEY_OPTION,
        ), "warning"

    def action_open_linked_record(self):
        self.ensure_one()
        record = self._get_linked_record()
        if not record:
            raise UserError(self.env._("This document is not linked to a record."))
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    def action_sign_now(self):
        """Sign now, in person: hand the device to the customer whose turn it is (the
        primary customer first). See ``digital.sign.participant.action_sign_now``."""
        self.ensure_one()
        self.check_access("write")
        participant = self._get_sign_now_participant()
        if not participant:
            problems = [
                p._get_sign_now_problem()
                for p in self.participant_ids.filtered(lambda p: p.state in ("sent", "viewed"))
            ]
            raise UserError(
                next((problem for problem in problems if problem), None)
                or self.env._("No customer of %s can sign now.", self.reference)
            )
        return participant.action_sign_now()

    def action_preview_signed(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/digital.sign.request/{self.id}/signed_pdf/"
            f"{self.signed_filename or 'signed.pdf'}",
            "target": "new",
        }

    # === BUSINESS: who sees what === #
    def _evidence_document_state(self):
        self.ensure_one()
        return self.state

    def _can_see_live_links(self):
        """Whether the current user may see this document's live signing links and current
        one-time code: its owner and the managers, or every reader when the setting says so.
        A link is a bearer credential (whoever holds it can sign).

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.env.su:
            return True
        if not self.has_access("read"):
            return False
        user = self.env.user
        if user == self.user_id or any(user.has_group(group) for group in const.LIVE_LINK_GROUPS):
            return True
        return self._get_setting("live_links_for_readers")

    def _get_sign_now_participant(self):
        """The participant the current user may hand the device to now ("Sign now"): a
        customer whose turn it is, the primary customer first; or an empty recordset.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.state not in const.OPEN_REQUEST_STATES:
            return self.env["digital.sign.participant"]
        candidates = self.participant_ids.filtered(
            lambda p: p.state in ("sent", "viewed") and not p._get_sign_now_problem()
        )
        return candidates.sorted(lambda p: (not p.is_primary, p.signing_order, p.id))[:1]

    # === BUSINESS: document and places === #
    def _get_setting(self, key):
        value = self.env["ir.config_parameter"].sudo().get_param(f"digital_sign.{key}")
        default = const.DEFAULTS.get(key)
        if value in (None, False, ""):
            return default
        if isinstance(default, bool):
            return value in ("1", "True", "true")
        if isinstance(default, int):
            return int(float(value))
        if isinstance(default, float):
            return float(value)
        return value

    def _get_marker_options(self):
        get = self._get_setting
        return pdf_markers.MarkerOptions(
            arrow_size=(get("arrow_width"), get("arrow_height")),
            signature_size=(get("signature_width"), get("signature_height")),
            signature_offset=(get("signature_offset_x"), get("signature_offset_y")),
        )

    def _get_original_bytes(self):
        self.ensure_one()
        return decode_binary(self.sudo().original_pdf)

    def _detect_fields(self):
        """Create a field for every marker of the original PDF and assign it to the
        participant of its role.

        :return: the created digital.sign.field records
        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.env.su:
            self.check_access("write")
        if self.state != "draft":
            raise UserError(self.env._("Places can only change while the document is a draft."))
        data = self._get_original_bytes()
        if not data:
            return self.env["digital.sign.field"]
        try:
            placements = pdf_markers.detect_markers(data, self._get_marker_options())
        except EngineError as error:
            raise UserError(engine_error_message(self.env, error)) from error
        fields_vals = [
            {
                **self.env["digital.sign.field"]._prepare_placement_values(placement),
                "request_id": self.id,
            }
            for placement in placements
        ]
        # The flow creates them: where a place came from (an anchor and its hidden rectangle)
        # is evidence, never user input.
        new_fields = self.env["digital.sign.field"].sudo().create(fields_vals).sudo(self.env.su)
        self._assign_fields_to_participants()
        return new_fields

    def _assign_fields_to_participants(self):
        """Give each unassigned field the participant whose role matches its role; fields
        without a role (arrows) go to the primary participant."""
        for request in self:
            participants = request.participant_ids.sorted(lambda p: (p.signing_order, p.id))
            if not participants:
                continue
            by_role = {}
            for participant in participants:
                by_role.setdefault((participant.role or "").strip().casefold(), participant)
            primary = participants.filtered("is_primary")[:1] or participants[:1]
            for field in request.field_ids.filtered(lambda f: not f.participant_id):
                role = (field.role or "").strip().casefold()
                target = by_role.get(role) if role else primary
                if target:
                    field.participant_id = target

    # === BUSINESS: sending === #
    def _check_ready_to_send(self):
        """Raise a UserError that says what is missing before this request can be sent.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.original_pdf:
            raise UserError(self.env._("Attach the PDF to sign first."))
        if not self.participant_ids:
            raise UserError(self.env._("Add at least one participant."))
        if not self.company_id._digital_sign_sms_allowed():
            by_sms = self.participant_ids.filtered(lambda p: p._uses_sms())
            if by_sms:
                raise UserError(
                    self.env._(
                        "%(name)s: %(reason)s",
                        name=", ".join(by_sms.mapped("name")),
                        reason=self.company_id._digital_sign_sms_off_message(),
                    )
                )
        self._assign_fields_to_participants()
        if not self.field_ids.filtered(
            lambda f: f.mandatory and f.kind in ("signature", "initials")
        ):
            raise UserError(
                self.env._(
                    'The document has no mandatory signature place. Use "Count signatures" to '
                    "find or add one."
                )
            )
        unassigned = self.field_ids.filtered(lambda f: f.mandatory and not f.participant_id)
        if unassigned:
            raise UserError(
                self.env._(
                    "These mandatory places have no participant: %(places)s. Assign them in "
                    '"Count signatures", or add a participant with their role.',
                    places=", ".join(unassigned.mapped("display_name")),
                )
            )
        for participant in self.field_ids.filtered("mandatory").participant_id:
            problem = participant._get_channel_problem()
            if problem:
                raise UserError(problem)
        for participant in self.participant_ids:
            problem = participant._get_channel_problem()
            if problem and participant.mandatory:
                raise UserError(problem)
        if not self.participant_ids.filtered(lambda p: not p.to_be_named):
            raise UserError(
                self.env._(
                    "At least one participant must have contact details: the customer who will "
                    "name the others."
                )
            )

    def _get_send_deadline(self, now=None):
        """Return the deadline of a request sent now: the number of signatures times the
        single-signature timeout during a conversation, else the default validity.

        Note: self.ensure_one()
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        if self.sending_mode == "conversation":
            signatures = len(self.field_ids.filtered(lambda f: f.kind == "signature")) or 1
            return now + timedelta(
                seconds=signatures * self._get_setting("single_signature_timeout")
            )
        return now + timedelta(days=self._get_setting("default_validity_days"))

    def _send(self):
        """Send checked drafts: fix their deadlines, then hand them over to their provider
        (all together: a bulk send queues the invitations of a whole batch at once)."""
        now = fields.Datetime.now()
        by_deadline = {}
        for request in self:
            deadline = request.deadline
            if not deadline or deadline <= now or request.sending_mode == "conversation":
                deadline = request._get_send_deadline(now)
            by_deadline.setdefault(deadline, []).append(request.id)
        for deadline, ids in by_deadline.items():
            self.browse(ids).sudo().write({"sent_on": now, "deadline": deadline})
        self._update_state("sent", allowed=("draft",))
        self._log_events(
            [
                {
                    "request": request,
                    "event_type": "sent",
                    "details": {
                        "deadline": fields.Datetime.to_string(request.deadline),
                        "participants": len(request.participant_ids),
                        "fields": len(request.field_ids),
                    },
                }
                for request in self
            ]
        )
        for provider, requests in self.grouped("provider_id").items():
            provider._send_requests(requests)
        if not self.env.context.get("digital_sign_lazy_display"):
            for request in self:
                request._prepare_display_cache()  # a bulk send leaves it to the first view

    def _invite_next_participants(self):
        """Invite every waiting participant whose turn has come: a signing-order group is
        invited when every mandatory participant of the groups before it has signed. The
        participants of several requests are invited together.

        :return: the participants invited now
        """
        to_invite = self.env["digital.sign.participant"]
        for request in self:
            if request.state not in const.OPEN_REQUEST_STATES:
                continue
            for participant in request.participant_ids.sorted(lambda p: (p.signing_order, p.id)):
                if participant.state != "waiting" or participant.to_be_named:
                    continue
                if participant._is_turn():
                    to_invite |= participant
        if to_invite:
            to_invite._invite()
        return to_invite

    def _get_invitation_template(self, reminder=False):
        """Return the mail.template (model digital.sign.participant) used to invite or
        remind a participant. The link is given in the context as ``signing_url``.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return self._get_invitation_templates(reminder=reminder)[self.id]

    def _get_invitation_templates(self, reminder=False):
        """``_get_invitation_template`` of each of these requests, in one go.

        :return: dict {request id: mail.template}
        """
        default = self.env.ref("digital_sign.mail_template_signature_request")
        linked = self._get_linked_mixin_records()
        templates = {}
        for request in self:
            record = linked[request.id]
            template = (
                record._digital_sign_invitation_template(request, reminder) if record else None
            )
            templates[request.id] = template or default
        return templates

    def _get_invitation_sms_body(self, participant, url, reminder=False, record=False):
        """Return the text of the invitation (or reminder) SMS for ``participant``.

        :param record: the linked mixin record when the caller has it already (None: the
            request has none); by default it is looked up
        Note: self.ensure_one()
        """
        self.ensure_one()
        if record is False:
            record = self._get_linked_mixin_record()
        text = (
            record._digital_sign_invitation_sms(self, participant, url, reminder)
            if record
            else None
        )
        if text:
            return text
        lang = participant._get_lang()
        env = self.with_context(lang=lang).env
        if reminder:
            return env._(
                'Reminder from %(company)s: please sign "%(name)s": %(url)s',
                company=self.company_id.name,
                name=self.name,
                url=url,
            )
        return env._(
            '%(company)s asks you to sign "%(name)s": %(url)s',
            company=self.company_id.name,
            name=self.name,
            url=url,
        )

    def _source_changed(self):
        """True when the linked record no longer says what the sent PDF says.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.source_hash:
            return False
        record = self._get_linked_mixin_record()
        return bool(record) and record._digital_sign_content_hash() != self.source_hash

    # === BUSINESS: progress === #
    def _on_participant_done(self, participant):
        """A participant signed (or an optional one refused): complete the request when every
        mandatory participant has signed, else invite whoever's turn came.

        Note: self.ensure_one()
        """
        self.ensure_one()
        mandatory = self.participant_ids.filtered("mandatory")
        if mandatory and all(p.state == "signed" for p in mandatory):
            self._set_signed()
        else:
            self._invite_next_participants()

    def _notify_owner(self, summary, note):
        """An activity and an e-mail for the owner of the document (never a link).

        Note: self.ensure_one()
        """
        self.ensure_one()
        owner = self.user_id or self.create_uid
        if not owner:
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo", user_id=owner.id, summary=summary, note=note
        )
        self.message_post(
            body=note,
            subject=summary,
            partner_ids=owner.partner_id.ids,
            subtype_xmlid="mail.mt_note",
        )

    # === BUSINESS: state machine === #
    def _update_state(self, target, allowed, message=None):
        """Move to ``target`` from one of the ``allowed`` states; any other state is left
        untouched and logged, so replays (double webhooks, two tabs) are harmless.

        :return: the records that changed
        """
        changed = self.filtered(lambda r: r.state in allowed)
        for request in self - changed:
            _logger.info("Request %s: skipping %s -> %s", request.reference, request.state, target)
        if changed:
            changed.sudo().write({"state": target})
            if message:
                for request in changed:
                    request.message_post(body=message)
        return changed

    def _set_viewed(self):
        return self._update_state("viewed", allowed=("sent",))

    def _set_signed(self, signed_on=None):
        """Every mandatory participant signed. The final document (values, certificate of
        completion, seal) is built right after by a scheduled action, so nobody waits for it.
        Optional participants who did not act are skipped; a request with a mandatory
        participant who has not signed is never completed (nor that participant skipped).

        :param signed_on: when it was completed (a service's time), default now
        """
        complete = self.filtered(
            lambda r: all(p.state == "signed" for p in r.participant_ids.filtered("mandatory"))
        )
        for request in self - complete:
            _logger.warning(
                "Request %s: not completed, a mandatory participant has not signed",
                request.reference,
            )
        changed = complete._update_state("signed", allowed=("sent", "viewed"))
        changed.sudo().write(
            {"signed_on": signed_on or fields.Datetime.now(), "finalize_state": "pending"}
        )
        for request in changed:
            request.participant_ids.filtered(
                lambda p: p.state not in const.PARTICIPANT_FINAL_STATES and not p.mandatory
            )._set_skipped()
            request._log_event("completed")
        if changed:
            self.env.ref("digital_sign.ir_cron_finalize_documents").sudo()._trigger()
        return changed

    def _set_rejected(self, reason=""):
        changed = self._update_state("rejected", allowed=("sent", "viewed"))
        for request in changed:
            request.sudo().reject_reason = reason
            # Links of those still to act die; who signed or refused can still see so.
            request.participant_ids.filtered(
                lambda p: p.state not in ("signed", "rejected")
            )._revoke_tokens()
            request._on_closed(reason)
        return changed

    def _set_cancelled(self, reason="", by_service=False, links_explain=False):
        """Cancel here at once: every link dies. An envelope held by a signature service is
        withdrawn by the cancel queue right after this transaction commits, and retried until
        the service confirms; meanwhile ``provider_cancel_state`` says "pending".

        :param by_service: the service itself reported the envelope cancelled
        :param links_explain: the links stay readable but only show the page that says the
            document is closed and why (a conversation ended); nobody can sign or see it
        """
        changed = self._update_state("cancelled", allowed=("draft", "sent", "viewed"))
        for request in changed:
            request.sudo().cancel_reason = reason
            if not links_explain:
                request.participant_ids._revoke_tokens()
            request._log_event("cancelled", details={"reason": reason or ""})
            if request.sent_on:
                request.provider_id._queue_withdrawal(request, by_service=by_service)
            request._on_closed(reason)
        return changed

    def _set_expired(self):
        changed = self._update_state("expired", allowed=("sent", "viewed"))
        for request in changed:
            request.participant_ids.filtered(
                lambda p: p.state not in const.PARTICIPANT_FINAL_STATES
            )._set_expired()
            request._log_event(
                "expired", details={"deadline": fields.Datetime.to_string(request.deadline)}
            )
            request._on_closed()
        return changed

    # Hooks for linked documents (sale.order, helpdesk.ticket) and later steps.
    def _on_signed(self):
        """Called once the signed document exists: the linked record reacts (confirm the
        quotation, move the ticket...).

        Note: self.ensure_one()
        """
        self.ensure_one()
        record = self._get_linked_mixin_record()
        if record:
            record._digital_sign_on_completed(self)

    def _on_closed(self, reason=""):
        """Called once when the request becomes rejected, cancelled or expired (its ``state``
        says which): the owner is told where they have something to do, then the linked
        record reacts.

        :param reason: why it was rejected or cancelled, as the participant or user gave it
        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.state == "rejected":
            self._notify_owner(
                self.env._("%s was rejected", self.reference),
                self.env._(
                    "%(name)s was rejected. Reason: %(reason)s",
                    name=self.name,
                    reason=reason or self.env._("none given"),
                ),
            )
        elif self.state == "expired" and self.user_id:
            self.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=self.user_id.id,
                summary=self.env._("Signature request expired"),
                note=self.env._(
                    "%s expired before every signature was collected. Send it again if needed.",
                    self.reference,
                ),
            )
        record = self._get_linked_mixin_record()
        if record:
            record._digital_sign_on_request_state(self)

    # === BUSINESS: external services === #
    def action_check_status(self):
        """Refresh the status now. A service with a polling rule (DocuSign: once per envelope
        per 15 minutes) gets no call while the last answer is younger; the notification says
        when it was fetched."""
        self.ensure_one()
        self.check_access("read")
        provider = self.provider_id
        now = fields.Datetime.now()
        if (
            provider.support_remote_signing
            and self.provider_reference
            and self.state in const.OPEN_REQUEST_STATES
        ):
            min_age = provider.status_poll_min_seconds
            if self.last_checked_at and (now - self.last_checked_at).total_seconds() < min_age:
                message = self.env._(
                    "%(provider)s allows one status request per %(minutes)s minutes: this is "
                    "the status fetched at %(time)s.",
                    provider=provider.name,
                    minutes=min_age // 60,
                    time=self._format_time(self.last_checked_at),
                )
                return self._notify_status(message, "info")
            request_sudo = self.sudo()
            request_sudo.provider_id._poll_one(request_sudo)
        elif not provider.support_remote_signing:
            self._expire_if_late()
            self.sudo().last_checked_at = now
        states = dict(const.REQUEST_STATES)
        message = self.env._(
            "%(ref)s: %(state)s (checked at %(time)s).",
            ref=self.reference,
            state=states[self.state],
            time=self._format_time(self.last_checked_at or now),
        )
        if self.state_message and self.provider_failures:
            return self._notify_status(self.state_message, "warning")
        return self._notify_status(message, "success")

    def _notify_status(self, message, notif_type):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": notif_type,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _expire_if_late(self):
        """Expire the requests whose deadline passed (the scheduled action does it too; the
        signing page and "Check status" do not wait for it)."""
        now = fields.Datetime.now()
        for request in self:
            if (
                request.state in const.OPEN_REQUEST_STATES
                and request.deadline
                and request.deadline < now
            ):
                request._set_expired()

    def _prepare_envelope(self):
        """The engine's Envelope for this request: the document as shown (anchors hidden),
        the participants (keyed by id) and the places.

        Note: self.ensure_one()
        """
        self.ensure_one()
        recipients = tuple(
            providers.Recipient(
                key=str(p.id),
                name=p.name,
                email=p.email or "",
                mobile=p.mobile or "",
                order=p.signing_order,
                role=p.role or "",
                channel=p.invite_channel,
                otp_channel=p.otp_channel,
                mandatory=p.mandatory,
            )
            for p in self.participant_ids.filtered(lambda p: not p.to_be_named)
        )
        places = tuple(
            providers.FieldPlacement(
                recipient_key=str(f.participant_id.id), mandatory=f.mandatory, **f._get_box()
            )
            for f in self.field_ids
            if f.participant_id and not f.participant_id.to_be_named
        )
        return providers.Envelope(
            reference=self.reference,
            name=self.name,
            pdf=self._get_display_pdf(),
            filename=self.original_filename or f"{self.name}.pdf",
            recipients=recipients,
            fields=places,
            expires_at=self.deadline.replace(tzinfo=UTC) if self.deadline else None,
        )

    def _apply_created_envelope(self, created):
        """Record the envelope the service just created for this request (its reference,
        its recipients' ids), then apply the status it came with.

        :param created: engine.providers.CreatedEnvelope
        Note: self.ensure_one()
        """
        self.ensure_one()
        for participant in self.participant_ids:
            participant.sudo().provider_recipient_id = created.recipient_ids.get(
                str(participant.id), False
            )
        self.sudo().write(
            {
                "provider_reference": created.provider_reference,
                "provider_sync_state": "sent",
                "provider_failures": 0,
                "state_message": False,
                "last_checked_at": fields.Datetime.now(),
            }
        )
        self.participant_ids.filtered(
            lambda p: p.state == "waiting" and not p.to_be_named
        ).sudo().write({"state": "sent", "invited_at": fields.Datetime.now()})
        self._log_event(
            "provider_status",
            channel=self.provider_id.code,
            details={"status": created.status.raw_status, "envelope": created.provider_reference},
        )
        self._apply_provider_status(created.status)

    def _record_provider_error(self, error, permanent=False):
        """Keep the failure on the request (last error, failure count, next try: a growing
        delay, never sooner than the service's ``Retry-After``) and in the audit trail. The
        owner is told once when the service keeps failing
        (``const.PROVIDER_OWNER_TOLD_AFTER`` failures in a row); a request still waiting for
        its envelope stops after ``const.PROVIDER_MAX_SEND_ATTEMPTS`` (nothing is retried
        forever) and, like a permanent refusal, tells the owner."""
        self.ensure_one()
        failures = self.provider_failures + 1
        delay = min(24 * 3600, 15 * 60 * 2 ** min(failures - 1, 7))
        delay = max(delay, int(getattr(error, "retry_after", None) or 0))
        values = {
            "provider_failures": failures,
            "state_message": engine_error_message(self.env, error),
            "last_checked_at": fields.Datetime.now(),
            "provider_next_check_at": fields.Datetime.now() + timedelta(seconds=delay),
        }
        sending = self.provider_sync_state == "to_send"
        give_up = permanent or (sending and failures >= const.PROVIDER_MAX_SEND_ATTEMPTS)
        if give_up and sending:
            values["provider_sync_state"] = "error"
        self.sudo().write(values)
        self._log_event(
            "provider_error",
            channel=self.provider_id.code,
            details={"code": error.code, "failures": failures},
        )
        if give_up:
            summary = (
                self.env._("%s: the signature service refused it", self.reference)
                if permanent
                else self.env._("%s: the signature service never answered", self.reference)
            )
            self._notify_owner(summary, values["state_message"])
        elif failures == const.PROVIDER_OWNER_TOLD_AFTER:
            self._notify_owner(
                self.env._("%s: the signature service keeps failing", self.reference),
                self.env._(
                    "%(count)s calls in a row failed (last: %(error)s). Digital Sign "
                    "keeps trying; next try at %(time)s.",
                    count=failures,
                    error=values["state_message"],
                    time=self._format_time(values["provider_next_check_at"]),
                ),
            )

    def _set_provider_cancelled(self, attempt, result="cancelled"):
        self.ensure_one()
        self.sudo().write(
            {
                "provider_cancel_state": "done",
                "provider_cancel_attempts": attempt,
                "provider_cancel_next_at": False,
                "state_message": False,
            }
        )
        self._log_event(
            "provider_cancelled",
            channel=self.provider_id.code,
            details={"attempt": attempt, "result": result},
        )
        return True

    def _record_provider_cancel_failure(self, error, attempt):
        """A withdrawal failed: log it, then retry later, or stop and tell the owner when the
        service already completed the envelope or after the last attempt.

        Note: self.ensure_one()
        """
        self.ensure_one()
        provider = self.provider_id
        signed_there = error.params.get("state") == "signed"
        give_up = signed_there or attempt >= const.PROVIDER_CANCEL_MAX_ATTEMPTS
        delay = min(
            const.PROVIDER_CANCEL_FIRST_DELAY * 2 ** (attempt - 1), const.PROVIDER_CANCEL_MAX_DELAY
        )
        delay = max(delay, int(getattr(error, "retry_after", None) or 0))
        next_at = False if give_up else fields.Datetime.now() + timedelta(seconds=delay)
        message = engine_error_message(self.env, error)
        self.sudo().write(
            {
                "provider_cancel_state": "failed" if give_up else "pending",
                "provider_cancel_attempts": attempt,
                "provider_cancel_next_at": next_at,
                "state_message": message,
            }
        )
        self._log_event(
            "provider_cancel_failed",
            channel=provider.code,
            details={
                "attempt": attempt,
                "code": error.code,
                "signed_at_service": signed_there,
                "next_try": fields.Datetime.to_string(next_at) if next_at else "",
            },
        )
        if signed_there:
            self._notify_owner(
                self.env._("%s was signed at the service before it was cancelled", self.reference),
                self.env._(
                    "%(provider)s completed %(ref)s before the cancellation reached it. "
                    "It stays cancelled here, but the service holds a signed copy: check "
                    "with the customer.",
                    provider=provider.name,
                    ref=self.reference,
                ),
            )
        elif give_up:
            self._notify_owner(
                self.env._("%s could not be withdrawn at the service", self.reference),
                self.env._(
                    "%(ref)s is cancelled here, but %(provider)s did not confirm the "
                    "cancellation after %(count)s attempts (%(error)s). Withdraw it at "
                    "the service by hand: its signers may still be able to sign there.",
                    ref=self.reference,
                    provider=provider.name,
                    count=attempt,
                    error=message,
                ),
            )
        return False

    def _apply_provider_status(self, status):
        """Apply a status read from the service (never from an unverified webhook payload).
        Transitions go through the ``_set_*`` methods, so replays change nothing.

        A status saying the envelope is signed but carrying no recipients gets them from the
        service first: nothing is written before. Each signer's times are the service's.
        A completion where a mandatory participant has not signed at the service completes
        nothing: the inconsistency is logged and the owner told.

        :param status: engine.providers.EnvelopeStatus
        :raise EngineError: the recipients could not be fetched (nothing was written)
        Note: self.ensure_one()
        """
        self.ensure_one()
        provider = self.provider_id
        status = provider._complete_status(self, status)
        now = fields.Datetime.now()
        by_key = {str(p.id): p for p in self.participant_ids}
        by_remote = {
            p.provider_recipient_id: p for p in self.participant_ids if p.provider_recipient_id
        }
        stamps = {
            "viewed": "viewed_at",
            "signed": "signed_at",
            "rejected": "rejected_at",
            "sent": "invited_at",
        }
        for recipient in status.recipients:
            participant = by_key.get(recipient.key) or by_remote.get(recipient.provider_id)
            if not participant or participant.state == recipient.status:
                continue
            at, clock = self._provider_time(recipient, status, now)
            values = {"state": recipient.status}
            stamp = stamps.get(recipient.status)
            if stamp and not participant[stamp]:
                values[stamp] = at
            if recipient.status == "rejected" and recipient.reason:
                values["reject_reason"] = recipient.reason
            participant.sudo().write(values)
            if recipient.status in ("viewed", "signed", "rejected"):
                self._log_event(
                    recipient.status,
                    participant=participant,
                    channel=provider.code,
                    details={"by": "service", "at": fields.Datetime.to_string(at), "clock": clock},
                )
        if status.raw_status != self.provider_status:
            self._log_event(
                "provider_status",
                channel=provider.code,
                details={"status": status.raw_status, "reason": status.reason or ""},
            )
        self.sudo().write(
            {
                "provider_status": status.raw_status,
                "last_checked_at": now,
                "provider_failures": 0,
                "state_message": False,
                "provider_next_check_at": False,
                "provider_refresh_requested": False,
            }
        )
        if status.status == "viewed":
            self._set_viewed()
        elif status.status == "signed":
            unsigned = self.participant_ids.filtered(lambda p: p.mandatory and p.state != "signed")
            if unsigned:
                self._record_provider_inconsistency(status, unsigned)
                return
            signed_at = [
                p.signed_at for p in self.participant_ids if p.state == "signed" and p.signed_at
            ]
            self._set_signed(signed_on=max(signed_at) if signed_at else None)
        elif status.status == "rejected":
            self._set_rejected(status.reason or self.env._("Rejected at %s", provider.name))
        elif status.status == "cancelled":
            self._set_cancelled(
                status.reason or self.env._("Recalled at %s", provider.name), by_service=True
            )
        elif status.status == "expired":
            self._set_expired()

    def _provider_time(self, recipient, status, now):
        """``(time, clock)`` of a recipient's change: the service's time for that recipient
        (for a signature without one, the envelope's completion time at the service), else
        the time we learnt it, said so by ``clock`` = "received".

        Note: self.ensure_one()
        """
        at = recipient.at or (status.changed_at if recipient.status == "signed" else None)
        if at is None:
            return now, "received"
        return at.astimezone(UTC).replace(tzinfo=None, microsecond=0), "service"

    def _record_provider_inconsistency(self, status, unsigned):
        """The service says the envelope is complete, but ``unsigned`` (mandatory
        participants) have no signature there: nothing is completed and no signature is
        made up. Logged and told to the owner once per distinct situation.

        Note: self.ensure_one()
        """
        self.ensure_one()
        details = {"status": status.raw_status, "unsigned": sorted(unsigned.ids)}
        message = self.env._(
            "%(provider)s says %(ref)s is complete, but %(names)s did not sign there. The "
            "document stays open and no signature is recorded for them: check with the "
            "service.",
            provider=self.provider_id.name,
            ref=self.reference,
            names=", ".join(unsigned.mapped("name")),
        )
        self.sudo().state_message = message
        Event = self.env["digital.sign.event"].sudo()
        last = Event.search(
            [("request_id", "=", self.id), ("event_type", "=", "provider_inconsistent")],
            order="sequence desc",
            limit=1,
        )
        if last and json.loads(last.details or "{}") == details:
            return
        self._log_event("provider_inconsistent", channel=self.provider_id.code, details=details)
        self._notify_owner(
            self.env._("%s: the signature service's status is inconsistent", self.reference),
            message,
        )

    def _record_status_checked(self):
        """The service's status was read and is unchanged: stamp the check, clear the
        failures."""
        if self:
            self.sudo().write(
                {
                    "last_checked_at": fields.Datetime.now(),
                    "provider_failures": 0,
                    "provider_next_check_at": False,
                    "provider_refresh_requested": False,
                }
            )

    def _recipients_changed(self, status):
        """True when ``status`` says something new about a participant.

        Note: self.ensure_one()
        """
        self.ensure_one()
        states = {str(p.id): p.state for p in self.participant_ids}
        remote = {
            p.provider_recipient_id: p.state
            for p in self.participant_ids
            if p.provider_recipient_id
        }
        return any(
            (states.get(r.key) or remote.get(r.provider_id)) not in (None, r.status)
            for r in status.recipients
        )

    # === BUSINESS: reminders and expiry === #
    @api.model
    def _cron_send_reminders(self):
        """Remind participants who have not signed, each document by its own reminder plan
        (the settings' one, the plan its template gave it, or none): after N days, then
        every M days, at most K times, never after the deadline or a final state. External
        services remind through their own API."""
        now = fields.Datetime.now()
        Participant = self.env["digital.sign.participant"]
        open_requests = Domain("state", "in", const.OPEN_REQUEST_STATES) & Domain(
            "deadline", ">", now
        )
        # One condition per distinct plan (a few: the settings' and those of templates).
        plans = {self._get_settings_reminder_plan(): [Domain("reminder_mode", "=", "settings")]}
        for first, interval, maximum in self.sudo()._read_group(
            open_requests & Domain("reminder_mode", "=", "custom"),
            ["reminder_first_days", "reminder_interval_days", "reminder_max"],
        ):
            plans.setdefault((first, interval, maximum), []).append(
                Domain("reminder_mode", "=", "custom")
                & Domain("reminder_first_days", "=", first)
                & Domain("reminder_interval_days", "=", interval)
                & Domain("reminder_max", "=", maximum)
            )
        due_domain = Domain.OR(
            Domain("request_id", "any", open_requests & Domain.OR(request_domains))
            & Domain("reminder_count", "<", maximum)
            & Domain("invited_at", "<=", now - timedelta(days=first))
            & (
                Domain("last_reminder_at", "=", False)
                | Domain("last_reminder_at", "<=", now - timedelta(days=interval))
            )
            for (first, interval, maximum), request_domains in plans.items()
        )
        domain = (
            Domain("state", "in", ("sent", "viewed"))
            & Domain("participant_kind", "!=", "company")  # no message: its keepers' activity
            & due_domain
        )
        due = Participant.search(domain, limit=self._get_setting("cron_batch_size") * 5)
        self.env["ir.cron"]._commit_progress(remaining=len(due))
        by_request = {}
        for participant in due:
            by_request.setdefault(participant.request_id.id, []).append(participant.id)
        for request_id, participant_ids in by_request.items():
            request = self.browse(request_id)
            # Locked first (a participant may be signing on another server right now),
            # then checked again: a signature that came in between gets no reminder.
            if not request._try_lock_for_job():
                if not self.env["ir.cron"]._commit_progress(0):
                    break
                continue
            participants = Participant.browse(participant_ids).filtered_domain(domain)
            if participants:
                try:
                    with self.env.cr.savepoint():
                        request.provider_id._send_reminders(request, participants)
                        for participant in participants:
                            participant.sudo().write(
                                {
                                    "reminder_count": participant.reminder_count + 1,
                                    "last_reminder_at": now,
                                }
                            )
                except EngineError as error:
                    request.provider_id._record_call_failure(request, error)
            if not self.env["ir.cron"]._commit_progress(len(participant_ids)):
                break

    @api.model
    def _cron_expire_requests(self):
        """Requests past their deadline become expired, with their unsigned participants;
        the owner gets an activity."""
        domain = Domain("state", "in", const.OPEN_REQUEST_STATES) & Domain(
            "deadline", "<", fields.Datetime.now()
        )
        requests = self.search(domain, limit=self._get_setting("cron_batch_size"))
        self.env["ir.cron"]._commit_progress(remaining=self.search_count(domain))
        for request in requests:
            if not request._try_lock_for_job():  # a participant is signing: next run
                if not self.env["ir.cron"]._commit_progress(0):
                    break
                continue
            try:
                with self.env.cr.savepoint():
                    if request.filtered_domain(domain):  # not signed, nor moved, meanwhile
                        request._set_expired()
            except Exception:  # noqa: BLE001 - one bad record must not block the queue
                _logger.exception("Expiry of %s failed", request.reference)
            if not self.env["ir.cron"]._commit_progress(1):
                break

    # === BUSINESS: what the signing page shows === #
    def _get_display_pdf(self):
        """The original with its anchors hidden: what participants see and download before
        signing. Cached as a private attachment.

        Note: self.ensure_one()
        """
        self.ensure_one()
        name = f"digital_sign_display_{self.original_sha256}.pdf"
        attachment = self._get_cache_attachment(name)
        if attachment:
            return attachment.raw
        data = pdf_markers.hide_markers(self._get_original_bytes())
        self._store_cache_attachment(name, data, "application/pdf")
        return data

    def _get_page_image(self, page):
        """The image of one page as displayed (a palette PNG for text, a JPEG for scans),
        cached as a private attachment.

        :return: ``(bytes, mimetype)``
        Note: self.ensure_one()
        """
        self.ensure_one()
        return self._get_cached_page_image(
            f"digital_sign_page_{self.original_sha256}_{page}", page, self._get_display_pdf
        )

    def _prepare_display_cache(self, pages=2):
        """Render the first pages ahead of time, so the signing page shows at once."""
        for request in self:
            for page in range(1, min(pages, request.page_count) + 1):
                request._get_page_image(page)

    # === BUSINESS: final document === #
    @api.model
    def _cron_finalize_documents(self):
        """Build the final document of every signed request waiting for it, in batches.

        Any cron worker of any Odoo server on the database may run this. Each request is
        locked first thing in its own transaction (see ``_try_lock_for_job``): one held by
        another transaction (an e-mail of the flow being sent, a participant's page) is
        left for the next run, which is asked for at once, so nothing is built twice and
        no write fails after the seal was made.
        """
        domain = Domain("finalize_state", "=", "pending") & Domain("state", "=", "signed")
        batch_size = self._get_setting("cron_batch_size")
        requests = self.search(domain, limit=batch_size, order="signed_on, id")
        self.env["ir.cron"]._commit_progress(remaining=self.search_count(domain))
        busy = False
        for request in requests:
            done = 0
            if request._try_lock_for_job():
                if request.state == "signed" and request.finalize_state == "pending":
                    request._finalize_safely()
                done = 1
            else:
                busy = True
            if not self.env["ir.cron"]._commit_progress(done):
                break
        if busy:
            self.env.ref("digital_sign.ir_cron_finalize_documents").sudo()._trigger()

    def _finalize_safely(self):
        """Finalise in a savepoint: a failure is recorded on the request and retried later,
        and the signatures stay whatever happens.

        Note: self.ensure_one()
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._finalize()
        except Exception as error:  # noqa: BLE001 - one bad document must not block the queue
            _logger.exception("Final document of %s failed", self.reference)
            message = (
                engine_error_message(self.env, error)
                if isinstance(error, EngineError)
                else self.env._("The final document could not be built: %s", error)
            )
            self.sudo().write({"finalize_error": message})
            self._log_event("seal_failed", details={"error": type(error).__name__})
            return False
        return True

    def _get_timezone(self):
        """The owner's time zone, else the current user's, else UTC.

        Note: self.ensure_one()
        """
        self.ensure_one()
        # Odoo's own per-user context (cached per user): reading the user's ``tz`` would fetch
        # every column of the user and of its partner, a measurable part of the signing page.
        Users = self.env["res.users"]
        for user in (self.user_id, self.env.user):
            if user:
                tz = Users.with_user(user).context_get().get("tz")
                if tz:
                    return tz
        return "UTC"

    def _format_time(self, value):
        """A stored UTC datetime as text in the request's time zone, with the zone."""
        self.ensure_one()
        if not value:
            return ""
        try:
            zone = pytz.timezone(self._get_timezone())
        except pytz.UnknownTimeZoneError:
            zone = pytz.utc
        local = pytz.utc.localize(value).astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M:%S %Z")

    def _prepare_stamp_values(self):
        """The values to write onto the original PDF, one per filled place.

        :return: list of engine.pdf_stamp.StampValue
        Note: self.ensure_one()
        """
        self.ensure_one()
        values = []
        for field in self.field_ids.filtered("filled_at").sudo():
            participant = field.participant_id
            values.append(
                pdf_stamp.StampValue(
                    **field._get_box(),
                    text=field.value or "" if field.kind in ("date", "text") else "",
                    image=decode_binary(field.value_image)
                    if field.kind in ("signature", "initials")
                    else b"",
                    checked=field.kind == "checkbox" and field.value == "1",
                    signer_name=participant.name or "",
                    signed_at_label=self._format_time(participant.signed_at),
                )
            )
        return values

    def _get_hide_rects(self):
        self.ensure_one()
        return [
            (field.page, *field.marker)
            for field in self.field_ids
            if field.source in ("anchor", "link") and field.marker
        ]

    def _get_document_lang(self):
        """The language of the certificate of completion: the document owner's, else the
        company's (each participant's consent stays in the language they read it in).

        Note: self.ensure_one()
        """
        self.ensure_one()
        Participant = self.env["digital.sign.participant"]
        for code in (self.user_id.lang, self.company_id.partner_id.lang):
            if Participant._is_signing_lang(code):
                return code
        return "en_US"

    def _get_completion_labels(self):
        """The headings and labels of the certificate of completion, in the environment's
        language (see ``engine.completion_certificate.DEFAULT_LABELS`` for the keys)."""
        return {
            "title": self.env._("Certificate of completion"),
            "interim": self.env._("INTERIM"),
            "interim_notice": self.env._(
                "Interim certificate: the request is not complete yet. It is replaced "
                "by the final certificate when every participant has finished."
            ),
            "page": self.env._("Page"),
            "section_document": self.env._("Document"),
            "reference": self.env._("Reference"),
            "document_title": self.env._("Title"),
            "company": self.env._("Company"),
            "original_sha256": self.env._("SHA-256 of the original document"),
            "uploaded_sha256": self.env._(
                "SHA-256 of the file as uploaded (active content removed since)"
            ),
            "original_pages": self.env._("Pages of the original document"),
            "created_at": self.env._("Created"),
            "completed_at": self.env._("Completed"),
            "timezone": self.env._("Time zone"),
            "section_verification": self.env._("Verification"),
            "verify_hint": self.env._("Scan the code or open this address to verify the document:"),
            "seal": self.env._("Seal"),
            "section_participants": self.env._("Participants"),
            "role": self.env._("Role"),
            "email": self.env._("Email"),
            "mobile": self.env._("Mobile"),
            "invite_channel": self.env._("Invitation sent by"),
            "otp_channel": self.env._("Verification code sent by"),
            "otp_verified": self.env._("Verification code"),
            "otp_yes": self.env._("Verified"),
            "otp_no": self.env._("Not verified"),
            "state": self.env._("Status"),
            "ip": self.env._("IP address"),
            "user_agent": self.env._("Browser (user agent)"),
            "consent_at": self.env._("Consent to sign electronically"),
            "consent_text": self.env._("Consent text accepted"),
            "invited_at": self.env._("Invited"),
            "viewed_at": self.env._("Viewed"),
            "signed_at": self.env._("Signed"),
            "rejected_at": self.env._("Rejected"),
            "logged_in_as": self.env._("Opened while logged in as"),
            "company_signatory": self.env._("Company seal applied by"),
            "in_person": self.env._("In person, hosted by"),
            "section_events": self.env._("Event log"),
            "event_at": self.env._("Time"),
            "event": self.env._("Event"),
            "event_participant": self.env._("Participant"),
            "event_ip": self.env._("IP address"),
            "event_detail": self.env._("Detail"),
            "no_events": self.env._("No events recorded."),
        }

    def _prepare_completion_data(self, interim=False):
        """Everything the certificate of completion shows.

        :return: engine.completion_certificate.CompletionData
        Note: self.ensure_one()
        """
        self.ensure_one()
        self = self.with_context(lang=self._get_document_lang())  # noqa: PLW0642
        request_sudo = self.sudo()
        Participant = self.env["digital.sign.participant"]
        channels = dict(Participant._fields["otp_channel"]._description_selection(self.env))
        states = dict(Participant._fields["state"]._description_selection(self.env))
        events_sudo = request_sudo.event_ids.sorted("sequence")

        def names_by_participant(event_type, key):
            """Participant id -> the distinct ``key`` values of their ``event_type`` events,
            in the order of the audit trail."""
            result = {}
            for event in events_sudo.filtered(lambda e: e.event_type == event_type):
                name = json.loads(event.details or "{}").get(key, "")
                names = result.setdefault(event.participant_id.id, [])
                if name and name not in names:
                    names.append(name)
            return result

        opened_as = names_by_participant("opened_logged_in", "user")
        hosted_by = names_by_participant("in_person", "hosted_by")
        participants = tuple(
            completion_certificate.CompletionParticipant(
                name=p.name or "",
                role=p.role or "",
                email_masked=otp_tools.mask_email(p.email),
                mobile_masked=otp_tools.mask_phone(p.mobile),
                invite_channel=channels.get(p.invite_channel, ""),
                otp_channel=channels.get(p.otp_channel, ""),
                otp_verified=bool(p.otp_verified_at),
                state=states.get(p.state, p.state),
                ip=p.signed_ip or "",
                user_agent=p.signed_user_agent or "",
                consent_at=self._format_time(p.consent_at),
                invited_at=self._format_time(p.invited_at),
                viewed_at=self._format_time(p.viewed_at),
                signed_at=self._format_time(p.signed_at),
                rejected_at=self._format_time(p.rejected_at),
                logged_in_as=", ".join(opened_as.get(p.id, ())),
                in_person_host=", ".join(hosted_by.get(p.id, ())),
                consent_text=p.consent_text or "",
            )
            for p in request_sudo.participant_ids
        )
        types = dict(
            self.env["digital.sign.event"]._fields["event_type"]._description_selection(self.env)
        )
        events = tuple(
            completion_certificate.CompletionEvent(
                at=self._format_time(e.event_date),
                event=types.get(e.event_type, e.event_type),
                participant=e.participant_id.name or "",
                ip=e.ip or "",
                detail=e.summary or "",
            )
            for e in events_sudo
        )
        return completion_certificate.CompletionData(
            reference=self.reference,
            title=self.name,
            company=self.company_id.name,
            original_sha256=self.original_sha256 or "",
            uploaded_sha256=self.uploaded_sha256 or "",
            original_pages=self.page_count,
            created_at=self._format_time(self.create_date),
            completed_at=self._format_time(self.signed_on),
            timezone=self._get_timezone(),
            participants=participants,
            events=events,
            verify_url=f"{self.get_base_url()}/digital_sign/verify?ref={self.reference}",
            seal_note=self._get_seal_note(),
            interim=interim,
            labels=self._get_completion_labels(),
        )

    def _get_seal_note(self):
        """The sentence the certificate of completion prints about the seal."""
        self.ensure_one()
        return self.company_id.sudo()._digital_sign_seal_note()

    def _build_final_document(self):
        """Stamp the values on the original, hide the anchors and append the certificate of
        completion. The original attachment is never touched.

        :return: the final PDF bytes (not sealed yet)
        Note: self.ensure_one()
        """
        self.ensure_one()
        return completion_certificate.build_final_document(
            self._get_original_bytes(),
            self._prepare_stamp_values(),
            self._prepare_completion_data(),
            hide_rects=self._get_hide_rects(),
        )

    def _finalize(self):
        """Build, seal and distribute the final document of a signed request.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.state != "signed" or self.finalize_state == "done":
            return False
        problem = self._get_evidence_problem()
        if problem:
            self._refuse_finalize(problem)
            return False
        pdf = decode_binary(self.sudo().interim_pdf) or (
            self.provider_id._download_signed(self)
            if self.provider_id.support_remote_signing
            else self._build_final_document()
        )
        # The last check before sealing: built from the cleaned original, the final document
        # carries no active content; a service's signed copy is checked the same way.
        pdf_sanitize.refuse_active_content(pdf)
        sealed = self._seal_final_document(pdf)
        if sealed is None:
            if not self.sudo().interim_pdf:
                self.sudo().interim_pdf = base64.b64encode(pdf)
            return False
        digest = hashlib.sha256(sealed).hexdigest()
        filename = f"{self.reference.replace('/', '-')} - {self.name} (signed).pdf"
        self.sudo().write(
            {
                "signed_pdf": base64.b64encode(sealed),
                "signed_filename": filename,
                "signed_sha256": digest,
                "finalize_state": "done",
                "finalize_error": False,
                "interim_pdf": False,
            }
        )
        self._log_event("finalized", details={"signed_sha256": digest, "seal": self.seal_state})
        self._distribute_signed_document(sealed, filename)
        self._on_signed()
        return True

    def _get_evidence_problem(self):
        """Why the signatures of this signed request cannot be trusted, or ''.

        Checked before the final document is built: its state, its participants' signatures
        and its places' values must have come from the flow, which logs each step in the
        hash-chained audit trail. A request marked signed by any other means (a database
        change) gets no final document and no seal.

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.sudo()
        broken = request._check_integrity()
        if broken:
            return self.env._("the audit trail is broken (%s).", broken[1])
        events = request.event_ids
        signed_in_trail = events.filtered(lambda e: e.event_type == "signed").participant_id
        external = request.provider_id.support_remote_signing
        for participant in request.participant_ids:
            if participant.mandatory and participant.state != "signed":
                return self.env._(
                    "%s is a mandatory participant who has not signed.", participant.name
                )
            if participant.state != "signed":
                continue
            if participant not in signed_in_trail:
                return self.env._(
                    "%s is marked signed, but the audit trail holds no signature of theirs.",
                    participant.name,
                )
            if external:
                continue  # the service holds the values; its signed copy is downloaded
            unfilled = request.field_ids.filtered(
                lambda f, p=participant: f.participant_id == p
                and f.mandatory
                and not f._is_filled()
            )
            if unfilled:
                return self.env._(
                    "%(name)s is marked signed, but %(place)s is empty.",
                    name=participant.name,
                    place=unfilled[0].display_name,
                )
        if not events.filtered(lambda e: e.event_type == "completed"):
            return self.env._("the audit trail does not show the document completed.")
        return ""

    def _refuse_finalize(self, problem):
        """The evidence did not come from the flow: no final document; the owner is told."""
        self.ensure_one()
        message = self.env._(
            "No final document for %(ref)s: %(problem)s", ref=self.reference, problem=problem
        )
        self.sudo().write({"finalize_state": "error", "finalize_error": message})
        self._log_event("finalize_refused", details={"reason": problem})
        self._notify_owner(self.env._("%s: evidence refused", self.reference), message)

    def _distribute_signed_document(self, pdf, filename):
        """Post the signed PDF in this request's chatter and the linked record's, and e-mail
        it to every participant who signed.

        :return: the ir.attachment of the signed PDF posted in this request's chatter
        Note: self.ensure_one()
        """
        self.ensure_one()
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": filename,
                    "raw": pdf,
                    "mimetype": "application/pdf",
                    "res_model": self._name,
                    "res_id": self.id,
                    "digital_sign_locked": True,
                }
            )
        )
        body = self.env._(
            "%(name)s is signed by everyone. The signed document is attached.", name=self.name
        )
        self.message_post(body=body, attachment_ids=attachment.ids, subtype_xmlid="mail.mt_note")
        record = self._get_linked_record()
        if record and hasattr(record, "message_post"):
            copy = attachment.copy(
                {"res_model": record._name, "res_id": record.id, "digital_sign_locked": True}
            )
            record.sudo().message_post(
                body=body, attachment_ids=copy.ids, subtype_xmlid="mail.mt_note"
            )
        template = self.env.ref("digital_sign.mail_template_signed_document")
        for participant in self.participant_ids.filtered(lambda p: p.state == "signed" and p.email):
            participant._queue_mail(
                template,
                "signed_document",
                attachment_ids=[
                    attachment.copy({"res_model": "mail.compose.message", "res_id": 0}).id
                ],
            )
        return attachment

    # === BUSINESS: sealing === #
    def _seal_final_document(self, pdf):
        """Seal the final PDF with the company's seal (the last write: the caller stores
        exactly the bytes returned), and follow the sealing step of this request.

        The level is the company's: B-B without a timestamp server, else B-LT (B-T when
        revocation data cannot be had) or B-LTA. When the timestamp server fails, the request
        waits in the sealing step (``seal_state`` pending; the cron retries); after
        ``const.SEAL_WAIT_HOURS`` its owner gets one activity and the company's
        ``digital_sign_seal_fallback`` decides between waiting on and sealing without a
        timestamp (B-B). The local clock never stands in for a timestamp. A document that
        forbids any change is kept as it came, unsealed.

        :return: the sealed bytes, or None when sealing must wait
        :raise EngineError: the seal cannot be made (certificate refused, PDF unsupported)
        Note: self.ensure_one()
        """
        self.ensure_one()
        company_sudo = self.company_id.sudo()
        identity = company_sudo._digital_sign_get_seal_identity()
        level = company_sudo._digital_sign_seal_level()
        server = company_sudo._digital_sign_get_timestamp_server() if level != "B-B" else None
        try:
            result = self._seal_pdf(pdf, identity, level, server)
        except (TimestampUnavailable, UnsafeUrl) as error:
            reason = error.params.get("reason") or error.code
            since = self._set_seal_waiting(reason)
            if fields.Datetime.now() - since < timedelta(hours=const.SEAL_WAIT_HOURS):
                return None
            self._set_seal_overdue(since, reason)
            if company_sudo.digital_sign_seal_fallback != "unsealed_time":
                return None
            return self._seal_without_timestamp(pdf, identity, since, reason)
        except SealError as error:
            if (
                error.code != "seal_pdf_unsupported"
                or error.params.get("reason") != "signing_refused"
            ):
                raise
            # The PDF forbids any change (a certification signature, e.g. from a signature
            # service): keep it exactly as it came, and say it is not sealed.
            self._set_unsealed("signing_refused")
            return pdf
        if server is not None:
            company_sudo._digital_sign_remember_tsa_chain(result.timestamp_certificates)
        return self._set_sealed(result, identity, "sealed")

    def _seal_pdf(self, pdf, identity, level, timestamp_server=None):
        """``engine.pades.seal_pdf`` of ``pdf`` for this request, with the revocation data
        the company hands over for long-term levels.

        :return: engine.pades.SealResult
        Note: self.ensure_one()
        """
        self.ensure_one()
        company_sudo = self.company_id.sudo()
        material, allow_fetching = company_sudo._digital_sign_get_validation_options()
        return pades.seal_pdf(
            pdf,
            identity,
            level=level,
            timestamp=timestamp_server,
            validation_material=material if level in ("B-LT", "B-LTA") else None,
            allow_fetching=allow_fetching,
            reason=self.env._("Evidence of the electronic signatures of %s", self.reference),
            location=company_sudo.city or company_sudo.country_id.name or "",
        )

    def _seal_without_timestamp(self, pdf, identity, since, reason):
        """The fallback after waiting: a B-B seal, which the audit trail names as such."""
        self.ensure_one()
        result = self._seal_pdf(pdf, identity, "B-B")
        _logger.warning(
            "Request %s sealed without a timestamp after waiting since %s", self.reference, since
        )
        return self._set_sealed(
            result,
            identity,
            "seal_fallback",
            {
                "waiting_since": fields.Datetime.to_string(since),
                "reason": reason,
            },
        )

    def _set_sealed(self, result, identity, event_type, extra=None):
        """Record the seal ``result`` (engine.pades.SealResult): the sealed state, the hash
        of the sealed bytes and the ``event_type`` event.

        :return: the sealed bytes
        """
        self.ensure_one()
        self.sudo().write({"seal_state": "sealed", "signed_sha256": result.sha256})
        details = {
            "level": result.level,
            "sha256": result.sha256,
            "timestamp": result.timestamp_time.isoformat() if result.timestamp_time else "",
            "certificate": x509.fingerprint(identity.certificate),
            **(extra or {}),
        }
        self._log_event(event_type, details=details)
        _logger.info("Request %s sealed (%s)", self.reference, result.level)
        return result.pdf

    def _set_unsealed(self, reason):
        """The document cannot take a seal (``reason``): it is kept unsealed, and said so."""
        self.ensure_one()
        self.sudo().seal_state = "unsealed"
        self._log_event("seal_failed", details={"reason": reason})
        _logger.warning("Request %s: the document forbids changes, kept unsealed", self.reference)

    def _get_seal_waiting_since(self):
        """When this request started waiting for the timestamp server, or None."""
        self.ensure_one()
        event = (
            self.env["digital.sign.event"]
            .sudo()
            .search(
                [
                    ("request_id", "=", self.id),
                    ("event_type", "=", "seal_waiting"),
                ],
                order="sequence",
                limit=1,
            )
        )
        return event.event_date if event else None

    def _set_seal_waiting(self, reason):
        """The timestamp server failed (``reason``): the request waits in the sealing step
        (logged once, when the wait starts).

        :return: when the wait started
        """
        self.ensure_one()
        request_sudo = self.sudo()
        since = self._get_seal_waiting_since()
        if since is None:
            since = fields.Datetime.now()
            host = (
                urllib.parse.urlsplit(self.company_id.sudo().digital_sign_tsa_url or "").hostname
                or ""
            )
            self._log_event("seal_waiting", details={"reason": reason, "server": host})
            _logger.warning(
                "Request %s waits for the timestamp server %s (%s)", self.reference, host, reason
            )
        if request_sudo.seal_state != "pending":
            request_sudo.seal_state = "pending"
        return since

    def _set_seal_overdue(self, since, reason):
        """The wait passed its limit: logged, and the owner told, once."""
        self.ensure_one()
        if (
            self.env["digital.sign.event"]
            .sudo()
            .search_count(
                [("request_id", "=", self.id), ("event_type", "=", "seal_overdue")], limit=1
            )
        ):
            return
        fallback = self.company_id.sudo().digital_sign_seal_fallback
        self._log_event(
            "seal_overdue",
            details={
                "since": fields.Datetime.to_string(since),
                "reason": reason,
                "fallback": fallback,
            },
        )
        request_sudo = self.sudo()
        owner = request_sudo.user_id or request_sudo.create_uid
        if not owner:
            return
        if fallback == "unsealed_time":
            note = self.env._(
                "The timestamp server did not answer since %(since)s (UTC): %(ref)s is sealed "
                "without a trusted timestamp, as the settings ask.",
                since=fields.Datetime.to_string(since),
                ref=self.reference,
            )
        else:
            note = self.env._(
                "The timestamp server did not answer since %(since)s (UTC): %(ref)s keeps "
                "waiting for its seal. Check the timestamp server in the settings.",
                since=fields.Datetime.to_string(since),
                ref=self.reference,
            )
        request_sudo.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=owner.id,
            summary=self.env._("Timestamp server down: %s is not sealed yet", self.reference),
            note=note,
        )

    # === BUSINESS: verification of signed documents === #
    @api.model
    def _get_issued_seal_pins(self, digests):
        """Which of ``digests`` (SHA-256 of revision prefixes of a file being verified) are
        signed documents of this database, with the pins of the company that sealed each.

        :return: ``{digest: tuple of engine.seal_identity.SealPin}``
        """
        requests_sudo = (
            self.sudo()
            .with_context(active_test=False)
            .search_fetch(
                [("signed_sha256", "in", list(digests)[: const.SEAL_VERIFY_MAX_CANDIDATES])],
                ["signed_sha256", "company_id"],
            )
        )
        return {
            request_sudo.signed_sha256: request_sudo.company_id._digital_sign_seal_pins()
            for request_sudo in requests_sudo
        }

    @api.model
    def _verify_signed_document(self, pdf, max_bytes=None, max_pages=None):
        """Check a PDF: whether it is a document this database sealed, unchanged since.

        The file goes through the intake checks first (size, decompression bombs, page
        count); then the seal must be the last signature of the bytes of one of our
        requests (``signed_sha256``), made with the seal certificate its company used then;
        after it, a DSS and document timestamps only (``engine.pades_verify.verify_pdf``).

        :param bytes pdf: the file (never stored)
        :param int max_bytes: size limit (default: the engine's)
        :param int max_pages: page limit (default: the engine's, plus the certificate of
            completion)
        :return: dict with ``outcome`` (valid, modified, appended, broken, not_our_seal,
            untrusted, unknown, damaged, refused), ``result`` (engine.pades_verify.VerifyResult),
            ``request`` (the matching digital.sign.request, sudo, or empty) and
            ``seal_company`` (the company whose certificate made the seal, sudo, or empty)
        """
        Company = self.env["res.company"].sudo()
        result = pades_verify.verify_pdf(
            pdf,
            trust_roots=Company._digital_sign_seal_roots(),
            timestamp_roots=Company._digital_sign_timestamp_roots(),
            pinned=Company._digital_sign_sealing_companies()._digital_sign_seal_pins(),
            issued=self._get_issued_seal_pins,
            allow_fetching=False,
            max_bytes=max_bytes,
            max_pages=max_pages,
        )
        request_sudo = self.sudo().browse()
        if result.issued_sha256:
            request_sudo = request_sudo.with_context(active_test=False).search(
                [("signed_sha256", "=", result.issued_sha256)], limit=1
            )
        seal_company = self.env["res.company"]
        if result.pinned:
            seal_company, _entry = Company._digital_sign_find_seal_certificate(
                result.cert_fingerprint
            )
        outcome = const.SEAL_VERIFY_OUTCOMES.get(result.status, "damaged")
        if outcome == "valid" and not request_sudo:
            outcome = "unknown"  # our seal, but over no document of this database
        if result.detail:
            _logger.info("Verification: %s (%s)", result.status, result.detail[:300])
        return {
            "outcome": outcome,
            "result": result,
            "request": request_sudo,
            "seal_company": seal_company,
        }

    @api.model
    def _describe_seal_changes(self, changes):
        """What changed after sealing (``engine.pdf_changes.Change``), as sentences."""
        texts = []
        for change in changes:
            key = change.kind
            if key in ("page_added", "page_removed") and change.count > 1:
                key += "_plural"
            elif key == "signature_added" and not change.signer:
                key += "_unnamed"
            message = const.SEAL_CHANGE_MESSAGES.get(key) or const.SEAL_CHANGE_MESSAGES["other"]
            texts.append(
                message._translate(self.env.lang)
                % {
                    "count": change.count,
                    "page": change.page,
                    "signer": x509.dn_label(change.signer)[:120],
                }
            )
        return texts

    # === BUSINESS: linked record === #
    def _get_linked_record(self):
        self.ensure_one()
        return self._get_linked_records()[self.id]

    def _get_linked_records(self):
        """The linked record of each of these requests that still exists (one query per
        linked model, whatever the number of requests).

        :return: dict {request id: record or None}
        """
        linked = dict.fromkeys(self.ids, None)
        for model, requests in self.grouped("res_model").items():
            if not model or model not in self.env:
                continue
            records = self.env[model].browse({r.res_id for r in requests if r.res_id}).exists()
            by_id = {record.id: record for record in records}
            for request in requests:
                linked[request.id] = by_id.get(request.res_id)
        return linked

    def _get_linked_mixin_record(self):
        """The linked record when it is a digital.sign.mixin document (sudo), else None."""
        self.ensure_one()
        return self._get_linked_mixin_records()[self.id]

    def _get_linked_mixin_records(self):
        """``_get_linked_mixin_record`` of each of these requests, in one go.

        :return: dict {request id: record (sudo) or None}
        """
        Mixin = self.env.registry["digital.sign.mixin"]
        return {
            request_id: record.sudo() if record and isinstance(record, Mixin) else None
            for request_id, record in self._get_linked_records().items()
        }

    def _sync_linked_records(self):
        linked = self._get_linked_mixin_records()
        for request in self:
            record = linked[request.id]
            if record:
                record._digital_sign_sync(request)

    # === BUSINESS: audit trail === #
    def _log_event(
        self, event_type, participant=None, channel=None, details=None, ip=None, user_agent=None
    ):
        """Append one event to this request's audit trail (hash-chained).

        :param str event_type: a key of const.EVENT_TYPES
        :param participant: a digital.sign.participant or None
        :param str channel: 'email', 'sms', 'web', a provider code...
        :param dict details: JSON-serialisable details (never secrets)
        :return: the created digital.sign.event
        Note: self.ensure_one()
        """
        self.ensure_one()
        return self._log_events(
            [
                {
                    "request": self,
                    "event_type": event_type,
                    "participant": participant,
                    "channel": channel,
                    "details": details,
                    "ip": ip,
                    "user_agent": user_agent,
                }
            ]
        )

    @api.model
    def _log_events(self, entries):
        """Append events to the audit trails of one or more requests in one batch (a bulk
        send logs the steps of all its documents together), in the order given.

        :param list entries: dicts with ``request``, ``event_type`` and optionally
            ``participant``, ``channel``, ``details``, ``ip`` and ``user_agent`` (as
            ``_log_event``'s parameters; without ``ip`` and ``user_agent``, those of the
            current HTTP request)
        :return: the created digital.sign.event records
        """
        if not entries:
            return self.env["digital.sign.event"]
        client = None
        for entry in entries:
            if entry.get("ip") is None and entry.get("user_agent") is None:
                client = client or client_info()
                entry["ip"], entry["user_agent"] = client
        return self.env["digital.sign.event"].sudo()._append_batch(entries)

    def _check_integrity(self):
        """Walk the hash chain of this request's events, then check its anchors outside the
        database: a chain rewritten consistently by someone with database access (every hash
        recomputed, the head moved) no longer matches the anchors made before.

        :return: None if intact, else ``(event or None, reason)`` naming the first bad link
        Note: self.ensure_one()
        """
        self.ensure_one()
        Event = self.env["digital.sign.event"].sudo()
        events = Event.search([("request_id", "=", self.id)], order="sequence, id")
        rows = [(event.id, event.prev_hash, event.hash, event._hash_values()) for event in events]
        broken = audit.first_broken_link(rows)
        reasons = {
            "prev_mismatch": self.env._("an event before it was removed or inserted"),
            "hash_mismatch": self.env._("its content was changed"),
        }
        if broken:
            return Event.browse(broken[0]), reasons[broken[1]]
        altered = events.filtered(lambda event: event._personal_data_altered())[:1]
        if altered:
            return altered, self.env._("its IP address or user agent was changed")
        head = self.sudo().audit_head or ""
        last_hash = events[-1:].hash or ""
        if head != last_hash:
            return None, self.env._("the last events were removed")
        checked = self._check_anchors(events)
        anchor = checked["rewritten"]
        if anchor:
            event = events.filtered(lambda e: e.sequence == anchor.sequence)[:1]
            if checked["check"].status == "rewritten":
                return event or None, self.env._(
                    "the audit trail was rewritten after it was anchored at %(time)s (%(mode)s)",
                    time=self._format_time(anchor.anchored_at),
                    mode=dict(const.ANCHOR_MODES)[anchor.mode],
                )
            return event or None, self.env._(
                "its anchor of %(time)s (%(mode)s) does not verify: the anchor or the audit "
                "trail was altered",
                time=self._format_time(anchor.anchored_at),
                mode=dict(const.ANCHOR_MODES)[anchor.mode],
            )
        return None

    def _check_anchors(self, events=None):
        """Check this request's anchors against its chain as it is now (see
        ``digital.sign.anchor._check_request``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        if events is None:
            events = self.env["digital.sign.event"].sudo().search([("request_id", "=", self.id)])
        hashes = {event.sequence: event.hash for event in events.sudo()}
        return self.env["digital.sign.anchor"]._check_request(self, hashes)

    def _lock_for_update(self):
        """Lock this request's row until the end of the transaction so that concurrent
        submissions (two tabs, two signers, a webhook and the poller) serialise."""
        # Raw SQL: the ORM has no blocking row lock; FOR NO KEY UPDATE waits for the other
        # transaction, and REPEATABLE READ then raises a serialization error that Odoo retries
        # (an HTTP request is replayed). That is the expected outcome of two workers meeting
        # on one document, not a fault: the error is not logged as a bad query.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM digital_sign_request WHERE id IN %s FOR NO KEY UPDATE",
                tuple(self.ids),
            ),
            log_exceptions=False,
        )

    def _try_lock_for_job(self):
        """Lock this request's row for a background job (final document, reminders, expiry,
        an e-mail of the flow), or say that another transaction has it.

        Several Odoo servers run these jobs on one database, beside the workers where
        participants sign. A job must hold the row before it reads what it acts on, or its
        writes (the audit trail's head) fail after the work was done: an e-mail already sent
        would be sent again, a seal made twice. Call it first thing after a commit, so the
        transaction's snapshot starts with the lock.

        :return: True when locked (caches invalidated: read the current values); False when
            another transaction holds the row, or changed it since this transaction began:
            the job leaves this request to its next run.
        Note: self.ensure_one()
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint(flush=False):
                # Raw SQL: SKIP LOCKED without the ORM's logging of a serialization failure,
                # which is an expected answer here ("changed since"), not a fault.
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM digital_sign_request WHERE id = %s "
                        "FOR NO KEY UPDATE SKIP LOCKED",
                        self.id,
                    ),
                    log_exceptions=False,
                )
                locked = bool(self.env.cr.fetchall())
        except SerializationFailure:
            locked = False
        if locked:
            self.env.invalidate_all()
        else:
            _logger.info("Request %s is busy in another transaction: left for later", self.id)
        return locked

    @api.model
    def _run_each_locked(self, jobs, run, queue_xmlid, what):
        """For a queue that commits as it goes (e-mails, SMS of the flow): ``run(item)`` for
        each ``(item, request_id)`` of ``jobs``, each in a transaction of its own that locks
        its document first (``_try_lock_for_job``). An item whose document is busy is left
        queued, and the queue (``queue_xmlid``, an ``ir.cron``) is asked to run again.

        Read ``jobs`` before the call: after each commit the lock must be the first
        statement.

        :param str what: what the items are, for the log
        :return: the number of items left for the next run
        """
        postponed = 0
        for item, request_id in jobs:
            self.env.cr.commit()  # pylint: disable=invalid-commit  # the queue commits anyway
            if request_id and not self.browse(request_id)._try_lock_for_job():
                postponed += 1
                continue
            run(item)
        if postponed:
            _logger.info("%s %s of the signing flow wait for their document", postponed, what)
            self.env.ref(queue_xmlid).sudo()._trigger()
            self.env.cr.commit()  # pylint: disable=invalid-commit  # as above
        return postponed
