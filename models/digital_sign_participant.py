import base64
import hashlib
import logging
import secrets
import unicodedata
from datetime import timedelta

from markupsafe import Markup

from odoo import SUPERUSER_ID, Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, consteq, email_normalize
from odoo.tools.misc import format_date, hmac

from .. import const
from ..engine import images as engine_images
from ..engine import otp as engine_otp
from ..engine import qr as engine_qr
from ..engine.errors import EngineError
from ..utils import engine_error_message, format_local_time, html_lang

_logger = logging.getLogger(__name__)


MAX_TEXT_LENGTH = 4000
MAX_NAME_LENGTH = 256
# What a mail template renders for an e-mail (as mail.template.send_mail_batch asks).
MAIL_RENDER_FIELDS = (
    "attachment_ids",
    "auto_delete",
    "body_html",
    "email_cc",
    "email_from",
    "email_to",
    "mail_server_id",
    "model",
    "partner_to",
    "reply_to",
    "report_template_ids",
    "res_id",
    "scheduled_date",
    "subject",
)


class DigitalSignParticipant(models.Model):
    _name = "digital.sign.participant"
    _description = "Signature Participant"
    _order = "request_id.id desc, signing_order, id"  # as requests are ordered, no join
    _inherit = ["digital.sign.request.part.mixin"]

    # === FIELDS === #
    name = fields.Char(required=True, evidence="draft")
    participant_kind = fields.Selection(
        const.PARTICIPANT_KINDS,
        string="Kind",
        default="person",
        required=True,
        evidence="draft",
        help="The company: its seal image goes on its places when a seal keeper applies it "
        "from the document, in the signing order like anyone else (no link, no message: the "
        "seal keepers get an activity when its turn comes).",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Contact", index="btree_not_null", evidence="draft"
    )
    email = fields.Char(evidence="draft")
    mobile = fields.Char(help="Stored in E.164 international format.", evidence="draft")
    role = fields.Char(
        default="Customer",
        required=True,
        evidence="draft",
        help="The role label: Customer, Cosigner, Lawyer... Places found in the "
        "document for a role go to the participant of that role.",
    )
    mandatory = fields.Boolean(default=True, evidence="draft")
    is_primary = fields.Boolean(
        "Primary Customer", help="The customer who names missing participants.", evidence="draft"
    )
    signing_order = fields.Integer(
        default=1,
        required=True,
        evidence="draft",
        help="Equal numbers sign in parallel; a higher number is invited when every mandatory "
        "participant before it has signed.",
    )
    invite_channel = fields.Selection(
        const.CHANNELS, string="Invitation", default="email", required=True, evidence="draft"
    )
    otp_channel = fields.Selection(
        const.OTP_CHANNELS, string="One-time Code", default="none", required=True, evidence="draft"
    )
    lang = fields.Selection(
        selection="_selection_lang",
        string="Language",
        evidence="draft",
        help="The language of this participant's signing page, messages and code. Empty: "
        "the contact's language, else the language of the document's owner.",
    )
    page_lang = fields.Char("Language Used", compute="_compute_page_lang")
    to_be_named = fields.Boolean(
        "To Be Named by the Customer",
        evidence="draft",
        help="The contact details are unknown: the primary customer names this person on "
        "the signing page before going on.",
    )
    # The link is a bearer credential: no one reads the token through the ORM (see
    # _get_signing_url and the request's _can_see_live_links for who is shown the link).
    access_token = fields.Char(copy=False, groups=fields.NO_ACCESS, evidence="flow")
    state = fields.Selection(
        const.PARTICIPANT_STATES,
        default="waiting",
        required=True,
        copy=False,
        index=True,
        evidence="flow",
    )
    invited_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    viewed_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    consent_at = fields.Datetime("Consent Given", readonly=True, copy=False, evidence="flow")
    consent_text = fields.Text(readonly=True, copy=False, evidence="flow")
    otp_verified_at = fields.Datetime("Code Verified", readonly=True, copy=False, evidence="flow")
    signed_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    rejected_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    reject_reason = fields.Text(readonly=True, copy=False, evidence="flow")
    signed_ip = fields.Char(
        "Signed from IP",
        readonly=True,
        copy=False,
        groups="digital_sign.group_manager",
        evidence="flow",
    )
    signed_user_agent = fields.Char(
        readonly=True, copy=False, groups="digital_sign.group_manager", evidence="flow"
    )
    reminder_count = fields.Integer(readonly=True, copy=False, evidence="flow")
    last_reminder_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    provider_recipient_id = fields.Char(readonly=True, copy=False, evidence="flow")
    # One-time code: only an HMAC of (participant, code) is stored.
    otp_hash = fields.Char(copy=False, groups=fields.NO_ACCESS, evidence="flow")
    otp_expires_at = fields.Datetime(copy=False, groups=fields.NO_ACCESS, evidence="flow")
    otp_failures = fields.Integer(copy=False, groups=fields.NO_ACCESS, evidence="flow")
    otp_sent_at = fields.Datetime("Code Sent", readonly=True, copy=False, evidence="flow")
    otp_locked_until = fields.Datetime(
        "Code Locked Until", readonly=True, copy=False, evidence="flow"
    )
    # The current code, kept only while "Agents may see the current code" is on; shown
    # through otp_agent_code to those who may see live links.
    otp_visible_code = fields.Char(copy=False, groups=fields.NO_ACCESS, evidence="flow")
    otp_agent_code = fields.Char(
        "Current Code",
        compute="_compute_otp_agent_code",
        help='Shown only when the setting "Agents may see the current code" is on, to the '
        "users who may see live signing links.",
    )
    named_by_id = fields.Many2one(
        "digital.sign.participant",
        readonly=True,
        copy=False,
        evidence="flow",
        help="The customer who gave this participant's contact details.",
    )
    masked_contact = fields.Char("Reached At", compute="_compute_masked_contact")
    field_count = fields.Integer(compute="_compute_field_count")
    # The live link and its QR code, for the customer's phone: shown only to those who may
    # see live links (see the request's _can_see_live_links).
    signing_url = fields.Char("Signing Link", compute="_compute_signing_link")
    signing_qr = fields.Binary("QR Code of the Link", compute="_compute_signing_link")
    # "Sign now" (signing in person): the sender's one-time hand-over link. Only an HMAC of
    # its token is kept, with who it was issued to and until when it works.
    hosted_token_hash = fields.Char(
        "Hand-over Link", copy=False, groups=fields.NO_ACCESS, evidence="flow"
    )
    hosted_expires_at = fields.Datetime(
        "Hand-over Link Expires", copy=False, groups=fields.NO_ACCESS, evidence="flow"
    )
    hosted_by_id = fields.Many2one(
        "res.users", "Hand-over Link For", copy=False, groups=fields.NO_ACCESS, evidence="flow"
    )
    can_sign_now = fields.Boolean(compute="_compute_can_sign_now")

    # === COMPUTE === #
    @api.depends("lang", "partner_id.lang", "request_id.user_id.lang")
    @api.depends_context("digital_sign_page_lang")
    def _compute_page_lang(self):
        for participant in self:
            participant.page_lang = participant._get_lang()

    @api.depends("email", "mobile", "invite_channel")
    def _compute_masked_contact(self):
        for participant in self:
            participant.masked_contact = participant._get_contact_label(participant.invite_channel)

    @api.depends_context("uid")
    def _compute_otp_agent_code(self):
        for participant in self:
            participant.otp_agent_code = (
                participant.sudo().otp_visible_code
                if participant.request_id._can_see_live_links()
                else False
            )

    @api.depends("state", "request_id.state")
    @api.depends_context("uid")
    def _compute_signing_link(self):
        for participant in self:
            url = participant._get_visible_signing_url()
            png = engine_qr.url_qr_png(url, scale=6) if url else b""
            participant.signing_url = url or False
            participant.signing_qr = base64.b64encode(png) if png else False

    @api.depends("state", "request_id.state")
    @api.depends_context("uid")
    def _compute_can_sign_now(self):
        for participant in self:
            participant.can_sign_now = (
                bool(participant.id) and not participant._get_sign_now_problem()
            )

    def _compute_field_count(self):
        counts = dict(
            self.env["digital.sign.field"]._read_group(
                [("participant_id", "in", self.ids)], ["participant_id"], ["__count"]
            )
        )
        for participant in self:
            participant.field_count = counts.get(participant, 0)

    # === SELECTION === #
    @api.model
    def _selection_lang(self):
        return [
            (code, name)
            for code, name in self.env["res.lang"].get_installed()
            if self._is_signing_lang(code)
        ]

    @api.model
    def _is_signing_lang(self, code):
        """True when ``code`` is an installed language the signing page offers."""
        return (
            bool(code)
            and (code in const.SIGNING_LANGS or code.split("_")[0] in const.SIGNING_LANGS)
            and code in dict(self.env["res.lang"].get_installed())
        )

    # === CONSTRAINTS / ONCHANGE === #
    @api.constrains("invite_channel", "otp_channel")
    def _check_otp_channel(self):
        for participant in self:
            if participant.otp_channel == participant.invite_channel:
                raise ValidationError(
                    self.env._(
                        "%(name)s: the one-time code must travel on another channel than the "
                        "invitation (invited by e-mail: code by SMS, and the other way round).",
                        name=participant.name,
                    )
                )

    @api.constrains(
        "participant_kind",
        "request_id",
        "to_be_named",
        "is_primary",
        "partner_id",
        "email",
        "mobile",
        "otp_channel",
    )
    def _check_company_signatory(self):
        for participant in self.filtered(lambda p: p.participant_kind == "company"):
            if participant.to_be_named:
                raise ValidationError(
                    self.env._("The company signs with its seal: it is not named by a customer.")
                )
            if (
                participant.is_primary
                or participant.partner_id
                or participant.email
                or participant.mobile
                or participant.otp_channel != "none"
            ):
                raise ValidationError(
                    self.env._(
                        "The company signs with its seal: it has no contact, no one-time code "
                        "and does not name the other participants."
                    )
                )
            companies = participant.request_id.participant_ids.filtered(
                lambda p: p.participant_kind == "company"
            )
            if len(companies) > 1:
                raise ValidationError(
                    self.env._(
                        "%s has the company as a participant twice: one seal is enough.",
                        participant.request_id.reference,
                    )
                )

    @api.constrains("email")
    def _check_email(self):
        for participant in self.filtered("email"):
            if not email_normalize(participant.email):
                raise ValidationError(
                    self.env._(
                        '%(name)s: "%(email)s" is not a valid e-mail address.',
                        name=participant.name,
                        email=participant.email,
                    )
                )

    @api.onchange("participant_kind")
    def _onchange_participant_kind(self):
        for participant in self.filtered(lambda p: p.participant_kind == "company"):
            participant.update(participant._prepare_company_signatory_values(participant))

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        for participant in self.filtered("partner_id"):
            partner = participant.partner_id
            participant.name = partner.name
            participant.email = partner.email
            participant.mobile = partner.phone

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        self._evidence_check_create_on_requests(
            vals_list,
            ("draft",),
            self.env._("Participants can only be added while the document is a draft."),
        )
        for vals in vals_list:
            if vals.get("participant_kind") == "company":
                request = self.env["digital.sign.request"].browse(vals.get("request_id"))
                vals.update(self._prepare_company_signatory_values(request, vals))
            self._normalize_contact_vals(vals)
        participants = super().create(vals_list)
        for request in participants.request_id:
            if not request.participant_ids.filtered("is_primary"):
                # The customer who names the others is a person: never the company.
                request.participant_ids.filtered(lambda p: p.participant_kind != "company").sorted(
                    lambda p: (p.signing_order, p.id)
                )[:1].sudo().is_primary = True
        return participants

    def write(self, vals):
        self._evidence_check_write(vals)
        if vals.get("participant_kind") == "company":
            for participant in self:
                participant_vals = dict(vals)
                participant_vals.update(
                    self._prepare_company_signatory_values(participant.request_id, vals)
                )
                self._normalize_contact_vals(participant_vals)
                super(DigitalSignParticipant, participant).write(participant_vals)
            return True
        self._normalize_contact_vals(vals)
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_if_draft(self):
        sent = self.filtered(lambda p: p.request_id.state != "draft")
        if sent:
            raise UserError(
                self.env._(
                    "%(names)s: a participant of a document that was sent cannot be removed.",
                    names=", ".join(sent.mapped("name")),
                )
            )

    @api.model
    def _prepare_company_signatory_values(self, request, vals=None):
        """The values of a company signatory of ``request``: the company's name (unless
        one is given), no contact, no link, no code, never the primary customer.

        :param request: the digital.sign.request (or a participant, for the onchange)
        :param dict vals: the values given, if any
        :return: dict of participant values
        """
        vals = vals or {}
        company = request.company_id or self.env.company
        return {
            "name": vals.get("name") or company.name,
            "partner_id": False,
            "email": False,
            "mobile": False,
            "otp_channel": "none",
            "invite_channel": "email",
            "to_be_named": False,
            "is_primary": False,
        }

    def _normalize_contact_vals(self, vals):
        """Normalise e-mail and mobile (E.164) in ``vals``; refuse a garbled number with a
        message that says what to type."""
        if vals.get("email"):
            vals["email"] = vals["email"].strip()
        if vals.get("mobile"):
            vals["mobile"] = self._format_mobile(vals["mobile"], vals.get("partner_id"))

    def _format_mobile(self, number, partner_id=None):
        partner = self.env["res.partner"].browse(partner_id) if partner_id else self.partner_id[:1]
        country = partner.country_id or self.env.company.country_id
        try:
            formatted = self.env["res.partner"]._phone_format(
                number=number, country=country, force_format="E164", raise_exception=True
            )
        except UserError as error:
            raise ValidationError(
                self.env._(
                    '"%(number)s" is not a usable mobile number. Type it in international format, '
                    "for example +46 70 123 45 67.",
                    number=number,
                )
            ) from error
        if not formatted:
            raise ValidationError(
                self.env._('"%(number)s" is not a usable mobile number.', number=number)
            )
        return formatted

    # === ACTIONS === #
    def action_open_reengage(self):
        self.ensure_one()
        if self.participant_kind == "company":
            raise UserError(
                self.env._("The company is reached through its seal keepers, not a contact.")
            )
        if self.state not in ("waiting", "sent") or self.request_state not in ("sent", "viewed"):
            raise UserError(
                self.env._(
                    "%s already opened the link (or the document is closed): the contact can no "
                    "longer change.",
                    self.name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Re-engage %s", self.name),
            "res_model": "digital.sign.participant.reengage",
            "view_mode": "form",
            "target": "new",
            "context": {"default_participant_id": self.id},
        }

    def action_sign_now(self):
        """Sign now, in person: the sender hands their device to this participant. Returns
        the sender's one-time hand-over link (``const.HOSTED_PATH``, valid
        ``HOSTED_LINK_TTL_SECONDS``, for this user only); opening it logs the sender out and
        opens the participant's page in a fresh session (``controllers/hosted.py``).

        Public method (RPC-callable with any ids): it checks the access and the state itself.
        """
        self.ensure_one()
        self.request_id.check_access("write")
        problem = self._get_sign_now_problem()
        if problem:
            raise UserError(problem)
        token = self._issue_hosted_token()
        return {
            "type": "ir.actions.act_url",
            "url": const.HOSTED_PATH.format(participant_id=self.id, token=token),
            "target": "self",
        }

    # === BUSINESS: contact and channels === #
    def _get_contact(self, channel):
        self.ensure_one()
        return self.email if channel == "email" else self.mobile if channel == "sms" else ""

    def _get_contact_label(self, channel):
        self.ensure_one()
        if channel == "email":
            return engine_otp.mask_email(self.email)
        if channel == "sms":
            return engine_otp.mask_phone(self.mobile)
        return ""

    def _uses_sms(self):
        """True when this participant is invited or gets codes by SMS (the invitation channel
        of a participant still to be named comes with their name).

        Note: self.ensure_one()
        """
        self.ensure_one()
        channels = (
            (self.otp_channel,) if self.to_be_named else (self.invite_channel, self.otp_channel)
        )
        return "sms" in channels

    def _get_channel_problem(self):
        """Return why this participant cannot be reached, or False.

        Note: self.ensure_one()
        """
        self.ensure_one()
        company = self.request_id.company_id
        if self._uses_sms() and not company._digital_sign_sms_allowed():
            return self.env._(
                "%(name)s: %(reason)s",
                name=f"{self.name} ({self.role})",
                reason=company._digital_sign_sms_off_message(),
            )
        if self.to_be_named or self.participant_kind == "company":
            return False
        labels = dict(const.CHANNELS)
        for channel in (self.invite_channel, self.otp_channel):
            if channel in ("email", "sms") and not self._get_contact(channel):
                return self.env._(
                    "%(name)s (%(role)s) has no %(what)s for the %(channel)s channel.",
                    name=self.name,
                    role=self.role,
                    what=self.env._("e-mail address")
                    if channel == "email"
                    else self.env._("mobile number"),
                    channel=labels[channel],
                )
        return False

    # === BUSINESS: tokens === #
    def _generate_token(self):
        """Give this participant a new link (256 bits); the previous link stops working."""
        for participant in self:
            participant.sudo().access_token = secrets.token_urlsafe(32)

    def _revoke_tokens(self):
        self.sudo().write(
            {"access_token": False, "hosted_token_hash": False, "hosted_expires_at": False}
        )

    def _token_matches(self, token):
        self.ensure_one()
        stored = self.sudo().access_token
        # consteq refuses non-ASCII str (TypeError): such a token is simply wrong.
        return bool(stored and isinstance(token, str) and token.isascii()) and consteq(
            stored, token
        )

    def _get_signing_path(self):
        """Return the path of this participant's signing page ('' when it has no link): the
        one place that builds it (``const.SIGNING_PATH``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        token = self.sudo().access_token
        if not token:
            return ""
        return const.SIGNING_PATH.format(participant_id=self.id, token=token)

    def _get_signing_url(self):
        """Return the absolute signing link of this participant ('' when it has none).

        Note: self.ensure_one()
        """
        self.ensure_one()
        path = self._get_signing_path()
        return f"{self.request_id.get_base_url()}{path}" if path else ""

    def _get_visible_signing_url(self):
        """This participant's live link when the current user may see it (the document's
        owner and the managers, or every reader when the setting says so: see the request's
        ``_can_see_live_links``), else ''.

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if (
            not self.id
            or self.state not in ("sent", "viewed")
            or request.state not in const.OPEN_REQUEST_STATES
            or not request._can_see_live_links()
        ):
            return ""
        return self._get_signing_url()

    # === BUSINESS: signing in person ("Sign now") === #
    def _is_customer(self):
        """True when this participant is not one of the company's own users (an internal
        user signs from their own session, never on a colleague's device).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return not self.partner_id.sudo().user_ids.filtered(lambda user: not user.share)

    def _get_sign_now_problem(self):
        """Why the current user cannot hand the device to this participant now ("Sign
        now"), or False: the document must be out on our own signing page, it must be this
        participant's turn, the participant a customer, and the user one who may see the
        live links (the owner and the managers: a hand-over link is as good as the
        participant's own link).

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if request.state not in const.OPEN_REQUEST_STATES:
            return self.env._("Sign now is for a document out for signature.")
        if request.provider_id.support_remote_signing:
            return self.env._(
                "%(ref)s is signed at %(service)s: Sign now works with the built-in signing "
                "page only.",
                ref=request.reference,
                service=request.provider_id.name,
            )
        if self.to_be_named or self._link_state() != "sign" or not self.sudo().access_token:
            return self.env._("It is not %s's turn to sign.", self.name)
        if not self._is_customer():
            return self.env._(
                "%s is one of the company's users: they sign from their own session.", self.name
            )
        if not request._can_see_live_links() or not request.has_access("write"):
            return self.env._(
                "Only the owner of %s and the managers can hand the signing over.",
                request.reference,
            )
        return False

    def _hosted_hash(self, token):
        self.ensure_one()
        return hmac(self.env(su=True), "digital_sign.hosted", (self.id, token))

    def _issue_hosted_token(self):
        """Issue the current user's hand-over link to this participant's page: a fresh
        256-bit token of which only the HMAC is kept (a previous hand-over link stops
        working). The participant's own link is untouched.

        :return: the token (str)
        Note: self.ensure_one()
        """
        self.ensure_one()
        token = secrets.token_urlsafe(32)
        self.sudo().write(
            {
                "hosted_token_hash": self._hosted_hash(token),
                "hosted_expires_at": fields.Datetime.now()
                + timedelta(seconds=const.HOSTED_LINK_TTL_SECONDS),
                "hosted_by_id": self.env.user.id,
            }
        )
        return token

    def _hosted_token_matches(self, token, user):
        """True when ``token`` is the live hand-over link issued to ``user`` for this
        participant: not used yet, not expired (constant-time compare).

        Note: self.ensure_one()
        """
        self.ensure_one()
        participant_sudo = self.sudo()
        stored = participant_sudo.hosted_token_hash
        return bool(
            stored
            and isinstance(token, str)
            and token.isascii()
            and participant_sudo.hosted_expires_at
            and participant_sudo.hosted_expires_at >= fields.Datetime.now()
            and participant_sudo.hosted_by_id == user
            and consteq(stored, self._hosted_hash(token))
        )

    def _consume_hosted_token(self, token, user):
        """Use the hand-over link once: True when it matched (it is burnt then), False
        otherwise. Two concurrent uses serialise on the request's row: one wins.

        Note: self.ensure_one()
        """
        self.ensure_one()
        self.request_id._lock_for_update()
        self.invalidate_recordset(["hosted_token_hash", "hosted_expires_at", "hosted_by_id"])
        if not self._hosted_token_matches(token, user):
            return False
        self.sudo().write({"hosted_token_hash": False, "hosted_expires_at": False})
        return True

    def _log_in_person(self, host):
        """The audit trail: ``host`` (the sender's user, also the event's actor) handed
        their device to this participant, whose page opens in a fresh session."""
        self.ensure_one()
        self.request_id._log_event(
            "in_person",
            participant=self,
            channel="web",
            details={"hosted_by": f"{host.name} ({host.login})", "host_user_id": host.id},
        )

    # === BUSINESS: flow === #
    def _is_turn(self):
        """True when every mandatory participant of an earlier signing order has signed."""
        self.ensure_one()
        earlier = self.request_id.participant_ids.filtered(
            lambda p: p.signing_order < self.signing_order and p.mandatory
        )
        return all(p.state == "signed" for p in earlier)

    def _invite(self, reminder=False):
        """Send (or resend) the invitation of these participants on their channels, each
        with a fresh link (the participants of a batch of requests together).

        :return: True when every invitation was queued
        """
        queued = True
        company = self.filtered(lambda p: p.participant_kind == "company")
        for participant in company if not reminder else ():
            # No link and no message: the seal keepers apply the seal from the backend.
            queued = participant.request_id._invite_company_signatory(participant) and queued
        others = self - company
        if not others:
            return queued
        if not reminder:
            others._generate_token()
            others.sudo().write({"state": "sent", "invited_at": fields.Datetime.now()})
        for provider, participants in others.grouped(lambda p: p.request_id.provider_id).items():
            queued = provider._send_invitations(participants, reminder=reminder) and queued
        return queued

    def _send_invitation_message(self, reminder=False):
        """Queue the invitation e-mails or SMS of these participants (sent by Odoo's mail and
        SMS queues after commit, so a retried transaction never sends twice). The link never
        goes to the chatter.

        Several participants (a bulk send) are queued in one batch; should the batch fail,
        each is queued on its own. A participant whose message cannot be queued is recorded
        in the audit trail (``invite_failed``), and the others go on.

        :return: True if every message was queued
        """
        switched_off = self.filtered(
            lambda p: p.invite_channel == "sms"
            and not p.request_id.company_id._digital_sign_sms_allowed()
        )
        if switched_off:
            # SMS switched off after the document was sent: nothing goes out, and it says why.
            self.env["digital.sign.request"]._log_events(
                [
                    {
                        "request": participant.request_id,
                        "event_type": "invite_failed",
                        "participant": participant,
                        "channel": "sms",
                        "details": {
                            "to": participant._get_contact_label("sms"),
                            "error": "sms_switched_off",
                        },
                    }
                    for participant in switched_off
                ]
            )
            rest = self - switched_off
            if rest:
                rest._send_invitation_message(reminder)
            return False
        if len(self) > 1:
            try:
                with self.env.cr.savepoint():
                    self._queue_invitations(reminder)
            except Exception as error:  # noqa: BLE001 - then one by one, failures recorded
                _logger.warning(
                    "Invitations of %s participants failed together (%s): queued one by one",
                    len(self),
                    type(error).__name__,
                )
                return all([participant._send_invitation_message(reminder) for participant in self])
        elif self:
            try:
                self._queue_invitations(reminder)
            except Exception as error:  # noqa: BLE001 - any failure is recorded, nothing lost
                _logger.warning(
                    "Invitation of participant %s failed: %s", self.id, type(error).__name__
                )
                self.request_id._log_event(
                    "invite_failed",
                    participant=self,
                    channel=self.invite_channel,
                    details={
                        "to": self._get_contact_label(self.invite_channel),
                        "error": type(error).__name__,
                    },
                )
                return False
        self.env["digital.sign.request"]._log_events(
            [
                {
                    "request": participant.request_id,
                    "event_type": "reminded" if reminder else "invited",
                    "participant": participant,
                    "channel": participant.invite_channel,
                    "details": {"to": participant._get_contact_label(participant.invite_channel)},
                }
                for participant in self
            ]
        )
        return True

    def _queue_invitations(self, reminder=False):
        """Queue the invitation (or reminder) of each of these participants on its channel:
        the SMS in one batch, the e-mails in one batch per mail template.

        :raise Exception: whatever stopped the queueing (the caller records it)
        """
        purpose = "reminder" if reminder else "invitation"
        requests = self.request_id
        by_sms = self.filtered(lambda p: p.invite_channel == "sms")
        if by_sms:
            linked = requests._get_linked_mixin_records()
            self.env["sms.sms"].sudo().create(
                [
                    participant._prepare_sms_values(
                        participant.request_id._get_invitation_sms_body(
                            participant,
                            participant._get_signing_url(),
                            reminder=reminder,
                            record=linked[participant.request_id.id],
                        ),
                        purpose,
                    )
                    for participant in by_sms
                ]
            )
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        by_mail = self - by_sms
        if by_mail:
            templates = by_mail.request_id._get_invitation_templates(reminder=reminder)
            for template, participants in by_mail.grouped(
                lambda p: templates[p.request_id.id]
            ).items():
                participants._queue_mails(
                    template.with_context(reminder=reminder),
                    purpose,
                    {
                        participant.id: participant._get_signing_url()
                        for participant in participants
                    },
                )

    def _attach_link_qr(self, mail_id, png):
        """Give the invitation e-mail ``mail_id`` the QR code of the signing link (a PNG) as
        an attachment, for the mail clients that hide its inline ``data:`` image.

        The message of an e-mail turns an inline image of its body into an attachment that
        anyone holding its access token may fetch, and that outlives the e-mail: that one is
        reused instead (its token dropped), or made when the template has no inline code.
        Either way it belongs to the e-mail's own message (``mail.message``), written by the
        superuser: no user reads it through a document, and it is deleted with the e-mail
        once sent."""
        self.ensure_one()
        mail_sudo = self.env["mail.mail"].sudo().browse(mail_id).exists()
        if not png or not mail_sudo:
            return
        values = {
            "name": "signing-link-qr.png",
            "mimetype": "image/png",
            "res_model": "mail.message",
            "res_id": mail_sudo.mail_message_id.id,
            "access_token": False,
        }
        inline_sudo = mail_sudo.attachment_ids.filtered(lambda a: a.raw == png)
        if inline_sudo:
            inline_sudo.write(values)
            return
        attachment_sudo = self.env["ir.attachment"].sudo().create({**values, "raw": png})
        mail_sudo.attachment_ids = [Command.link(attachment_sudo.id)]

    def _queue_mail(self, template, purpose, attachment_ids=None):
        """Queue one e-mail of ``template`` (rendered on this participant) to the stored
        address, sent by Odoo's mail queue after commit.

        An invitation or a code is a credential: the message is linked to no document and
        written by the superuser, so no user reads it through the chatter or the messages
        of the participant (only the outgoing mail queue, for administrators, until it is
        sent and deleted).
        """
        self.ensure_one()
        values = self._prepare_mail_values(purpose)
        if attachment_ids:
            values["attachment_ids"] = attachment_ids
        mail_id = template.with_user(SUPERUSER_ID).send_mail(self.id, email_values=values)
        self._wake_mail_queue()
        return mail_id

    def _wake_mail_queue(self):
        """Wake the mail queue now (once per transaction) rather than at its next hourly
        run: on any server, after this transaction commits."""
        flags = self.env.cr.precommit.data
        if not flags.get("digital_sign.mail_queue_woken"):
            flags["digital_sign.mail_queue_woken"] = True
            self.env.ref("mail.ir_cron_mail_scheduler_action").sudo()._trigger()

    def _prepare_mail_values(self, purpose):
        """The values of an e-mail queued for this participant, over what its template
        renders (see ``_queue_mail``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {
            "email_to": self.email,
            "recipient_ids": [],
            "model": False,
            "res_id": False,
            "digital_sign_participant_id": self.id,
            "digital_sign_purpose": purpose,
        }

    def _queue_mails(self, template, purpose, links):
        """Queue one e-mail of ``template`` for each of these participants, as
        ``_queue_mail`` does, with each one's own link given to the template as
        ``signing_url``: rendered and created in one batch (a bulk send).

        The template is rendered once for all with a random stand-in for the link, which
        each e-mail then gets replaced by its own link (escaped as QWeb escapes it). A
        template that does more with the link than show it (the stand-in is not in what it
        rendered), or that wraps its body in a layout or attaches reports, is rendered for
        each participant on its own.

        :param template: the mail.template (model digital.sign.participant)
        :param str purpose: a key of const.MESSAGE_PURPOSES
        :param dict links: {participant id: signing URL}
        :return: the queued mail.mail records
        """
        Mail = self.env["mail.mail"].sudo()
        template = template.with_user(SUPERUSER_ID)
        # the QR code of each link, inline and attached (see _attach_link_qr)
        qrs = {pid: engine_qr.url_qr_png(link, scale=5) for pid, link in links.items()}
        if len(self) > 1 and not (template.email_layout_xmlid or template.report_template_ids):
            stand_in = f"https://digital-sign.invalid/{secrets.token_hex(16)}"
            qr_stand_in = f"data:image/png;base64,{secrets.token_hex(16)}"
            rendered = template.with_context(
                signing_url=stand_in, signing_qr=qr_stand_in
            )._generate_template(self.ids, MAIL_RENDER_FIELDS)
            if all(
                stand_in in str(rendered[participant.id].get("body_html") or "")
                and not rendered[participant.id].pop("attachments", None)
                for participant in self
            ):
                values_list = []
                for participant in self:
                    link = links[participant.id]
                    values = rendered[participant.id]
                    body = (
                        Markup(values.get("body_html") or "")
                        .replace(stand_in, link)
                        .replace(qr_stand_in, engine_qr.png_data_uri(qrs[participant.id]))
                    )
                    values.update(
                        body_html=body,
                        body=body,
                        subject=str(values.get("subject") or "").replace(stand_in, link),
                        recipient_ids=[(4, pid) for pid in values.get("partner_ids") or []],
                        attachment_ids=[(4, aid) for aid in values.get("attachment_ids") or []],
                    )
                    values.update(participant._prepare_mail_values(purpose))
                    if "email_from" in values and not values.get("email_from"):
                        del values["email_from"]
                    values_list.append(values)
                mails = Mail.create(values_list)
                for participant, mail in zip(self, mails, strict=True):
                    participant._attach_link_qr(mail.id, qrs[participant.id])
                self._wake_mail_queue()
                return mails
        mails = Mail
        for participant in self:
            png = qrs[participant.id]
            mail_id = participant._queue_mail(
                template.with_context(
                    signing_url=links[participant.id], signing_qr=engine_qr.png_data_uri(png)
                ),
                purpose,
            )
            participant._attach_link_qr(mail_id, png)
            mails |= Mail.browse(mail_id)
        return mails

    def _prepare_sms_values(self, body, purpose):
        """The values of an SMS queued for this participant (see ``_queue_sms``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {
            "number": self.mobile,
            "body": body,
            "partner_id": self.partner_id.id,
            "digital_sign_participant_id": self.id,
            "digital_sign_purpose": purpose,
        }

    def _queue_sms(self, body, purpose="invitation"):
        """Queue one SMS to this participant's stored number and wake the SMS queue.

        The body never reaches the chatter (it may hold a link or a code).
        """
        self.ensure_one()
        company = self.request_id.company_id
        if not company._digital_sign_sms_allowed():
            raise UserError(company._digital_sign_sms_off_message())
        sms = self.env["sms.sms"].sudo().create(self._prepare_sms_values(body, purpose))
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms

    def _log_message_outcome(self, channel, purpose, success, failure=""):
        """Record in the audit trail what the mail server or SMS gateway did with a message
        sent to this participant (never its content)."""
        self.ensure_one()
        purposes = dict(const.MESSAGE_PURPOSES)
        self.request_id.sudo()._log_event(
            "message_sent" if success else "message_failed",
            participant=self,
            channel=channel,
            details={
                "what": purposes.get(purpose, purpose or ""),
                "to": self._get_contact_label(channel),
                "error": failure or "",
            },
            ip="",
            user_agent="",
        )

    def _set_skipped(self):
        self.sudo().write({"state": "skipped"})
        self._revoke_tokens()
        for participant in self:
            participant.request_id._log_event("participant_skipped", participant=participant)

    def _set_expired(self):
        """Expire; the link keeps working only to say so and to ask for a new one."""
        self.filtered(lambda p: p.state not in const.PARTICIPANT_FINAL_STATES).sudo().write(
            {"state": "expired"}
        )

    def _reset(self):
        self.sudo().write(
            {
                "state": "waiting",
                "access_token": False,
                "invited_at": False,
                "viewed_at": False,
                "consent_at": False,
                "otp_verified_at": False,
                "signed_at": False,
                "rejected_at": False,
                "reject_reason": False,
                "reminder_count": 0,
                "last_reminder_at": False,
                "otp_hash": False,
                "otp_failures": 0,
                "otp_locked_until": False,
                "otp_visible_code": False,
                "hosted_token_hash": False,
                "hosted_expires_at": False,
            }
        )

    # === BUSINESS: the signing page === #
    def _link_state(self):
        """What this participant's link may show now: 'sign' (the document, to sign),
        'signed', 'rejected', 'expired', 'closed' (cancelled, skipped or the request ended
        without them) or 'waiting' (not their turn).

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if self.participant_kind == "company":
            return "closed"  # the company signs from the backend, never through a link
        if self.state == "signed":
            return "signed"
        if self.state == "rejected":
            return "rejected"
        if self.state == "expired" or request.state == "expired":
            return "expired"
        if request.state in ("sent", "viewed") and self.state in ("sent", "viewed"):
            if request.deadline and request.deadline < fields.Datetime.now():
                return "expired"
            return "sign" if self._is_turn() else "waiting"
        return "closed"

    def _expire_if_late(self):
        """Expire the request when its deadline passed while someone was looking at it."""
        self.ensure_one()
        self.request_id._expire_if_late()

    def _mark_viewed(self):
        """First display of the document: the participant (and the request, if it was
        only sent) become viewed.

        Called when the page's script reports that it showed the document (a POST from the
        rendered page), or on signing or rejecting; never on a bare GET of the link, which
        mail systems' link scanners make.
        """
        self.ensure_one()
        if self.state != "sent":
            return False
        self.sudo().write({"state": "viewed", "viewed_at": fields.Datetime.now()})
        self.request_id._log_event("viewed", participant=self, channel="web")
        self.request_id._set_viewed()
        return True

    def _log_opened_logged_in(self, user):
        """The signing page was opened by a browser logged in as ``user``: log it, with who
        it was. A portal user is named as such, and the event says whether they are this
        participant (their own contact) or someone else holding the link."""
        self.ensure_one()
        label = f"{user.name} ({user.login})"
        details = {"user": label}
        if user.share:
            details = {
                "user": f"portal user {label}",
                "is_participant": self._is_logged_in_as(user),
            }
        self.request_id._log_event(
            "opened_logged_in", participant=self, channel="web", details=details
        )

    def _is_logged_in_as(self, user):
        """True when ``user`` (logged in) is this participant: the user's own contact is the
        participant's contact. Never for the public user.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return (
            bool(self.partner_id) and not user._is_public() and user.partner_id == self.partner_id
        )

    def _login_waives_code(self, user):
        """True when being logged in as ``user`` proves who this participant is, so the
        one-time code that the link alone would need is not asked: the user is this
        participant, and the sender required no code (``otp_channel`` 'none'; such a code is
        then only the one asked for the signed copy after the link's window). A code the
        sender required is always asked.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return self.otp_channel == "none" and self._is_logged_in_as(user)

    def _get_lang(self, preferred=None):
        """The language this participant reads the page, messages, code and consent in:
        ``preferred`` (their choice on the page, kept in their browser session and given
        by the page's controller as the context key ``digital_sign_page_lang``), else the
        language chosen for them when the document was sent, else their contact's, else the
        document owner's, else the company's; the first that is an installed signing
        language (``const.SIGNING_LANGS``), English otherwise.

        Note: self.ensure_one()
        """
        self.ensure_one()
        preferred = preferred or self.env.context.get("digital_sign_page_lang")
        for code in (preferred, self.lang):
            if self._is_signing_lang(code):
                return code
        for code, _tz in self._contacts_locale():
            if self._is_signing_lang(code):
                return code
        installed = dict(self.env["res.lang"].get_installed())
        return "en_US" if "en_US" in installed else next(iter(installed), "en_US")

    def _get_tz(self):
        """The time zone of this participant's page and messages: their contact's, else the
        document owner's, else UTC.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return next(filter(None, (tz for _lang, tz in self._contacts_locale())), "UTC")

    def _contacts_locale(self):
        """The ``(lang, tz)`` of the participant's contact, of the document owner's and of
        the company's, in that order (``(None, None)`` for one that is missing).

        Read by one query: every signing page's GET needs them, and reading them through
        the ORM (participant, owner, owner's contact, company, company's contact) cost more
        queries than all the rest of the page (py-spy, ``./scripts/bench portal``). The page
        reads them once and keeps them in its context (``_with_page_locale``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        kept = self.env.context.get("digital_sign_contacts_locale")
        if kept and kept[0] == self.id:
            return kept[1]
        self.env["res.partner"].flush_model(["lang", "tz"])
        self.env["res.users"].flush_model(["partner_id"])
        self.env["res.company"].flush_model(["partner_id"])
        request = self.request_id
        # One row per contact found, by rank; a join of the five tables cost the planner
        # more than the three reads it replaces.
        rows = self.env.execute_query(
            SQL(
                """
                SELECT source.rank, contact.lang, contact.tz
                  FROM (VALUES (0, CAST(%s AS integer)),
                               (1, (SELECT partner_id FROM res_users WHERE id = %s)),
                               (2, (SELECT partner_id FROM res_company WHERE id = %s))
                       ) AS source(rank, partner_id)
                  JOIN res_partner contact ON contact.id = source.partner_id
                """,
                self.partner_id.id or None,
                request.user_id.id or None,
                request.company_id.id or None,
            )
        )
        found = {rank: (lang, tz) for rank, lang, tz in rows}
        return tuple(found.get(rank, (None, None)) for rank in range(3))

    def _with_page_locale(self, preferred=None):
        """This participant in the language and time zone of their page (``_get_lang``
        with ``preferred``, their choice on the page; ``_get_tz``), with their contacts'
        settings kept for the rest of the request (``_contacts_locale``) and ``preferred``
        as the context key ``digital_sign_page_lang``."""
        self.ensure_one()
        kept = self.with_context(digital_sign_contacts_locale=(self.id, self._contacts_locale()))
        return kept.with_context(
            lang=kept._get_lang(preferred),
            tz=kept._get_tz(),
            digital_sign_page_lang=preferred or False,
        )

    def _format_page_time(self, value):
        """A time as this participant reads it on their page: in their language
        (``_get_lang``, so their choice on the page too) and time zone (``_get_tz``), with the
        zone named, e.g. "2026-11-23 14:05:00 (centraleuropeisk normaltid)".

        Note: self.ensure_one()
        """
        self.ensure_one()
        return format_local_time(self.env, value, tz=self._get_tz(), lang=self._get_lang())

    @api.model
    def _get_page_langs(self):
        """The languages the public pages offer: the installed signing languages, each
        named in itself ("Svenska", "简体中文"), with its BCP 47 tag for ``lang`` attributes.

        :return: list of dicts with ``code``, ``tag`` and ``name``
        """
        return [
            {"code": code, "tag": html_lang(code), "name": name.rpartition(" / ")[2] or name}
            for code, name in self._selection_lang()
        ]

    def _in_own_lang(self, preferred=None):
        """This participant in an environment of their language and time zone."""
        self.ensure_one()
        return self.with_context(lang=self._get_lang(preferred), tz=self._get_tz())

    def _get_consent_text(self):
        """The consent text, in the environment's language (see ``_in_own_lang``)."""
        text = self.env["ir.config_parameter"].sudo().get_param("digital_sign.consent_text")
        return text or self.env._(
            "I agree to sign this document electronically. I understand that my electronic "
            "signature has the same value as my handwritten signature, that I can ask the "
            "sender for a paper copy, and that a record of this signature (time, IP address, "
            "browser) is kept as evidence."
        )

    # --- one-time codes --- #
    def _otp_hash(self, code):
        self.ensure_one()
        return hmac(self.env(su=True), "digital_sign.otp", (self.id, code))

    def _otp_required(self):
        """True when the link needs a one-time code first: to sign, when the sender chose a
        code channel; to see the signed copy again, once the days the link keeps giving it
        (setting ``signed_link_days``) have passed since the signature.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.state == "signed":
            return self._signed_link_closed()
        return self.otp_channel in ("email", "sms")

    def _signed_link_closed(self):
        """True when this participant signed more than ``signed_link_days`` days ago: the
        bare link no longer gives the signed copy (a leaked or forwarded link stops being
        enough), a code on the participant's channel does."""
        self.ensure_one()
        days = self.request_id._get_setting("signed_link_days")
        return bool(
            self.state == "signed"
            and self.signed_at
            and self.signed_at + timedelta(days=max(days, 0)) < fields.Datetime.now()
        )

    def _get_code_channel(self):
        """The channel of this participant's one-time codes: the code channel the sender
        chose, else (for the signed copy) the invitation's channel."""
        self.ensure_one()
        if self.otp_channel in ("email", "sms"):
            return self.otp_channel
        if (
            self.invite_channel == "sms"
            and self.email
            and not self.request_id.company_id._digital_sign_sms_allowed()
        ):
            return "email"  # text messages were switched off: the code goes by e-mail
        return self.invite_channel

    def _otp_send(self, ip=""):
        """Draw a new code, store its HMAC and send it on the code channel, to the stored
        address only. Limits: one code a minute, 3 per 15 minutes and 10 per day for the
        participant, 20 per 15 minutes for an IP; none while locked.

        :return: dict with ``status`` in ok, wait, locked, limited, failed (never raises)
        Note: self.ensure_one()
        """
        self.ensure_one()
        now = fields.Datetime.now()
        Throttle = self.env["digital.sign.throttle"]
        if self.otp_locked_until and self.otp_locked_until > now:
            return {"status": "locked", "until": self.otp_locked_until}
        if self.otp_sent_at and self.otp_sent_at > now - timedelta(
            seconds=const.OTP_RESEND_SECONDS
        ):
            return {
                "status": "wait",
                "seconds": int(
                    (
                        self.otp_sent_at + timedelta(seconds=const.OTP_RESEND_SECONDS) - now
                    ).total_seconds()
                )
                + 1,
            }
        key = f"otp_send:{self.id}"
        if (
            Throttle._is_limited(key, 3, 15 * 60)
            or Throttle._is_limited(key, 10, const.DAY)
            or (
                ip
                and Throttle._is_limited(
                    f"otp_send_ip:{ip}", const.THROTTLE_CODE_SENDS_PER_IP, 15 * 60
                )
            )
        ):
            return {"status": "limited"}
        channel = self._get_code_channel()
        destination = self._get_contact(channel)
        masked = self._get_contact_label(channel)
        if channel == "sms" and not self.request_id.company_id._digital_sign_sms_allowed():
            # The sender required a code by SMS, which is switched off since: no fallback to
            # the invitation's channel (a code must travel on another channel than the link).
            Throttle._hit(key, 15 * 60)
            Throttle._hit(key, const.DAY)
            self._log_code_send_failed(channel, masked, "sms_switched_off")
            return {"status": "sms_off"}
        if not destination:
            self._log_code_send_failed(channel, masked, "no destination")
            return {"status": "failed"}
        code = engine_otp.generate_code()
        show_code = self.env["ir.config_parameter"].sudo().get_param("digital_sign.otp_show_code")
        self.sudo().write(
            {
                "otp_hash": self._otp_hash(code),
                "otp_expires_at": now + timedelta(seconds=const.OTP_TTL_SECONDS),
                "otp_failures": 0,
                "otp_sent_at": now,
                "otp_visible_code": code if show_code in ("1", "True") else False,
            }
        )
        Throttle._hit(key, 15 * 60)
        Throttle._hit(key, const.DAY)
        if ip:
            Throttle._hit(f"otp_send_ip:{ip}", 15 * 60)
        try:
            if channel == "sms":
                self._queue_sms(self._get_otp_message(code), purpose="code")
            else:
                self._queue_mail(
                    self.env.ref("digital_sign.mail_template_signature_code").with_context(
                        otp_code=code, digital_sign_signed_copy=self.state == "signed"
                    ),
                    "code",
                )
        except Exception as error:  # noqa: BLE001 - fail closed, and say so
            _logger.warning("Code for participant %s not sent: %s", self.id, type(error).__name__)
            self.sudo().write({"otp_hash": False, "otp_visible_code": False})
            self._log_code_send_failed(channel, masked, type(error).__name__)
            return {"status": "failed"}
        self.request_id._log_event(
            "code_sent", participant=self, channel=channel, details={"to": masked}
        )
        return {"status": "ok", "to": masked}

    def _log_code_send_failed(self, channel, masked, error):
        """The audit trail: no code went to ``masked`` (the contact as shown) on ``channel``.

        :param str error: why, a stable word or an exception's class name
        Note: self.ensure_one()
        """
        self.request_id._log_event(
            "code_send_failed",
            participant=self,
            channel=channel,
            details={"to": masked, "error": error},
        )

    def _get_otp_message(self, code):
        lang = self._get_lang()
        if self.state == "signed":
            return self.with_context(lang=lang).env._(
                '%(code)s is your code to open the signed document "%(name)s". It is valid '
                "for 10 minutes. Never share it.",
                code=code,
                name=self.request_id.name,
            )
        return self.with_context(lang=lang).env._(
            '%(code)s is your code to sign "%(name)s". It is valid for 10 minutes. Never share it.',
            code=code,
            name=self.request_id.name,
        )

    def _otp_verify(self, typed):
        """Check a typed code. Failures are recorded and returned, never raised (a raise
        would roll the counter back).

        Two limits: ``OTP_MAX_FAILURES`` wrong tries burn a code and lock for
        ``OTP_LOCK_SECONDS``; and, since a new code can be asked for after the lock,
        ``OTP_MAX_FAILURES_PER_DAY`` failed tries over 24 hours (wrong or without a live
        code), whatever the codes, lock for ``OTP_DAY_LOCK_SECONDS``. Each lock tells the
        owner.

        :return: dict with ``status`` in ok, wrong, expired, locked
        Note: self.ensure_one()
        """
        self.ensure_one()
        now = fields.Datetime.now()
        participant_sudo = self.sudo()
        channel = self._get_code_channel()
        if self.otp_locked_until and self.otp_locked_until > now:
            return {"status": "locked", "until": self.otp_locked_until}
        code = engine_otp.normalize_code(typed)
        stored = participant_sudo.otp_hash
        expired = (
            not stored
            or not participant_sudo.otp_expires_at
            or participant_sudo.otp_expires_at < now
        )
        if not expired and code and consteq(stored, self._otp_hash(code)):
            values = {
                "otp_hash": False,
                "otp_expires_at": False,
                "otp_failures": 0,
                "otp_visible_code": False,
            }
            details = {"to": self._get_contact_label(channel)}
            if self.state == "signed":
                # The signed copy, after the link's window: otp_verified_at stays the
                # evidence of the code verified to sign.
                details["for"] = "signed copy"
            else:
                values["otp_verified_at"] = now
            participant_sudo.write(values)
            self.request_id._log_event(
                "code_verified", participant=self, channel=channel, details=details
            )
            return {"status": "ok"}
        # A try without a live code counts over the day too: each try writes an event, so
        # tries must stay bounded.
        Throttle = self.env["digital.sign.throttle"]
        day_key = f"otp_fail:{self.id}"
        Throttle._hit(day_key, const.DAY)
        day_failures = Throttle._count(day_key, const.DAY)
        failures = participant_sudo.otp_failures + (0 if expired else 1)
        self.request_id._log_event(
            "code_failed",
            participant=self,
            channel=channel,
            details={"reason": "expired"} if expired else {"reason": "wrong", "failures": failures},
        )
        for_a_day = day_failures >= const.OTP_MAX_FAILURES_PER_DAY
        if for_a_day or (not expired and failures >= const.OTP_MAX_FAILURES):
            until = now + timedelta(
                seconds=const.OTP_DAY_LOCK_SECONDS if for_a_day else const.OTP_LOCK_SECONDS
            )
            participant_sudo.write(
                {
                    "otp_failures": failures,
                    "otp_hash": False,
                    "otp_expires_at": False,
                    "otp_visible_code": False,
                    "otp_locked_until": until,
                }
            )
            self.request_id._log_event(
                "code_locked",
                participant=self,
                channel=channel,
                details={"until": fields.Datetime.to_string(until), "failures_24h": day_failures},
            )
            if for_a_day:
                note = self.env._(
                    "%(name)s typed %(count)s wrong codes within 24 hours: signing is locked "
                    "for 24 hours. Call them if they need help; someone else may be trying "
                    "their link.",
                    name=self.name,
                    count=day_failures,
                )
            else:
                note = self.env._(
                    "%(name)s typed a wrong code %(count)s times: signing is locked for "
                    "15 minutes. Call them if they need help.",
                    name=self.name,
                    count=failures,
                )
            self.request_id._notify_owner(self.env._("Signing locked for %s", self.name), note)
            return {"status": "locked", "until": until}
        if expired:
            return {"status": "expired"}
        participant_sudo.write({"otp_failures": failures})
        return {
            "status": "wrong",
            "left": min(
                const.OTP_MAX_FAILURES - failures, const.OTP_MAX_FAILURES_PER_DAY - day_failures
            ),
        }

    # --- submitting --- #
    @api.model
    def _clean_text(self, value, limit):
        """Strip control characters and bidi overrides from typed text; refuse text over
        ``limit`` characters (return None)."""
        value = str(value or "")
        if len(value) > limit:
            return None
        return "".join(
            ch
            for ch in value
            if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
        ).strip()

    def _lock_request(self):
        """Lock the request's row (``_lock_for_update``), then read this participant and
        the request afresh: what a concurrent transaction committed meanwhile counts.

        :return: the request
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        request._lock_for_update()
        self.invalidate_recordset()
        request.invalidate_recordset()
        return request

    def _cancel_if_source_changed(self):
        """What you see is what you sign: when the linked record (the quotation...) changed
        after the PDF was made, cancel the request, saying so.

        :return: True when the request was cancelled
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if not request._source_changed():
            return False
        request._set_cancelled(
            self.env._(
                "%s changed after it was sent: send a new version for signature.",
                request.res_name or request.name,
            )
        )
        return True

    def _claim_signed(self, now):
        """Compare-and-set: move this participant from sent or viewed to signed at ``now``.
        Of concurrent submissions (two tabs, a seal applied twice) exactly one wins.

        :return: True when this call moved it, False when it was no longer sent or viewed
        Note: self.ensure_one()
        """
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """UPDATE digital_sign_participant SET state = 'signed', signed_at = %s
               WHERE id = %s AND state IN ('sent', 'viewed') RETURNING id""",
                now,
                self.id,
            )
        )
        if not self.env.cr.fetchone():
            self.invalidate_recordset()
            return False
        self.invalidate_recordset(["state", "signed_at"])
        return True

    def _submit(self, values, consent, document_sha256, ip="", user_agent=""):
        """Sign: check every value against the fields the server knows for this participant,
        store them, and move the participant (and maybe the request) on. Exactly one
        signature is recorded whatever the timing: the request row is locked and the
        participant moves with a compare-and-set.

        :param dict values: {field id (str or int): value} from the browser
        :param bool consent: the participant accepted to sign electronically
        :param str document_sha256: the hash of the document the page showed
        :return: dict with ``status``: ok, already_signed, invalid (with ``errors``),
            changed (the document changed), closed
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self._lock_request()
        if self.state == "signed":
            return {"status": "already_signed"}
        if self._link_state() != "sign":
            return {"status": "closed"}
        if self._otp_required() and not self.otp_verified_at:
            return {"status": "closed"}
        if not consent:
            return {
                "status": "invalid",
                "errors": {"consent": self.env._("Please accept to sign electronically.")},
            }
        if document_sha256 and not consteq(str(document_sha256), request.original_sha256 or ""):
            return {"status": "changed"}
        if self._cancel_if_source_changed():
            return {"status": "changed"}
        now = fields.Datetime.now()
        writes, errors = self._check_submitted_values(values, now)
        if errors:
            return {"status": "invalid", "errors": errors}
        # Signing proves the page was shown, even if its "viewed" report never arrived.
        self._mark_viewed()
        if not self._claim_signed(now):
            return {"status": "already_signed"}
        for field, field_values in writes.items():
            field_values["filled_at"] = now
            if "value_image" in field_values:
                field_values["value_image"] = base64.b64encode(field_values["value_image"])
            field.sudo().write(field_values)
        # The consent in the words the participant read: the language of their page.
        consent_lang = self._get_lang()
        consent_text = self.with_context(lang=consent_lang)._get_consent_text()
        self.sudo().write(
            {
                "consent_at": now,
                "consent_text": consent_text,
                "signed_ip": ip,
                "signed_user_agent": (user_agent or "")[:512],
            }
        )
        request._log_event(
            "consent",
            participant=self,
            channel="web",
            ip=ip,
            user_agent=user_agent,
            details={
                "text_sha256": hashlib.sha256(consent_text.encode()).hexdigest(),
                "lang": consent_lang,
            },
        )
        request._log_event(
            "signed",
            participant=self,
            channel="web",
            ip=ip,
            user_agent=user_agent,
            details={"fields": len(writes)},
        )
        request._on_participant_done(self)
        return {"status": "ok"}

    # --- the company's seal --- #
    def _get_company_seal_problem(self):
        """Why the company seal cannot be applied for this (company) participant now, or ''.

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if self.participant_kind != "company":
            return self.env._("%s is not the company: only a person signs as them.", self.name)
        if self.state == "signed":
            return self.env._("The company seal is already on %s.", request.reference)
        if request.state not in const.OPEN_REQUEST_STATES or self.state not in ("sent", "viewed"):
            return self.env._(
                "%s is not waiting for the company seal (it is not the company's turn, or the "
                "document is closed).",
                request.reference,
            )
        if request.deadline and request.deadline < fields.Datetime.now():
            return self.env._("%s passed its deadline.", request.reference)
        if not self._is_turn():
            return self.env._(
                "The participants before the company have not all signed %s yet.",
                request.reference,
            )
        if not request.company_id._digital_sign_get_company_seal():
            return self.env._(
                "%s has no company seal image: upload it in Settings > Digital Signing.",
                request.company_id.name,
            )
        return ""

    def _mark_viewed_by_keeper(self):
        """A seal keeper opened the document to review it: the company participant (and
        the request, if it was only sent) become viewed, logged with the user.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.participant_kind != "company" or self.state != "sent":
            return False
        user = self.env.user
        self.sudo().write({"state": "viewed", "viewed_at": fields.Datetime.now()})
        self.request_id._log_event(
            "viewed",
            participant=self,
            channel="backend",
            details={"user_id": user.id, "user": user.name},
        )
        self.request_id._set_viewed()
        return True

    def _apply_company_seal(self, document_sha256, ip="", user_agent=""):
        """The company signs: its seal image goes on its signature and initials places and
        the date on its date places; the seal keeper who applied it (the current user) is
        logged with it; then the signing order goes on like after any signature.

        The caller (the apply wizard, ``digital.sign.participant.company.seal``) checked that
        the user is a seal keeper and that they ticked that they reviewed the document whose
        hash is ``document_sha256``. Exactly one application is recorded whatever the timing:
        the request row is locked and the participant moves with a compare-and-set.

        Threat: a seal applied without a seal keeper (the external API), on a document other
        than the one reviewed, or twice.

        :param str document_sha256: SHA-256 of the original document the keeper reviewed
        :return: dict with ``status``: ok, or changed (the linked record changed since the
            document was sent: the document is cancelled)
        :raise UserError: the seal cannot be applied now (the message says why)
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self._lock_request()
        problem = self._get_company_seal_problem()
        if problem:
            raise UserError(problem)
        if not isinstance(document_sha256, str) or not consteq(
            document_sha256, request.original_sha256 or ""
        ):
            raise UserError(
                self.env._("%s changed since it was reviewed: review it again.", request.reference)
            )
        if self._cancel_if_source_changed():
            return {"status": "changed"}
        mine = request.field_ids.filtered(lambda f: f.participant_id == self)
        unfit = mine.filtered(lambda f: f.kind not in const.COMPANY_SEAL_FIELD_KINDS)
        if unfit:
            raise UserError(
                self.env._(
                    "The company seal cannot fill %s: only signature, initials and date places.",
                    ", ".join(unfit.mapped("display_name")),
                )
            )
        seal = request.company_id._digital_sign_get_company_seal()
        self._mark_viewed_by_keeper()
        now = fields.Datetime.now()
        if not self._claim_signed(now):
            raise UserError(self.env._("The company seal is already on %s.", request.reference))
        image = base64.b64encode(seal)
        date_text = self._format_signing_date(now)
        for field in mine:
            if field.kind == "date":
                field.sudo().write({"value": date_text, "filled_at": now})
            else:
                field.sudo().write({"value_image": image, "value": False, "filled_at": now})
        self.sudo().write({"signed_ip": ip, "signed_user_agent": (user_agent or "")[:512]})
        user = self.env.user
        request._log_event(
            "company_seal_applied",
            participant=self,
            channel="backend",
            ip=ip,
            user_agent=user_agent,
            details={
                "user_id": user.id,
                "user": user.name,
                "login": user.login,
                "reviewed_sha256": document_sha256,
                "seal_sha256": hashlib.sha256(seal).hexdigest(),
                "places": len(mine),
            },
        )
        request._log_event(
            "signed",
            participant=self,
            channel="backend",
            ip=ip,
            user_agent=user_agent,
            details={"fields": len(mine), "by": "company seal", "user": user.name},
        )
        request._close_company_seal_activities()
        request._on_participant_done(self)
        return {"status": "ok"}

    def _check_submitted_values(self, values, now):
        """Check what the browser sent against the places the server knows for this
        participant (page, kind and required come from the database, never the client).

        :return: ``(writes, errors)``: values to store per field, and messages per field id
        Note: self.ensure_one()
        """
        self.ensure_one()
        my_fields = self.request_id.field_ids.filtered(lambda f: f.participant_id == self)
        values = {str(key): value for key, value in (values or {}).items()}
        errors = {}
        known_ids = {str(field.id) for field in my_fields}
        unknown = set(values) - known_ids
        if unknown:
            return {}, {"fields": self.env._("The page sent values for places that are not yours.")}
        writes = {}
        for field in my_fields:
            raw = values.get(str(field.id))
            if field.kind in ("signature", "initials"):
                if not raw:
                    if field.mandatory:
                        errors[str(field.id)] = self.env._("Please sign here.")
                    continue
                try:
                    image = engine_images.check_signature_image(raw)
                except EngineError as error:
                    errors[str(field.id)] = engine_error_message(self.env, error)
                    continue
                writes[field] = {"value_image": image, "value": False}
            elif field.kind == "date":
                writes[field] = {"value": self._format_signing_date(now)}
            elif field.kind == "checkbox":
                checked = raw in (True, 1, "1", "true", "on")
                if field.mandatory and not checked:
                    errors[str(field.id)] = self.env._("Please tick this box.")
                    continue
                writes[field] = {"value": "1" if checked else "0"}
            else:
                text = self._clean_text(raw, MAX_TEXT_LENGTH)
                if text is None:
                    errors[str(field.id)] = self.env._("This text is too long.")
                    continue
                if field.mandatory and not text:
                    errors[str(field.id)] = self.env._("Please fill this in.")
                    continue
                writes[field] = {"value": text}
        return writes, errors

    def _format_signing_date(self, when):
        lang = self._get_lang()
        tz = self._get_tz()
        local = fields.Datetime.context_timestamp(self.with_context(tz=tz), when)
        return format_date(self.env, local.date(), lang_code=lang)

    def _reject(self, reason, ip="", user_agent=""):
        """Refuse to sign. A mandatory participant's refusal rejects the whole request.

        :return: dict with ``status``: ok, closed, invalid
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        request._lock_for_update()
        self.invalidate_recordset()
        if self._link_state() != "sign":
            return {"status": "closed"}
        reason = self._clean_text(reason, 2000)
        if not reason:
            return {
                "status": "invalid",
                "errors": {"reason": self.env._("Please say why you do not sign.")},
            }
        self._mark_viewed()
        self.sudo().write(
            {"state": "rejected", "rejected_at": fields.Datetime.now(), "reject_reason": reason}
        )
        request._log_event(
            "rejected",
            participant=self,
            channel="web",
            ip=ip,
            user_agent=user_agent,
            details={"reason": reason},
        )
        if self.mandatory:
            request._set_rejected(self.env._("%(name)s: %(reason)s", name=self.name, reason=reason))
        else:
            request._on_participant_done(self)
        return {"status": "ok"}

    # --- naming and re-engaging participants --- #
    def _get_missing_participants(self):
        """Participants this (primary) participant must name before going on."""
        self.ensure_one()
        if not self.is_primary:
            return self.browse()
        return self.request_id.participant_ids.filtered(
            lambda p: p.to_be_named and p.state == "waiting"
        )

    def _name_participants(self, entries, ip="", user_agent=""):
        """The primary customer gives the contact details of participants marked "to be
        named by the customer"; optional ones may be left out.

        :param list entries: [{"id": int, "name": str, "email": str, "mobile": str,
            "include": bool}]
        :return: dict with ``status`` ok, invalid (with ``errors`` per id) or limited
            (``THROTTLE_NAME_PER_*`` namings a day, for this participant or this IP)
        Note: self.ensure_one()
        """
        self.ensure_one()
        if self._public_limit_reached(
            "name", ip, const.THROTTLE_NAME_PER_PARTICIPANT, const.THROTTLE_NAME_PER_IP
        ):
            return {"status": "limited"}
        missing = self._get_missing_participants()
        by_id = {str(entry.get("id")): entry for entry in entries or [] if isinstance(entry, dict)}
        errors = {}
        updates = {}
        for participant in missing:
            entry = by_id.get(str(participant.id)) or {}
            if not participant.mandatory and not entry.get("include", True):
                updates[participant] = None
                continue
            name = self._clean_text(entry.get("name"), MAX_NAME_LENGTH)
            email = (entry.get("email") or "").strip()
            mobile = (entry.get("mobile") or "").strip()
            if not name:
                errors[str(participant.id)] = self.env._("Give a name.")
                continue
            if email and not email_normalize(email):
                errors[str(participant.id)] = self.env._("This e-mail address is not valid.")
                continue
            if mobile:
                try:
                    mobile = self._format_mobile(mobile)
                except ValidationError:
                    errors[str(participant.id)] = self.env._(
                        "This mobile number is not valid: use the international format."
                    )
                    continue
            if not email and not mobile:
                errors[str(participant.id)] = self.env._(
                    "Give an e-mail address or a mobile number."
                )
                continue
            if participant.otp_channel != "none" and not (email and mobile):
                errors[str(participant.id)] = self.env._(
                    "This person receives a code on a second channel: give both an e-mail "
                    "address and a mobile number."
                )
                continue
            invite = "email" if email else "sms"
            otp = participant.otp_channel
            if otp == invite:
                otp = "sms" if invite == "email" else "email"
            if (
                "sms" in (invite, otp)
                and not self.request_id.company_id._digital_sign_sms_allowed()
            ):
                errors[str(participant.id)] = self.env._(
                    "Text messages are switched off: give an e-mail address."
                )
                continue
            updates[participant] = {
                "name": name,
                "email": email or False,
                "mobile": mobile or False,
                "invite_channel": invite,
                "otp_channel": otp,
            }
        if errors:
            return {"status": "invalid", "errors": errors}
        if updates:
            self._public_count("name", ip)
        for participant, vals in updates.items():
            if vals is None:
                participant.sudo().write({"to_be_named": False})
                participant._set_skipped()
                continue
            participant.sudo().write({**vals, "to_be_named": False, "named_by_id": self.id})
            self.request_id._log_event(
                "participant_named",
                participant=participant,
                channel="web",
                ip=ip,
                user_agent=user_agent,
                details={
                    "by": self.name,
                    "name": vals["name"],
                    "to": participant._get_contact_label(vals["invite_channel"]),
                },
            )
        self.request_id._invite_next_participants()
        return {"status": "ok"}

    def _reengage(self, email=None, mobile=None, by=None, ip="", user_agent="", channel=None):
        """Change the contact details, and maybe the channel, of a participant who has not
        opened the link yet: the old link stops working at once and a new one is sent on the
        (new) channel.

        :param str channel: the new invitation channel ('email' or 'sms'); None keeps it,
            unless only the other channel's contact is given (a mobile number alone for a
            participant invited by e-mail: re-engaged by SMS, and the other way round). A
            one-time code then travels on the other channel.
        :param by: the participant who asked (customer side), or None for the owner
        :return: dict with ``status`` ok, closed, invalid or limited (the customer side
            only: ``THROTTLE_REENGAGE_PER_*`` changes a day, for ``by`` or this IP)
        Note: self.ensure_one()
        """
        self.ensure_one()
        if (
            self.participant_kind == "company"
            or self.state not in ("waiting", "sent")
            or self.request_id.state not in ("draft", "sent", "viewed")
        ):
            return {"status": "closed"}
        if channel not in (None, "email", "sms"):
            return {"status": "invalid", "errors": {}}
        if by and by._public_limit_reached(
            "reengage", ip, const.THROTTLE_REENGAGE_PER_PARTICIPANT, const.THROTTLE_REENGAGE_PER_IP
        ):
            return {"status": "limited"}
        old = {
            "email": self.email or "",
            "mobile": self.mobile or "",
            "invite_channel": self.invite_channel,
            "otp_channel": self.otp_channel,
        }
        vals = {}
        if email is not None:
            email = email.strip()
            if email and not email_normalize(email):
                return {
                    "status": "invalid",
                    "errors": {"email": self.env._("This e-mail address is not valid.")},
                }
            vals["email"] = email or False
        if mobile is not None:
            mobile = mobile.strip()
            if mobile:
                try:
                    mobile = self._format_mobile(mobile)
                except ValidationError:
                    return {
                        "status": "invalid",
                        "errors": {
                            "mobile": self.env._(
                                "This mobile number is not valid: use the international format."
                            )
                        },
                    }
            vals["mobile"] = mobile or False
        if channel is None:
            given = {key for key in ("email", "mobile") if vals.get(key)}
            if given == {"mobile"} and self.invite_channel == "email":
                channel = "sms"
            elif given == {"email"} and self.invite_channel == "sms":
                channel = "email"
        if channel and channel != self.invite_channel:
            if channel == "sms" and not self.request_id.company_id._digital_sign_sms_allowed():
                return {
                    "status": "invalid",
                    "errors": {
                        "channel": self.request_id.company_id._digital_sign_sms_off_message()
                    },
                }
            vals["invite_channel"] = channel
            if self.otp_channel == channel:
                vals["otp_channel"] = self.invite_channel  # the code keeps its own channel
        if not vals:
            return {"status": "invalid", "errors": {}}
        self.sudo().write(vals)
        problem = self._get_channel_problem()
        if problem:
            self.sudo().write({key: old[key] or False for key in vals})
            return {"status": "invalid", "errors": {"contact": problem}}
        new = {
            "email": self.email or "",
            "mobile": self.mobile or "",
            "invite_channel": self.invite_channel,
            "otp_channel": self.otp_channel,
        }
        if by:
            by._public_count("reengage", ip)
        self.request_id._log_event(
            "contact_changed",
            participant=self,
            channel="web" if by else "backend",
            ip=ip,
            user_agent=user_agent,
            details={
                "by": by.name if by else self.env.user.name,
                "old": {k: v for k, v in old.items() if v != new[k]},
                "new": {k: v for k, v in new.items() if v != old[k]},
            },
        )
        if self.state == "sent":
            self._invite()
        return {"status": "ok"}

    def _ask_new_link(self, ip=""):
        """The link expired: tell the owner that this participant asks for a new one (at
        most once a day, and ``THROTTLE_NEW_LINK_PER_IP`` times a day from one IP).

        :return: dict with ``status`` ok, already_asked or limited
        Note: self.ensure_one()
        """
        self.ensure_one()
        Throttle = self.env["digital.sign.throttle"]
        if Throttle._is_limited(
            f"new_link:{self.id}", const.THROTTLE_NEW_LINK_PER_PARTICIPANT, const.DAY
        ):
            return {"status": "already_asked"}
        if ip and Throttle._is_limited(
            f"new_link_ip:{ip}", const.THROTTLE_NEW_LINK_PER_IP, const.DAY
        ):
            return {"status": "limited"}
        self._public_count("new_link", ip)
        request = self.request_id
        request._log_event("link_requested", participant=self, channel="web")
        request._notify_owner(
            self.env._("New signing link requested for %s", request.reference),
            self.env._(
                "%(name)s could not sign %(doc)s before its deadline and asks for a new "
                "link. Send the document again if it is still relevant.",
                name=self.name,
                doc=request.name,
            ),
        )
        return {"status": "ok"}

    def _public_limit_reached(self, action, ip, per_participant, per_ip):
        """True when this participant, or the IP ``ip``, did the public ``action`` (name,
        reengage, new_link...) its allowed number of times over the last day.

        Note: self.ensure_one()
        """
        self.ensure_one()
        Throttle = self.env["digital.sign.throttle"]
        return Throttle._is_limited(f"{action}:{self.id}", per_participant, const.DAY) or bool(
            ip and Throttle._is_limited(f"{action}_ip:{ip}", per_ip, const.DAY)
        )

    def _public_count(self, action, ip):
        """Count one public ``action`` of this participant from ``ip`` (see
        ``_public_limit_reached``)."""
        self.ensure_one()
        Throttle = self.env["digital.sign.throttle"]
        Throttle._hit(f"{action}:{self.id}", const.DAY)
        if ip:
            Throttle._hit(f"{action}_ip:{ip}", const.DAY)

    def _prepare_page_values(self, link_state):
        """Everything the signing page template shows (read with sudo: the caller resolved
        this participant from its own token).

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        geometry = request.page_geometry or []
        base_path = self._get_signing_path()
        states = dict(self._fields["state"]._description_selection(self.env))
        page_lang = self._get_lang()
        pages = [
            {
                "number": number,
                "width": width,
                "height": height,
                "src": f"{base_path}/page/{number}",
            }
            for number, (width, height) in enumerate(geometry, start=1)
        ]

        def box(field):
            width, height = geometry[field.page - 1] if field.page <= len(geometry) else (1, 1)
            return {
                "id": field.id,
                "page": field.page,
                "kind": field.kind,
                "mandatory": field.mandatory,
                "style": "left:%.4f%%;top:%.4f%%;width:%.4f%%;height:%.4f%%"
                % (
                    100 * field.x0 / width,
                    100 * field.y0 / height,
                    100 * (field.x1 - field.x0) / width,
                    100 * (field.y1 - field.y0) / height,
                ),
            }

        # The page shows the company's name only: fetch just that (res.company is wide).
        request.company_id.fetch(["name"])
        places = self.env["digital.sign.field"].search_fetch(
            [("request_id", "=", request.id)],
            ["page", "x0", "y0", "x1", "y1", "kind", "mandatory", "participant_id", "role"],
        )
        mine = places.filtered(lambda f: f.participant_id == self)
        my_fields = [box(f) for f in mine.sorted(lambda f: (f.page, f.y0, f.x0))]
        other_fields = [
            {**box(f), "who": f.participant_id.name or f.role or ""} for f in places - mine
        ]
        # Each page carries its own places: the template never scans every place per page.
        for page in pages:
            page["my_fields"], page["other_fields"] = [], []
        for key, boxes in (("my_fields", my_fields), ("other_fields", other_fields)):
            for box_values in boxes:
                if 1 <= box_values["page"] <= len(pages):
                    pages[box_values["page"] - 1][key].append(box_values)
        return {
            "participant": self,
            "sign_request": request,
            "company": request.company_id,
            "link_state": link_state,
            "step": link_state,
            "base_path": base_path,
            "pages": pages,
            "my_fields": my_fields,
            "document_sha256": request.original_sha256,
            "consent_text": self.with_context(lang=page_lang)._get_consent_text(),
            "others": [
                {
                    "id": p.id,
                    "name": p.name if not p.to_be_named else self.env._("(to be named)"),
                    "role": p.role,
                    "state": states.get(p.state),
                    "state_code": p.state,
                    "named_by_me": p.named_by_id == self,
                    "contact": p._get_contact_label(p.invite_channel)
                    if p.named_by_id == self
                    else "",
                    "can_reengage": p.named_by_id == self and p.state in ("waiting", "sent"),
                }
                for p in request.participant_ids
                if p != self
            ],
            "missing": [
                {
                    "id": p.id,
                    "role": p.role,
                    "mandatory": p.mandatory,
                    "needs_both": p.otp_channel != "none",
                }
                for p in self._get_missing_participants()
            ],
            "otp_channel": self._get_code_channel(),
            "otp_destination": self._get_contact_label(self._get_code_channel())
            if self._otp_required()
            else "",
            "signed_link_days": request._get_setting("signed_link_days"),
            "otp_locked_until": self.otp_locked_until
            if self.otp_locked_until and self.otp_locked_until > fields.Datetime.now()
            else False,
            "document_ready": request.finalize_state == "done" and bool(request.signed_sha256),
            "deadline": self._format_page_time(request.deadline) if request.deadline else "",
            "signed_at": self._format_page_time(self.signed_at),
            "page_lang": page_lang,
            "html_lang": html_lang(page_lang),
            "page_tz": self._get_tz(),
            "langs": self._get_page_langs(),
        }
