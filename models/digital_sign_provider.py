import logging
import urllib.parse
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..engine import http as engine_http
from ..engine import netguard, providers
from ..engine.errors import EngineError, ProviderUnavailable
from ..engine.providers import docusign
from ..utils import engine_error_message

_logger = logging.getLogger(__name__)

# One HTTP session per provider record and process (connection reuse, one retry policy).
_SESSIONS = {}


def _is_loopback_url(url):
    host = urllib.parse.urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return netguard.is_loopback_address(host)
    except ValueError:
        return False


class DigitalSignProvider(models.Model):
    """Who collects the signatures: the built-in signing page (``portal``) or an external
    e-signature service. Modelled on payment.provider: provider-specific code lives in
    ``_<code>_<verb>`` methods reached through ``_dispatch``; credentials are
    ``<code>_<name>`` fields readable by administrators only."""

    _name = "digital.sign.provider"
    _description = "Signature Provider"
    _order = "sequence, id"
    _check_company_auto = True

    def _valid_field_parameter(self, field, name):
        return name == "required_if_provider" or super()._valid_field_parameter(field, name)

    # === FIELDS === #
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    code = fields.Selection(const.PROVIDER_CODES, required=True, default="portal")
    state = fields.Selection(
        [("disabled", "Disabled"), ("test", "Test Mode"), ("enabled", "Enabled")],
        default="disabled", required=True, copy=False,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    support_sms = fields.Boolean("SMS Sending", compute="_compute_feature_support_fields")
    support_otp = fields.Boolean("One-time Codes", compute="_compute_feature_support_fields")
    support_signing_order = fields.Boolean(
        "Signing Order", compute="_compute_feature_support_fields"
    )
    support_webhook = fields.Boolean("Webhooks", compute="_compute_feature_support_fields")
    support_status_polling = fields.Boolean(
        "Status Polling", compute="_compute_feature_support_fields"
    )
    support_reminder_api = fields.Boolean(
        "Reminders by the Service", compute="_compute_feature_support_fields"
    )
    support_changed_since = fields.Boolean(
        "Changed-since Listing", compute="_compute_feature_support_fields"
    )
    # Credentials: administrators only, never copied, never logged.
    getaccept_api_token = fields.Char(
        "API Token", groups="base.group_system", copy=False,
        help="A GetAccept API token (bearer). Alternatively an account e-mail and password.",
    )
    getaccept_email = fields.Char("Account E-mail", groups="base.group_system", copy=False)
    getaccept_password = fields.Char("Account Password", groups="base.group_system", copy=False)
    getaccept_entity_id = fields.Char("Entity ID", groups="base.group_system", copy=False)
    docusign_integration_key = fields.Char(
        "Integration Key", groups="base.group_system", copy=False, required_if_provider="docusign")
    docusign_user_id = fields.Char(
        "Impersonated User ID", groups="base.group_system", copy=False,
        required_if_provider="docusign")
    docusign_account_id = fields.Char("Account ID", groups="base.group_system", copy=False)
    docusign_private_key = fields.Text(
        "RSA Private Key", groups="base.group_system", copy=False,
        required_if_provider="docusign", help="The PEM key of the integration's RSA key pair "
        "(JWT grant).")
    webhook_secret = fields.Char(
        "Webhook Secret", groups="base.group_system", copy=False,
        help="DocuSign: a Connect HMAC key. GetAccept: a token added to the webhook URL. "
        "Without a secret, webhooks are refused.")
    webhook_secret_previous = fields.Char(
        "Previous Webhook Secret", groups="base.group_system", copy=False,
        help="Still accepted while the service switches to the new secret.")
    webhook_url = fields.Char(compute="_compute_webhook_url")
    last_poll_at = fields.Datetime("Last Status Poll", readonly=True, copy=False)
    blocked_until = fields.Datetime(
        "Paused Until", readonly=True, copy=False,
        help="The service asked to slow down (HTTP 429): no call before this time.")

    # === COMPUTE === #
    @api.depends("code")
    def _compute_feature_support_fields(self):
        for provider in self:
            features = const.PROVIDER_FEATURES.get(provider.code, set())
            provider.update({
                "support_sms": "sms" in features,
                "support_otp": "otp" in features,
                "support_signing_order": "signing_order" in features,
                "support_webhook": "webhook" in features,
                "support_status_polling": "status_polling" in features,
                "support_reminder_api": "reminder_api" in features,
                "support_changed_since": "changed_since" in features,
            })

    @api.constrains("state", "code")
    def _check_getaccept_credentials(self):
        for provider in self.sudo().filtered(
                lambda p: p.code == "getaccept" and p.state in ("enabled", "test")):
            if not provider.getaccept_api_token and not (
                    provider.getaccept_email and provider.getaccept_password):
                raise ValidationError(self.env._(
                    "GetAccept needs an API token, or an account e-mail and password."))

    @api.depends("code")
    def _compute_webhook_url(self):
        for provider in self:
            provider.webhook_url = (
                f"{provider.get_base_url()}/digital_sign/webhook/{provider.code}"
                if provider.code != "portal" else False
            )

    # === CONSTRAINTS === #
    @api.constrains("state", "code")
    def _check_required_if_provider(self):
        """Provider-specific fields flagged ``required_if_provider`` must be filled while the
        provider is enabled or in test mode."""
        missing = []
        for provider in self.sudo().filtered(lambda p: p.state in ("enabled", "test")):
            for field_name, field in provider._fields.items():
                if getattr(field, "required_if_provider", None) == provider.code \
                        and not provider[field_name]:
                    missing.append(field.string)
        if missing:
            raise ValidationError(self.env._(
                "The following fields must be filled: %s", ", ".join(sorted(set(missing)))
            ))

    # === CRUD === #
    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = self.env["digital.sign.request"].sudo().search_count(
            [("provider_id", "in", self.ids)], limit=1
        )
        if used:
            raise UserError(self.env._(
                "This provider handled documents: disable it instead of deleting it."
            ))

    # === ACTIONS === #
    def action_test_connection(self):
        """Call the service with the saved credentials and say what it answered."""
        self.ensure_one()
        self.check_access("write")
        try:
            label = self._get_client().test_connection()
        except EngineError as error:
            message, notif_type = engine_error_message(self.env, error), "danger"
        else:
            message = self.env._("Connected to %(provider)s: %(account)s",
                                 provider=self.name, account=label or "-")
            notif_type = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": notif_type, "sticky": notif_type == "danger"},
        }

    # === BUSINESS === #
    @api.model
    def _get_default_provider(self, company=None):
        """Return the provider new requests use: the first enabled one of the company, the
        built-in signing page otherwise."""
        company = company or self.env.company
        providers = self.sudo().search(
            [("company_id", "in", (company.id, False)), ("state", "in", ("enabled", "test"))],
        )
        return providers[:1] or self._get_portal_provider(company)

    @api.model
    def _get_portal_provider(self, company=None):
        company = company or self.env.company
        provider = self.sudo().search(
            [("code", "=", "portal"), ("company_id", "=", company.id)], limit=1
        )
        if not provider:
            provider = self.sudo().create({
                "name": self.env._("Built-in signing page"),
                "code": "portal",
                "state": "enabled",
                "company_id": company.id,
            })
        return provider

    def _dispatch(self, verb, *args, **kwargs):
        """Call ``_<code>_<verb>``: the one place where the provider code selects code.

        Note: self.ensure_one()
        """
        self.ensure_one()
        method = getattr(self, f"_{self.code}_{verb}", None)
        if method is None:
            raise UserError(self.env._(
                "%(provider)s cannot %(verb)s.", provider=self.name, verb=verb
            ))
        return method(*args, **kwargs)

    def _send_request(self, sign_request):
        """Hand a request that just became ``sent`` to the provider."""
        return self._dispatch("send", sign_request)

    def _send_invitation(self, participant, reminder=False):
        """Invite (or remind) one participant; external services invite by themselves."""
        return self._dispatch("send_invitation", participant, reminder=reminder)

    def _cancel_request(self, sign_request, reason=""):
        """Withdraw ``sign_request`` at the service (one call; nothing for the portal).

        :raise EngineError: the service did not confirm (the cancel queue retries)
        """
        return self._dispatch("cancel", sign_request, reason)

    def _complete_status(self, sign_request, status):
        """``status``, with the recipients a signed status lacks fetched from the service.

        :raise EngineError: the service could not be asked
        """
        return self._dispatch("complete_status", sign_request, status)

    def _fetch_status(self, sign_request):
        """Ask the service for the request's status and apply it."""
        return self._dispatch("fetch_status", sign_request)

    def _download_signed(self, sign_request):
        """The signed PDF as the service delivers it."""
        return self._dispatch("download_signed", sign_request)

    def _send_reminders(self, sign_request, participants):
        return self._dispatch("send_reminders", sign_request, participants)

    def _is_external(self):
        self.ensure_one()
        return self.code != "portal"

    # --- external services: one client per call, one session per provider --- #
    def _get_api_urls(self):
        """``(base_url, extra client kwargs)`` for this provider: the service's production or
        sandbox URL (test mode). A loopback override (``digital_sign.<code>.api_url`` system
        parameter) exists for local test servers and benchmarks; anything else is refused."""
        self.ensure_one()
        ICP = self.env["ir.config_parameter"].sudo()
        override = ICP.get_param(f"digital_sign.{self.code}.api_url")
        urls = self._dispatch("get_api_urls")
        if override:
            if not _is_loopback_url(override):
                raise UserError(self.env._("Provider URL overrides are for local test servers only."))
            extra = {}
            for name, value in urls[1].items():
                extra_override = ICP.get_param(f"digital_sign.{self.code}.{name}")
                if extra_override and not _is_loopback_url(extra_override):
                    raise UserError(self.env._("Provider URL overrides are for local test servers only."))
                extra[name] = extra_override or value
            urls = (override, extra)
        return urls

    def _get_client(self):
        """The engine client for this provider, built from its credentials (read as
        superuser) with this provider's HTTP session.

        Note: self.ensure_one()
        """
        self.ensure_one()
        base_url, extra = self._get_api_urls()
        loopback = bool(base_url) and _is_loopback_url(base_url)
        key = (self.env.cr.dbname, self.id, loopback)
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = engine_http.make_session(allow_loopback=loopback)
        credentials = self.sudo()._dispatch("get_credentials")
        read_timeout = float(self.env["ir.config_parameter"].sudo().get_param(
            "digital_sign.http_read_timeout", 30) or 30)
        return providers.get_client(self.code, credentials, base_url=base_url, session=session,
                                    timeout=(6.1, read_timeout), **extra)

    def _get_webhook_secrets(self):
        self.ensure_one()
        provider_sudo = self.sudo()
        return [s for s in (provider_sudo.webhook_secret, provider_sudo.webhook_secret_previous) if s]

    def _check_call_allowed(self):
        """Raise ProviderUnavailable while the service asked us to slow down."""
        self.ensure_one()
        if self.blocked_until and self.blocked_until > fields.Datetime.now():
            raise ProviderUnavailable("paused after HTTP 429", code="provider_rate_limited",
                                      retry_after=(self.blocked_until - fields.Datetime.now()).seconds)

    def _note_rate_limit(self, error):
        """Remember a 429's Retry-After (capped at one hour) so no call goes out before."""
        self.ensure_one()
        if getattr(error, "code", "") == "provider_rate_limited":
            delay = min(int(getattr(error, "retry_after", None) or 60), 3600)
            self.sudo().blocked_until = fields.Datetime.now() + timedelta(seconds=delay)

    def _external_send(self, sign_request):
        """The envelope is created by the outbox job right after this transaction commits
        (a retried transaction must not create two envelopes)."""
        sign_request.sudo().provider_sync_state = "to_send"
        self.env.ref("digital_sign.ir_cron_provider_outbox").sudo()._trigger()
        return True

    def _external_send_invitation(self, participant, reminder=False):
        return True  # the service invites (and reminds) by itself

    def _external_cancel(self, sign_request, reason):
        self._check_call_allowed()
        self._get_client().cancel(sign_request.provider_reference, reason or "")
        return True

    def _external_complete_status(self, sign_request, status):
        if providers.needs_recipients(status):
            self._check_call_allowed()
            return self._get_client().ensure_recipients(status)
        return status

    def _external_fetch_status(self, sign_request):
        self._check_call_allowed()
        status = self._get_client().get_status(sign_request.provider_reference)
        sign_request._apply_provider_status(status)
        return status

    def _external_download_signed(self, sign_request):
        self._check_call_allowed()
        return self._get_client().download_signed(sign_request.provider_reference)

    def _external_send_reminders(self, sign_request, participants):
        self._check_call_allowed()
        ids = [p.provider_recipient_id for p in participants if p.provider_recipient_id]
        channel = participants[:1].invite_channel or "email"
        message = self.env._("A friendly reminder: %s is waiting for your signature.",
                             sign_request.name)
        self._get_client().send_reminder(sign_request.provider_reference, ids, message=message,
                                         channel=channel)
        return True

    # === GETACCEPT === #
    def _getaccept_get_api_urls(self):
        return providers.GETACCEPT_BASE_URL, {}

    def _getaccept_get_credentials(self):
        if self.getaccept_api_token:
            return {"api_token": self.getaccept_api_token}
        return {"email": self.getaccept_email, "password": self.getaccept_password,
                "entity_id": self.getaccept_entity_id or ""}

    _getaccept_send = _external_send
    _getaccept_send_invitation = _external_send_invitation
    _getaccept_cancel = _external_cancel
    _getaccept_complete_status = _external_complete_status
    _getaccept_fetch_status = _external_fetch_status
    _getaccept_download_signed = _external_download_signed
    _getaccept_send_reminders = _external_send_reminders

    def _getaccept_apply_webhook(self, sign_request, event):
        # GetAccept signs nothing: the call only schedules a status fetch through the API.
        return self._schedule_refresh(sign_request)

    def _schedule_refresh(self, sign_request):
        sign_request.sudo().provider_refresh_requested = True
        self.env.ref("digital_sign.ir_cron_poll_provider_status").sudo()._trigger()
        return True

    # === DOCUSIGN === #
    def _docusign_get_api_urls(self):
        # Test mode: the developer sandbox; production: the account's own base URI,
        # discovered through /oauth/userinfo by the client.
        if self.state == "test":
            return providers.DEMO_BASE_URL, {"oauth_base_url": None}
        return None, {"oauth_base_url": None}

    def _docusign_get_credentials(self):
        return {
            "integration_key": self.docusign_integration_key,
            "user_id": self.docusign_user_id,
            "account_id": self.docusign_account_id or "",
            "private_key": self.docusign_private_key,
            "environment": "demo" if self.state == "test" else "production",
        }

    _docusign_send = _external_send
    _docusign_send_invitation = _external_send_invitation
    _docusign_cancel = _external_cancel
    _docusign_complete_status = _external_complete_status
    _docusign_fetch_status = _external_fetch_status
    _docusign_download_signed = _external_download_signed
    _docusign_send_reminders = _external_send_reminders

    def _docusign_apply_webhook(self, sign_request, event):
        # Connect messages are HMAC-verified: their envelope status is applied directly, which
        # spares a status request (DocuSign allows one per envelope per 15 minutes). A
        # completion without its recipients gets them first (_apply_provider_status).
        # A voided envelope's reason (cancelled or expired) may be missing: fetch it.
        status = docusign.envelope_state(event.raw_status)
        if not status or (event.raw_status or "").lower() == "voided":
            return self._schedule_refresh(sign_request)
        try:
            with self.env.cr.savepoint():
                sign_request._apply_provider_status(event.status or providers.EnvelopeStatus(
                    provider_reference=sign_request.provider_reference, status=status,
                    raw_status=event.raw_status))
        except EngineError as error:
            _logger.info("Connect message for %s not applied (%s): status fetch scheduled",
                         sign_request.reference, error.code)
            self._note_rate_limit(error)
            return self._schedule_refresh(sign_request)
        return True

    # === PORTAL === #
    def _portal_send(self, sign_request):
        sign_request._invite_next_participants()
        return True

    def _portal_send_invitation(self, participant, reminder=False):
        return participant._send_invitation_message(reminder=reminder)

    def _portal_cancel(self, sign_request, reason):
        return True

    def _portal_complete_status(self, sign_request, status):
        return status

    def _portal_get_api_urls(self):
        return None, {}

    def _portal_fetch_status(self, sign_request):
        sign_request._expire_if_late()
        return None

    def _portal_send_reminders(self, sign_request, participants):
        for participant in participants:
            participant._send_invitation_message(reminder=True)
        return True
