import logging
from datetime import UTC, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from .. import const
from ..engine import http as engine_http
from ..engine import netguard, providers
from ..engine.errors import EngineError, ProviderUnavailable, WebhookRejected
from ..utils import engine_error_message

_logger = logging.getLogger(__name__)


class DigitalSignProvider(models.Model):
    """Who collects the signatures: the built-in signing page (``portal``) or an external
    e-signature service reached through its engine client (``engine/providers``). Modelled
    on ``payment.provider``; credentials are ``<code>_<name>`` fields readable by
    administrators only.

    The provider owns every exchange with its service: the outbox that creates envelopes,
    the status poller, the webhooks, and the queue that withdraws cancelled envelopes. The
    request owns what happens to itself: it applies a status it is given
    (``_apply_provider_status``), describes its envelope (``_prepare_envelope``) and records
    a failure.

    Provider differences, as in ``payment``:

    * **What a provider can do** is a feature field (``support_*``,
      ``status_poll_min_seconds``) computed in ``_compute_feature_support_fields``: from the
      engine client of a service (what its API offers), or from ``const.PORTAL_FEATURES``.
      Flows and views test features, never codes.
    * **How a provider does something** is a method. The generic method (``_send_request``,
      ``_get_credentials``...) holds the behaviour of a service reached through its engine
      client; a provider that differs defines ``_<code><method>`` (``_portal_send_request``,
      ``_docusign_get_credentials``), which the generic method hands over to through
      ``_get_code_hook``. In ``payment`` each provider is an addon overriding the generic
      method (``if self.code != 'stripe': return super()...``); here every provider lives in
      this one addon and this one class (pylint-odoo refuses a second ``_inherit`` class
      for it), so the generic method finds the code's own method instead, and no code test
      or alias is written anywhere. An addon adding a provider may do either.
    """

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
        default="disabled",
        required=True,
        copy=False,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    support_remote_signing = fields.Boolean(
        "Signing at the Service",
        compute="_compute_feature_support_fields",
        help="The service collects the signatures in its own envelope and delivers the "
        "signed document.",
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
    status_poll_min_seconds = fields.Integer(
        "Minimum Seconds Between Status Requests",
        compute="_compute_feature_support_fields",
        help="The service's rule for one envelope (DocuSign: one request per 15 minutes).",
    )
    # Credentials: administrators only, never copied, never logged.
    getaccept_api_token = fields.Char(
        "API Token",
        groups="base.group_system",
        copy=False,
        help="A GetAccept API token (bearer). Alternatively an account e-mail and password.",
    )
    getaccept_email = fields.Char("Account E-mail", groups="base.group_system", copy=False)
    getaccept_password = fields.Char("Account Password", groups="base.group_system", copy=False)
    getaccept_entity_id = fields.Char("Entity ID", groups="base.group_system", copy=False)
    docusign_integration_key = fields.Char(
        "Integration Key", groups="base.group_system", copy=False, required_if_provider="docusign"
    )
    docusign_user_id = fields.Char(
        "Impersonated User ID",
        groups="base.group_system",
        copy=False,
        required_if_provider="docusign",
    )
    docusign_account_id = fields.Char("Account ID", groups="base.group_system", copy=False)
    docusign_private_key = fields.Text(
        "RSA Private Key",
        groups="base.group_system",
        copy=False,
        required_if_provider="docusign",
        help="The PEM key of the integration's RSA key pair (JWT grant).",
    )
    webhook_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="DocuSign: a Connect HMAC key. GetAccept: a token added to the webhook URL. "
        "Without a secret, webhooks are refused.",
    )
    webhook_secret_previous = fields.Char(
        "Previous Webhook Secret",
        groups="base.group_system",
        copy=False,
        help="Still accepted while the service switches to the new secret.",
    )
    webhook_url = fields.Char(compute="_compute_webhook_url")
    last_poll_at = fields.Datetime("Last Status Poll", readonly=True, copy=False)
    blocked_until = fields.Datetime(
        "Paused Until",
        readonly=True,
        copy=False,
        help="The service asked to slow down (HTTP 429): no call before this time.",
    )

    # === COMPUTE === #
    @api.depends("code")
    def _compute_feature_support_fields(self):
        """A service's features are those of its engine client (what its API offers, and
        its rules); the built-in signing page's are ``const.PORTAL_FEATURES``."""
        for provider in self:
            client_class = providers.CLIENTS.get(provider.code)
            features = client_class.features if client_class else const.PORTAL_FEATURES
            provider.update(
                {
                    "support_remote_signing": bool(client_class),
                    "support_sms": "sms" in features,
                    "support_otp": "otp" in features,
                    "support_signing_order": "signing_order" in features,
                    "support_webhook": "webhook" in features,
                    "support_status_polling": "status_polling" in features,
                    "support_reminder_api": "reminder_api" in features,
                    "support_changed_since": "changed_since" in features,
                    "status_poll_min_seconds": client_class.min_status_poll_seconds
                    if client_class
                    else 0,
                }
            )

    @api.depends("code")
    def _compute_webhook_url(self):
        for provider in self:
            provider.webhook_url = (
                f"{provider.get_base_url()}/digital_sign/webhook/{provider.code}"
                if provider.support_webhook
                else False
            )

    # === CONSTRAINTS === #
    @api.constrains("state", "code")
    def _check_required_if_provider(self):
        """Provider-specific fields flagged ``required_if_provider`` must be filled while the
        provider is enabled or in test mode."""
        missing = []
        for provider in self.sudo().filtered(lambda p: p.state in ("enabled", "test")):
            for field_name, field in provider._fields.items():
                if (
                    getattr(field, "required_if_provider", None) == provider.code
                    and not provider[field_name]
                ):
                    missing.append(field.string)
        if missing:
            raise ValidationError(
                self.env._(
                    "The following fields must be filled: %s", ", ".join(sorted(set(missing)))
                )
            )

    @api.constrains("state", "code")
    def _check_credentials(self):
        """Credentials rules beyond ``required_if_provider`` (one of several ways to log
        in), checked while the provider is enabled or in test mode. A provider with such a
        rule defines ``_<code>_check_credentials``, which raises a ``ValidationError``."""
        for provider in self.sudo().filtered(lambda p: p.state in ("enabled", "test")):
            if hook := provider._get_code_hook("_check_credentials"):
                hook()

    # === CRUD === #
    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = (
            self.env["digital.sign.request"]
            .sudo()
            .search_count([("provider_id", "in", self.ids)], limit=1)
        )
        if used:
            raise UserError(
                self.env._("This provider handled documents: disable it instead of deleting it.")
            )

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
            message = self.env._(
                "Connected to %(provider)s: %(account)s", provider=self.name, account=label or "-"
            )
            notif_type = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": notif_type, "sticky": notif_type == "danger"},
        }

    # === BUSINESS: which provider === #
    @api.model
    def _get_default_provider(self, company=None):
        """Return the provider new requests use: the first enabled one of the company, the
        built-in signing page otherwise."""
        company = company or self.env.company
        providers_sudo = self.sudo().search(
            [("company_id", "in", (company.id, False)), ("state", "in", ("enabled", "test"))],
        )
        return providers_sudo[:1] or self._get_portal_provider(company)

    @api.model
    def _get_portal_provider(self, company=None):
        company = company or self.env.company
        provider = self.sudo().search(
            [("code", "=", "portal"), ("company_id", "=", company.id)], limit=1
        )
        if not provider:
            provider = self.sudo().create(
                {
                    "name": self.env._("Built-in signing page"),
                    "code": "portal",
                    "state": "enabled",
                    "company_id": company.id,
                }
            )
        return provider

    def _get_code_hook(self, method_name):
        """This provider's own version of the generic method ``method_name``: the method
        ``_<code><method_name>`` (``_portal_send_request`` for ``_send_request``) when the
        provider defines one, else None (the generic behaviour applies).

        :param method_name: the generic method's name, with its leading underscore
        :return: a bound method or None
        Note: self.ensure_one()
        """
        self.ensure_one()
        return getattr(self, f"_{self.code}{method_name}", None)

    def _get_document_url(self, sign_request):
        """The address of ``sign_request``'s document at this provider's service, for the
        sender (a link on the document and the quotation), '' when there is none. A service
        with a web application defines ``_<code>_get_document_url``.

        :param sign_request: the digital.sign.request (its ``provider_reference``)
        :return: str
        Note: self.ensure_one()
        """
        self.ensure_one()
        if hook := self._get_code_hook("_get_document_url"):
            return hook(sign_request)
        return ""

    # === BUSINESS: the engine client === #
    def _get_api_urls(self):
        """The service's API URLs: ``(base_url, extra client kwargs)``; a None base URL lets
        the engine client use its default. A provider whose URLs depend on its settings
        defines ``_<code>_get_api_urls``.

        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_get_api_urls"):
            return hook()
        return None, {}

    def _get_credentials(self):
        """The engine client's ``credentials`` mapping, from this provider's ``<code>_*``
        fields; read it on a sudo'd record. Each service defines
        ``_<code>_get_credentials``.

        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_get_credentials"):
            return hook()
        return {}

    def _resolve_api_urls(self):
        """``_get_api_urls`` with the loopback overrides applied: a
        ``digital_sign.<code>.api_url`` system parameter (and one per extra URL) exists for
        local test servers and benchmarks; anything but a loopback URL is refused."""
        self.ensure_one()
        ICP = self.env["ir.config_parameter"].sudo()
        override = ICP.get_param(f"digital_sign.{self.code}.api_url")
        urls = self._get_api_urls()
        if override:
            if not netguard.is_loopback_url(override):
                raise UserError(
                    self.env._("Provider URL overrides are for local test servers only.")
                )
            extra = {}
            for name, value in urls[1].items():
                extra_override = ICP.get_param(f"digital_sign.{self.code}.{name}")
                if extra_override and not netguard.is_loopback_url(extra_override):
                    raise UserError(
                        self.env._("Provider URL overrides are for local test servers only.")
                    )
                extra[name] = extra_override or value
            urls = (override, extra)
        return urls

    def _get_client(self):
        """The engine client of this provider's service, built from its credentials (read as
        superuser) with this provider's HTTP session: the one place that builds a client.

        :raise UserError: the provider has no service (the built-in signing page)
        Note: self.ensure_one()
        """
        self.ensure_one()
        if not self.support_remote_signing:
            raise UserError(self.env._("%s is not a signature service.", self.name))
        base_url, extra = self._resolve_api_urls()
        loopback = bool(base_url) and netguard.is_loopback_url(base_url)
        session = engine_http.shared_session(
            (self.env.cr.dbname, self.id, loopback), allow_loopback=loopback
        )
        credentials = self.sudo()._get_credentials()
        read_timeout = float(
            self.env["ir.config_parameter"].sudo().get_param("digital_sign.http_read_timeout", 30)
            or 30
        )
        return providers.get_client(
            self.code,
            credentials,
            base_url=base_url,
            session=session,
            timeout=(6.1, read_timeout),
            **extra,
        )

    def _is_paused(self):
        """True while the service asked us to slow down (HTTP 429).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return bool(self.blocked_until and self.blocked_until > fields.Datetime.now())

    def _check_call_allowed(self):
        """Raise ProviderUnavailable while the service asked us to slow down."""
        if self._is_paused():
            raise ProviderUnavailable(
                "paused after HTTP 429",
                code="provider_rate_limited",
                retry_after=(self.blocked_until - fields.Datetime.now()).seconds,
            )

    def _note_rate_limit(self, error):
        """Remember a 429's Retry-After (capped at one hour) so no call goes out before."""
        self.ensure_one()
        if getattr(error, "code", "") == "provider_rate_limited":
            delay = min(int(getattr(error, "retry_after", None) or 60), 3600)
            self.sudo().blocked_until = fields.Datetime.now() + timedelta(seconds=delay)

    def _record_call_failure(self, sign_request, error, permanent=False):
        """A call made for ``sign_request`` failed: remember a 429's pause, and record the
        failure on the request (``_record_provider_error``)."""
        self._note_rate_limit(error)
        sign_request._record_provider_error(error, permanent=permanent)

    # === BUSINESS: sending === #
    def _send_request(self, sign_request):
        """Hand a request that just became ``sent`` to the provider (see ``_send_requests``).

        Note: self.ensure_one()
        """
        return self._send_requests(sign_request)

    def _send_requests(self, sign_requests):
        """Hand requests that just became ``sent`` to the provider, all together (a bulk
        send hands over a whole batch). A service gets their envelopes from the outbox right
        after this transaction commits (a retried transaction must not create two
        envelopes). A provider with its own way defines ``_<code>_send_requests``, or
        ``_<code>_send_request`` for one request at a time.

        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_send_requests"):
            return hook(sign_requests)
        if hook := self._get_code_hook("_send_request"):
            for sign_request in sign_requests:
                hook(sign_request)
            return True
        sign_requests.sudo().provider_sync_state = "to_send"
        self.env.ref("digital_sign.ir_cron_provider_outbox").sudo()._trigger()
        return True

    def _send_invitation(self, participant, reminder=False):
        """Invite (or remind) one participant (see ``_send_invitations``).

        Note: self.ensure_one()
        """
        return self._send_invitations(participant, reminder=reminder)

    def _send_invitations(self, participants, reminder=False):
        """Invite (or remind) participants, all together; a service invites by itself. A
        provider that invites defines ``_<code>_send_invitations`` (or
        ``_<code>_send_invitation`` for one participant at a time).

        :return: True when every invitation was queued
        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_send_invitations"):
            return hook(participants, reminder=reminder)
        if hook := self._get_code_hook("_send_invitation"):
            return all([hook(participant, reminder=reminder) for participant in participants])
        return True

    def _send_reminders(self, sign_request, participants):
        """Remind ``participants`` of ``sign_request``, each logged in the audit trail. A
        service reminds through its API.

        :raise EngineError: the service did not take the reminder
        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_send_reminders"):
            return hook(sign_request, participants)
        self._check_call_allowed()
        ids = [p.provider_recipient_id for p in participants if p.provider_recipient_id]
        channel = participants[:1].invite_channel or "email"
        if channel == "sms" and not sign_request.company_id._digital_sign_sms_allowed():
            channel = "email"  # text messages were switched off after sending
        message = self.env._(
            "A friendly reminder: %s is waiting for your signature.", sign_request.name
        )
        self._get_client().send_reminder(
            sign_request.provider_reference, ids, message=message, channel=channel
        )
        for participant in participants:
            sign_request._log_event(
                "reminded",
                participant=participant,
                channel=self.code,
                details={"count": participant.reminder_count + 1},
            )
        return True

    @api.model
    def _get_due_domain(self, field_name, now):
        """Requests whose next try, ``field_name``, is unset or at ``now`` or before."""
        return Domain(field_name, "=", False) | Domain(field_name, "<=", now)

    @api.model
    def _find_request_batch(self, domain, order):
        """The next batch of the requests of ``domain`` in ``order`` (``cron_batch_size``);
        the running cron is told how many remain (which commits)."""
        Request = self.env["digital.sign.request"]
        requests = Request.search(
            domain, limit=Request._get_setting("cron_batch_size"), order=order
        )
        self.env["ir.cron"]._commit_progress(remaining=Request.search_count(domain))
        return requests

    def _lock_request_batch(self, domain, order):
        """The next batch of the requests of ``domain``, locked together for one transaction
        that the caller commits at its end, less those another transaction holds or that no
        longer match ``domain`` (another server's run did them since the search).

        The transaction starts with the lock, so what it reads next is current: a lock
        taken after reads, in the same transaction, fails on rows changed since.
        """
        requests = self._find_request_batch(domain, order)
        locked = requests.try_lock_for_update(allow_referencing=True)
        self.env.invalidate_all()
        return locked.filtered_domain(domain)

    def _each_locked_request(self, domain, order):
        """The next batch of the requests of ``domain``, one at a time, each in a transaction
        of its own that starts with its lock (``_try_lock_for_job``), and only if it still
        matches ``domain`` then. For the crons that commit after each request (a call to a
        service each): locks taken for the whole batch would end at the first commit, and
        another server's run could then make the same call. The caller commits after each
        request (``ir.cron._commit_progress``)."""
        for request in self._find_request_batch(domain, order):
            if request._try_lock_for_job() and request.filtered_domain(domain):
                yield request
            else:
                # The next lock must start a transaction of its own.
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _cron_provider_outbox(self):
        """Create at their service the envelopes of requests sent since the last run."""
        domain = (
            Domain("provider_sync_state", "=", "to_send")
            & Domain("state", "in", const.OPEN_REQUEST_STATES)
            & self._get_due_domain("provider_next_check_at", fields.Datetime.now())
        )
        requests = self._each_locked_request(domain, "provider_next_check_at asc nulls first, id")
        for request in requests:
            provider = request.provider_id
            try:
                with self.env.cr.savepoint():
                    provider._create_envelope(request)
            except EngineError as error:
                # A 2xx answer we could not read may hide an envelope made: the next try
                # looks for it first (``check_existing``), so it is retried like a timeout.
                permanent = not error.retryable and error.code != "provider_bad_response"
                provider._record_call_failure(request, error, permanent=permanent)
            if not self.env["ir.cron"]._commit_progress(1):
                break

    def _create_envelope(self, sign_request):
        """POST the request's envelope (looking for one already made with our reference
        first, in case a previous attempt timed out after the service created it).

        :raise EngineError: the service did not create it
        Note: self.ensure_one()
        """
        self._check_call_allowed()
        created = self._get_client().create_envelope(
            sign_request._prepare_envelope(), check_existing=True
        )
        sign_request._apply_created_envelope(created)

    # === BUSINESS: status === #
    def _complete_status(self, sign_request, status):
        """``status``, with the recipients a signed status lacks fetched from the service.

        :raise EngineError: the service could not be asked
        Note: self.ensure_one()
        """
        if providers.needs_recipients(status):
            self._check_call_allowed()
            return self._get_client().ensure_recipients(status)
        return status

    def _fetch_status(self, sign_request):
        """Ask the service for the request's status and apply it.

        :raise EngineError: the service could not be asked
        Note: self.ensure_one()
        """
        self._check_call_allowed()
        status = self._get_client().get_status(sign_request.provider_reference)
        sign_request._apply_provider_status(status)
        return status

    def _download_signed(self, sign_request):
        """The signed PDF as the service delivers it.

        Note: self.ensure_one()
        """
        self._check_call_allowed()
        return self._get_client().download_signed(sign_request.provider_reference)

    def _schedule_refresh(self, sign_request):
        """Have the poller fetch the request's status at its next run, triggered now."""
        sign_request.sudo().provider_refresh_requested = True
        self.env.ref("digital_sign.ir_cron_poll_provider_status").sudo()._trigger()
        return True

    # === BUSINESS: status polling === #
    @api.model
    def _cron_poll_provider_status(self):
        """Every 30 minutes: bring every request handled by an enabled external service up to
        date. One "changed since" call per service where the API has one, else one status call
        per request; batches of 100, each change in its own savepoint, progress committed per
        batch; failures are recorded on the request and retried next run."""
        for provider in self.search([("state", "in", ("enabled", "test"))]):
            if provider.support_status_polling and not provider._is_paused():
                provider._poll_statuses()

    def _poll_statuses(self):
        """One run of the poller for this provider's requests.

        Note: self.ensure_one()
        """
        if self.support_changed_since and self.last_poll_at:
            return self._poll_changed_since()
        return self._poll_each()

    def _get_poll_domain(self):
        """The requests of this provider whose status is due: never checked, checked longer
        ago than the poll interval (the service's minimum at least), or flagged for a
        refresh; and not waiting for the next try after a failure.

        Note: self.ensure_one()
        """
        self.ensure_one()
        now = fields.Datetime.now()
        interval = max(
            self.env["digital.sign.request"]._get_setting("poll_interval_minutes"),
            self.status_poll_min_seconds // 60,
        )
        return (
            Domain("provider_id", "=", self.id)
            & Domain("state", "in", const.OPEN_REQUEST_STATES)
            & Domain("provider_sync_state", "=", "sent")
            & (
                Domain("last_checked_at", "=", False)
                | Domain(
                    "last_checked_at",
                    "<=",
                    now - timedelta(minutes=interval) + timedelta(seconds=59),
                )
                | Domain("provider_refresh_requested", "=", True)
            )
            & self._get_due_domain("provider_next_check_at", now)
        )

    def _poll_each(self):
        """One status call per due request, a batch per run (the cron re-runs while some
        remain); the unchanged ones are stamped in one statement.

        Note: self.ensure_one()
        """
        Request = self.env["digital.sign.request"]
        requests = self._lock_request_batch(
            self._get_poll_domain(), "last_checked_at asc nulls first, id"
        )
        client = self._get_client()
        unchanged = Request.browse()
        for request in requests:
            try:
                status = client.get_status(request.provider_reference)
            except EngineError as error:
                self._record_call_failure(request, error)
                if error.code == "provider_rate_limited":
                    break
                continue
            if not self._apply_polled_status(request, status):
                unchanged |= request
        unchanged._record_status_checked()
        self.sudo().last_poll_at = fields.Datetime.now()
        self.env["ir.cron"]._commit_progress(len(requests))

    def _poll_changed_since(self):
        """One listing call for every envelope changed since the last poll (with a few minutes
        of overlap), then only the changed requests are touched.

        Note: self.ensure_one()
        """
        Request = self.env["digital.sign.request"]
        since = (self.last_poll_at - timedelta(minutes=3)).replace(tzinfo=UTC)
        started = fields.Datetime.now()
        self._poll_refresh_requested()
        try:
            changes = self._get_client().list_changes(since)
        except NotImplementedError:
            return self._poll_each()
        except EngineError as error:
            self._note_rate_limit(error)
            _logger.warning("Status listing of provider %s failed: %s", self.id, error.code)
            return False
        references = {status.provider_reference: status for status in changes}
        requests = (
            Request.search(
                [
                    ("provider_id", "=", self.id),
                    ("provider_reference", "in", list(references)),
                ]
            )
            if references
            else Request.browse()
        )
        for request in requests.try_lock_for_update():
            self._apply_polled_status(request, references[request.provider_reference])
        # Every open request of this provider is now known to be up to date: one statement
        # for all of them (thousands), where the ORM would write them one by one.
        self.env.cr.execute(
            SQL(
                """UPDATE digital_sign_request SET last_checked_at = %s
               WHERE provider_id = %s AND state IN ('sent', 'viewed') AND provider_sync_state = 'sent'""",
                started,
                self.id,
            )
        )
        Request.invalidate_model(["last_checked_at"])
        self.sudo().last_poll_at = started
        self.env["ir.cron"]._commit_progress(len(requests), remaining=0)
        return True

    def _apply_polled_status(self, sign_request, status):
        """Apply a status the poller read, in its own savepoint. A completion whose
        recipients cannot be had is recorded and asked again on its own; any other failure
        is logged: one bad request never stops the batch.

        :return: False when the status is unchanged (nothing was written)
        Note: self.ensure_one()
        """
        if (
            status.raw_status == sign_request.provider_status
            and not sign_request._recipients_changed(status)
        ):
            return False
        try:
            with self.env.cr.savepoint():
                sign_request._apply_provider_status(status)
        except EngineError as error:  # the recipients of a completion could not be had
            self._record_call_failure(sign_request, error)
            sign_request.sudo().provider_refresh_requested = True  # asked again, on its own
        except Exception:  # noqa: BLE001 - one bad request must not stop the batch
            _logger.exception("Applying the status of %s failed", sign_request.reference)
        return True

    def _poll_refresh_requested(self):
        """Ask for the status of each request flagged for a refresh whose next try is due (a
        change the listing brought that could not be applied: it will not be listed again).

        Note: self.ensure_one()
        """
        Request = self.env["digital.sign.request"]
        requests = Request.search(
            Domain("provider_id", "=", self.id)
            & Domain("state", "in", const.OPEN_REQUEST_STATES)
            & Domain("provider_sync_state", "=", "sent")
            & Domain("provider_refresh_requested", "=", True)
            & self._get_due_domain("provider_next_check_at", fields.Datetime.now()),
            limit=Request._get_setting("cron_batch_size"),
            order="id",
        ).try_lock_for_update()
        for request in requests:
            self._poll_one(request)

    def _poll_one(self, sign_request):
        """Fetch and apply one request's status; failures are recorded, never raised.

        :return: True when the status was fetched
        Note: self.ensure_one()
        """
        try:
            with self.env.cr.savepoint():
                self._fetch_status(sign_request)
        except EngineError as error:
            self._record_call_failure(sign_request, error)
            return False
        return True

    # === BUSINESS: webhooks === #
    @api.model
    def _verify_webhook(self, code, headers, body, params):
        """The provider of ``code`` whose secret authenticates this call, and the event it
        carries. Fails closed: a provider without a secret refuses every call.

        :param headers: the request's headers (a plain mapping)
        :param body: the raw body, exactly as received
        :param params: the query-string parameters
        :return: ``(provider, engine.providers.WebhookEvent)``, or an empty provider and None
        """
        candidates = self.search([("code", "=", code), ("state", "in", ("enabled", "test"))])
        for candidate in candidates.filtered("support_webhook"):
            secrets = candidate._get_webhook_secrets()
            if not secrets:
                continue  # fail closed: no secret, no webhook
            try:
                event = candidate._get_client().parse_webhook(headers, body, secrets, params=params)
            except WebhookRejected as error:
                _logger.info("Webhook refused for provider %s: %s", candidate.id, error.code)
                continue
            return candidate, event
        return self.browse(), None

    def _get_webhook_secrets(self):
        self.ensure_one()
        provider_sudo = self.sudo()
        return [
            s for s in (provider_sudo.webhook_secret, provider_sudo.webhook_secret_previous) if s
        ]

    def _process_webhook(self, event):
        """Apply a verified event once, whatever the number of deliveries.

        :return: "ok", "duplicate" (delivered before) or "unknown" (not our envelope)
        Note: self.ensure_one()
        """
        self.ensure_one()
        registered = self.env["digital.sign.webhook.event"].sudo()._record_delivery(self, event)
        if not registered:
            _logger.info("Duplicate webhook event for provider %s ignored", self.id)
            return "duplicate"
        sign_request = (
            self.env["digital.sign.request"]
            .sudo()
            .search(
                [
                    ("provider_id", "=", self.id),
                    ("provider_reference", "=", event.provider_reference),
                ],
                limit=1,
            )
        )
        if not sign_request:
            _logger.info("Webhook for an unknown envelope of provider %s", self.id)
            return "unknown"
        registered.request_id = sign_request
        self._apply_webhook(sign_request, event)
        return "ok"

    def _apply_webhook(self, sign_request, event):
        """Apply the status a verified event carries when the service authenticates it (the
        engine client says which: ``webhook_status``); otherwise, or when it cannot be
        applied now, schedule a status fetch through the API.

        Note: self.ensure_one()
        """
        status = self._get_client().webhook_status(event)
        if status is None:
            return self._schedule_refresh(sign_request)
        try:
            with self.env.cr.savepoint():
                sign_request._apply_provider_status(status)
        except EngineError as error:
            _logger.info(
                "Webhook for %s not applied (%s): status fetch scheduled",
                sign_request.reference,
                error.code,
            )
            self._note_rate_limit(error)
            return self._schedule_refresh(sign_request)
        return True

    # === BUSINESS: withdrawing cancelled requests === #
    def _queue_withdrawal(self, sign_request, by_service=False):
        """After a cancel here: withdraw the envelope at the service, right after this
        transaction commits (the cancel queue; ``provider_cancel_state`` says "pending"
        until the service confirms).

        :param by_service: the service already reports it cancelled: nothing to withdraw
        Note: self.ensure_one()
        """
        if hook := self._get_code_hook("_queue_withdrawal"):
            return hook(sign_request, by_service=by_service)
        request_sudo = sign_request.sudo()
        if by_service:
            request_sudo.provider_cancel_state = "done"
        elif not sign_request.provider_reference:
            # Never created at the service: the outbox only sends open requests.
            request_sudo.provider_sync_state = "none"
        else:
            request_sudo.write(
                {
                    "provider_cancel_state": "pending",
                    "provider_cancel_attempts": 0,
                    "provider_cancel_next_at": fields.Datetime.now(),
                }
            )
            self.env.ref("digital_sign.ir_cron_provider_cancel").sudo()._trigger()
        return True

    @api.model
    def _cron_provider_cancel(self):
        """Withdraw at their service the envelopes of requests cancelled here; each attempt is
        in the audit trail; failures are retried with a growing delay (or the service's
        Retry-After), and after the last attempt the owner is told and the queue stops."""
        domain = Domain("provider_cancel_state", "=", "pending") & self._get_due_domain(
            "provider_cancel_next_at", fields.Datetime.now()
        )
        requests = self._each_locked_request(domain, "provider_cancel_next_at asc nulls first, id")
        for request in requests:
            provider = request.provider_id
            if provider._is_paused():
                # The service asked us to slow down: not an attempt, just later.
                request.sudo().provider_cancel_next_at = provider.blocked_until
            else:
                try:
                    with self.env.cr.savepoint():
                        provider._withdraw(request)
                except Exception as error:  # noqa: BLE001 - one bad request must not block the queue
                    _logger.warning(
                        "Withdrawing %s at the service failed", request.reference, exc_info=True
                    )
                    # still an attempt: nothing is retried forever
                    request._record_provider_cancel_failure(
                        EngineError(type(error).__name__), request.provider_cancel_attempts + 1
                    )
            if not self.env["ir.cron"]._commit_progress(1):
                break

    def _withdraw(self, sign_request):
        """One call withdrawing a cancelled request's envelope at the service.

        :return: True when the service confirmed (or knows nothing to withdraw)
        Note: self.ensure_one()
        """
        if sign_request.provider_cancel_state != "pending":
            return False
        attempt = sign_request.provider_cancel_attempts + 1
        if not sign_request.provider_reference:
            return sign_request._set_provider_cancelled(attempt, result="not_sent")
        try:
            self._check_call_allowed()
            self._get_client().cancel(
                sign_request.provider_reference, sign_request.cancel_reason or ""
            )
        except EngineError as error:
            self._note_rate_limit(error)
            if error.code == "provider_not_found":
                return sign_request._set_provider_cancelled(attempt, result="not_found")
            return sign_request._record_provider_cancel_failure(error, attempt)
        return sign_request._set_provider_cancelled(attempt)

    # === GETACCEPT === #
    def _getaccept_check_credentials(self):
        if not self.getaccept_api_token and not (self.getaccept_email and self.getaccept_password):
            raise ValidationError(
                self.env._("GetAccept needs an API token, or an account e-mail and password.")
            )

    def _getaccept_get_credentials(self):
        if self.getaccept_api_token:
            return {"api_token": self.getaccept_api_token}
        return {
            "email": self.getaccept_email,
            "password": self.getaccept_password,
            "entity_id": self.getaccept_entity_id or "",
        }

    def _getaccept_get_document_url(self, sign_request):
        return providers.GetAcceptClient.document_url(sign_request.provider_reference)

    # === DOCUSIGN === #
    def _docusign_get_api_urls(self):
        # Test mode: the developer sandbox; production: the account's own base URI,
        # discovered through /oauth/userinfo by the client. The OAuth server's URL follows
        # the environment; it is named so that a loopback override can replace it.
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

    def _docusign_get_document_url(self, sign_request):
        return providers.DocuSignClient.document_url(
            sign_request.provider_reference, sandbox=self.state == "test"
        )

    # === PORTAL: the built-in signing page === #
    def _portal_send_requests(self, sign_requests):
        sign_requests._invite_next_participants()
        return True

    def _portal_send_invitations(self, participants, reminder=False):
        return participants._send_invitation_message(reminder=reminder)

    def _portal_send_reminders(self, sign_request, participants):
        participants._send_invitation_message(reminder=True)
        return True

    def _portal_queue_withdrawal(self, sign_request, by_service=False):
        return True  # the links died with the cancel: nothing is held elsewhere
