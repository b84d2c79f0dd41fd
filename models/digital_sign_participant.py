import base64
import hashlib
import logging
import secrets
import unicodedata
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, consteq, email_normalize
from odoo.tools.misc import format_date, hmac

from .. import const
from ..engine import images as engine_images
from ..engine import otp as engine_otp
from ..engine.errors import EngineError
from ..utils import engine_error_message

_logger = logging.getLogger(__name__)


MAX_TEXT_LENGTH = 4000
MAX_NAME_LENGTH = 256


class DigitalSignParticipant(models.Model):
    _name = "digital.sign.participant"
    _description = "Signature Participant"
    _order = "request_id.id desc, signing_order, id"  # as requests are ordered, no join
    _inherit = ["digital.sign.evidence.mixin"]

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", evidence="create"
    )
    company_id = fields.Many2one(
        related="request_id.company_id", store=True, index=True, evidence="flow"
    )
    request_state = fields.Selection(related="request_id.state", string="Request State")
    name = fields.Char(required=True, evidence="draft")
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
        if not self.env.su:
            requests = self.env["digital.sign.request"].browse(
                {vals["request_id"] for vals in vals_list if vals.get("request_id")}
            )
            if any(request.state != "draft" for request in requests):
                raise UserError(
                    self.env._("Participants can only be added while the document is a draft.")
                )
        for vals in vals_list:
            self._normalize_contact_vals(vals)
        participants = super().create(vals_list)
        for request in participants.request_id:
            if not request.participant_ids.filtered("is_primary"):
                request.participant_ids.sorted(lambda p: (p.signing_order, p.id))[
                    :1
                ].sudo().is_primary = True
        return participants

    def write(self, vals):
        self._evidence_check_write(vals)
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

    def _evidence_document_state(self):
        self.ensure_one()
        return self.request_id.state

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

    def _get_channel_problem(self):
        """Return why this participant cannot be reached, or False.

        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.to_be_named:
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
        self.sudo().write({"access_token": False})

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

    # === BUSINESS: flow === #
    def _is_turn(self):
        """True when every mandatory participant of an earlier signing order has signed."""
        self.ensure_one()
        earlier = self.request_id.participant_ids.filtered(
            lambda p: p.signing_order < self.signing_order and p.mandatory
        )
        return all(p.state == "signed" for p in earlier)

    def _invite(self, reminder=False):
        """Send (or resend) the invitation on the participant's channel with a fresh link.

        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        if not reminder:
            self._generate_token()
            self.sudo().write({"state": "sent", "invited_at": fields.Datetime.now()})
        return request.provider_id._send_invitation(self, reminder=reminder)

    def _send_invitation_message(self, reminder=False):
        """Queue the invitation e-mail or SMS (sent by Odoo's mail/SMS queues after commit,
        so a retried transaction never sends twice). The link never goes to the chatter.

        :return: True if queued
        Note: self.ensure_one()
        """
        self.ensure_one()
        request = self.request_id
        url = self._get_signing_url()
        event_type = "reminded" if reminder else "invited"
        contact = self._get_contact_label(self.invite_channel)
        try:
            purpose = "reminder" if reminder else "invitation"
            if self.invite_channel == "sms":
                self._queue_sms(
                    request._get_invitation_sms_body(self, url, reminder=reminder), purpose=purpose
                )
            else:
                template = request._get_invitation_template(reminder=reminder)
                self._queue_mail(template.with_context(signing_url=url, reminder=reminder), purpose)
        except Exception as error:  # noqa: BLE001 - any failure is recorded, nothing lost
            _logger.warning(
                "Invitation of participant %s failed: %s", self.id, type(error).__name__
            )
            request._log_event(
                "invite_failed",
                participant=self,
                channel=self.invite_channel,
                details={"to": contact, "error": type(error).__name__},
            )
            return False
        request._log_event(
            event_type, participant=self, channel=self.invite_channel, details={"to": contact}
        )
        return True

    def _queue_mail(self, template, purpose, attachment_ids=None):
        """Queue one e-mail of ``template`` (rendered on this participant) to the stored
        address, sent by Odoo's mail queue after commit.

        An invitation or a code is a credential: the message is linked to no document and
        written by the superuser, so no user reads it through the chatter or the messages
        of the participant (only the outgoing mail queue, for administrators, until it is
        sent and deleted).
        """
        self.ensure_one()
        values = {
            "email_to": self.email,
            "recipient_ids": [],
            "model": False,
            "res_id": False,
            "digital_sign_participant_id": self.id,
            "digital_sign_purpose": purpose,
        }
        if attachment_ids:
            values["attachment_ids"] = attachment_ids
        mail_id = template.with_user(SUPERUSER_ID).send_mail(self.id, email_values=values)
        # Wake the mail queue now (once per transaction) rather than at its next hourly
        # run: on any server, after this transaction commits.
        flags = self.env.cr.precommit.data
        if not flags.get("digital_sign.mail_queue_woken"):
            flags["digital_sign.mail_queue_woken"] = True
            self.env.ref("mail.ir_cron_mail_scheduler_action").sudo()._trigger()
        return mail_id

    def _queue_sms(self, body, purpose="invitation"):
        """Queue one SMS to this participant's stored number and wake the SMS queue.

        The body never reaches the chatter (it may hold a link or a code).
        """
        self.ensure_one()
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                {
                    "number": self.mobile,
                    "body": body,
                    "partner_id": self.partner_id.id,
                    "digital_sign_participant_id": self.id,
                    "digital_sign_purpose": purpose,
                }
            )
        )
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
        for code in (
            preferred,
            self.lang,
            self.partner_id.lang,
            self.request_id.user_id.lang,
            self.request_id.company_id.partner_id.lang,
        ):
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
        return (
            self.partner_id.tz
            or self.request_id.user_id.tz
            or self.request_id.company_id.partner_id.tz
            or "UTC"
        )

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
        return self.otp_channel if self.otp_channel in ("email", "sms") else self.invite_channel

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
        if not destination:
            self.request_id._log_event(
                "code_send_failed",
                participant=self,
                channel=channel,
                details={"to": masked, "error": "no destination"},
            )
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
            self.request_id._log_event(
                "code_send_failed",
                participant=self,
                channel=channel,
                details={"to": masked, "error": type(error).__name__},
            )
            return {"status": "failed"}
        self.request_id._log_event(
            "code_sent", participant=self, channel=channel, details={"to": masked}
        )
        return {"status": "ok", "to": masked}

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
        request = self.request_id
        request._lock_for_update()
        self.invalidate_recordset()
        request.invalidate_recordset()
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
        if request._source_changed():
            # What you see is what you sign: the quotation changed after this PDF was made.
            request._set_cancelled(
                self.env._(
                    "%s changed after it was sent: send a new version for signature.",
                    request.res_name or request.name,
                )
            )
            return {"status": "changed"}
        now = fields.Datetime.now()
        writes, errors = self._check_submitted_values(values, now)
        if errors:
            return {"status": "invalid", "errors": errors}
        # Signing proves the page was shown, even if its "viewed" report never arrived.
        self._mark_viewed()
        # Compare-and-set: only one submission moves the participant to signed.
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
            return {"status": "already_signed"}
        self.invalidate_recordset(["state", "signed_at"])
        for field, field_values in writes.items():
            field_values["filled_at"] = now
            if "value_image" in field_values:
                field_values["value_image"] = base64.b64encode(field_values["value_image"])
            field.sudo().write(field_values)
        consent_text = self._get_consent_text()
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
            details={"text_sha256": hashlib.sha256(consent_text.encode()).hexdigest()},
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

    def _reengage(self, email=None, mobile=None, by=None, ip="", user_agent=""):
        """Change the contact details of a participant who has not opened the link yet: the
        old link stops working at once and a new one is sent.

        :param by: the participant who asked (customer side), or None for the owner
        :return: dict with ``status`` ok, closed, invalid or limited (the customer side
            only: ``THROTTLE_REENGAGE_PER_*`` changes a day, for ``by`` or this IP)
        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.state not in ("waiting", "sent") or self.request_id.state not in (
            "draft",
            "sent",
            "viewed",
        ):
            return {"status": "closed"}
        if by and by._public_limit_reached(
            "reengage", ip, const.THROTTLE_REENGAGE_PER_PARTICIPANT, const.THROTTLE_REENGAGE_PER_IP
        ):
            return {"status": "limited"}
        old = {"email": self.email or "", "mobile": self.mobile or ""}
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
        if not vals:
            return {"status": "invalid", "errors": {}}
        self.sudo().write(vals)
        problem = self._get_channel_problem()
        if problem:
            self.sudo().write({key: old[key] or False for key in vals})
            return {"status": "invalid", "errors": {"contact": problem}}
        new = {"email": self.email or "", "mobile": self.mobile or ""}
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
        states = dict(const.PARTICIPANT_STATES)
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
        places = self.env["digital.sign.field"].search_fetch([("request_id", "=", request.id)])
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
            "consent_text": self._get_consent_text(),
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
            "deadline": request._format_time(request.deadline) if request.deadline else "",
        }
