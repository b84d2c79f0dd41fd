"""Provider-neutral values and the abstract e-signature provider client.

Plain values in and out: frozen dataclasses, ``bytes``, ``str`` and aware UTC datetimes.
The clock, the HTTP session, the base URL and the token cache are injectable, so a client
can be pointed at the fake servers of ``engine.testing`` and run unchanged.

States (the Odoo side's selections):

* request: ``draft``, ``sent``, ``viewed``, ``signed``, ``rejected``, ``cancelled``,
  ``expired``
* participant: ``waiting``, ``sent``, ``viewed``, ``signed``, ``rejected``, ``expired``
"""

import base64
import hashlib
import logging
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from .. import http
from ..errors import PdfInvalid, ProviderAuthError, ProviderRejected
from ..pdf_streams import check_streams

_logger = http.install_masking_filter(logging.getLogger(__name__))

REQUEST_STATES = ("draft", "sent", "viewed", "signed", "rejected", "cancelled", "expired")
FINAL_REQUEST_STATES = ("signed", "rejected", "cancelled", "expired")
PARTICIPANT_STATES = ("waiting", "sent", "viewed", "signed", "rejected", "expired")
PARTICIPANT_FINAL_STATES = ("signed", "rejected", "expired")
CHANNELS = ("email", "sms")
OTP_CHANNELS = ("none", "email", "sms")
FIELD_KINDS = ("signature", "initials", "date", "text", "checkbox")
MAX_SIGNED_PDF_BYTES = 25 * 1024 * 1024


# --- Values -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """One signer. ``key`` is our participant reference (unique in the envelope)."""

    key: str
    name: str
    email: str = ""
    mobile: str = ""  # E.164 or ''
    order: int = 1  # equal numbers sign in parallel
    role: str = ""  # our role label (Customer, Cosigner...): every recipient signs
    channel: str = "email"  # 'email' | 'sms': how the invitation travels
    otp_channel: str = "none"  # 'none' | 'email' | 'sms'
    mandatory: bool = True


@dataclass(frozen=True)
class FieldPlacement:
    """A place to fill, in PDF points with a top-left origin (y grows downwards)."""

    recipient_key: str
    page: int  # 1-based
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str = "signature"  # signature | initials | date | text | checkbox
    mandatory: bool = True


@dataclass(frozen=True)
class Envelope:
    """What to send. ``reference`` is ours and unique: it becomes the provider's external id
    (GetAccept ``external_id``, DocuSign ``transactionId``) so that a retried send can find
    the envelope a timed-out attempt created."""

    reference: str
    name: str
    pdf: bytes
    filename: str
    recipients: tuple
    fields: tuple = ()
    expires_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class RecipientStatus:
    provider_id: str
    key: str  # ours when known, else ''
    status: str  # one of PARTICIPANT_STATES
    at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class EnvelopeStatus:
    provider_reference: str
    status: str  # one of REQUEST_STATES
    raw_status: str
    recipients: tuple = ()
    changed_at: datetime | None = None
    reason: str = ""

    @property
    def is_final(self):
        return self.status in FINAL_REQUEST_STATES


@dataclass(frozen=True)
class CreatedEnvelope:
    provider_reference: str
    status: EnvelopeStatus
    recipient_ids: dict = field(default_factory=dict)  # our key -> provider recipient id


@dataclass(frozen=True)
class WebhookEvent:
    """A verified inbound notification. ``event_id`` is stable for one provider event (a
    redelivery gives the same id: deduplicate on it). Callers re-fetch the status through
    the API rather than trusting ``raw_status``, unless the provider authenticates its
    messages: ``status`` then holds the envelope status the message carried (None when it
    carried none; its ``recipients`` are empty when the message had no recipient data)."""

    event_id: str
    provider_reference: str
    event: str
    raw_status: str
    status: EnvelopeStatus | None = None


# --- Time -------------------------------------------------------------------------------
def utcnow():
    return datetime.now(timezone.utc)


def to_utc(value):
    """Aware UTC datetime from an aware or naive (taken as UTC) datetime; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


_FRACTION_RE = re.compile(r"(\.\d{1,6})\d*")


def parse_datetime(value):
    """Parse a provider timestamp (ISO 8601 with 'Z' or an offset, up to 7+ fractional
    digits, or 'YYYY-MM-DD HH:MM:SS' taken as UTC) into an aware UTC datetime, or None."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION_RE.sub(lambda m: m.group(1), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year < 1971:  # "0001-01-01T00:00:00": unset
        return None
    return to_utc(parsed)


def format_datetime(value):
    """``2025-01-31T12:00:00Z`` (UTC, whole seconds)."""
    return to_utc(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Token cache ------------------------------------------------------------------------
class TokenCache:
    """Thread-safe in-process cache of access tokens (and other short-lived values such as
    a DocuSign account's base URI), keyed by a digest of the credentials that produced them.
    Values are never logged; keys never contain a secret."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = {}

    @staticmethod
    def key(*parts):
        digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
        return digest

    def get(self, key, now):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, expires_at = item
            if expires_at is not None and now >= expires_at:
                del self._items[key]
                return None
            return value

    def set(self, key, value, expires_at):
        with self._lock:
            self._items[key] = (value, expires_at)

    def discard(self, key):
        with self._lock:
            self._items.pop(key, None)

    def clear(self):
        with self._lock:
            self._items.clear()


TOKEN_CACHE = TokenCache()
"""Process-wide default cache: a client built per call still reuses the token."""
TOKEN_MARGIN = timedelta(seconds=60)


# --- Client -----------------------------------------------------------------------------
class ProviderClient:
    """Abstract e-signature provider client. Subclasses implement every method below.

    :param credentials: provider-specific mapping (see each subclass); kept private, never
        logged, never in ``repr``
    :param base_url: the provider's API base URL; ``None`` for the provider default
    :param session: a session from :func:`engine.http.make_session` (built when None)
    :param clock: callable returning the current aware UTC datetime
    :param token_cache: a :class:`TokenCache` (the process-wide one when None)
    :param timeout: (connect, read) seconds for every call
    """

    code = ""
    features = frozenset()
    default_base_url = None
    token_lifetime = 3600
    """Seconds an access token lives when the service does not say."""
    min_status_poll_seconds = 0
    """The fewest seconds the service allows between two status requests for one envelope."""
    webhook_max_age = timedelta(days=7)
    webhook_max_skew = timedelta(minutes=5)

    def __init__(
        self,
        credentials,
        *,
        base_url=None,
        session=None,
        clock=None,
        token_cache=None,
        timeout=http.DEFAULT_TIMEOUT,
    ):
        self._credentials = dict(credentials or {})
        self.base_url = (base_url or self.default_base_url or "").rstrip("/")
        self.session = session if session is not None else http.make_session()
        self.clock = clock or utcnow
        self.token_cache = token_cache if token_cache is not None else TOKEN_CACHE
        self.timeout = timeout

    def __repr__(self):
        return f"<{type(self).__name__} {self.base_url or '(default)'}>"

    @classmethod
    def document_url(cls, reference, sandbox=False):
        """The address of the document ``reference`` in the service's own web application
        (where the sender follows it), '' when the service has none. Built from constants
        of the service (production or ``sandbox``), never from user input; the reference
        is one quoted path segment.
        """
        documents_url = cls._app_documents_url(sandbox)
        return f"{documents_url}/{cls._path_id(reference)}" if reference and documents_url else ""

    @classmethod
    def _app_documents_url(cls, sandbox):
        """The address in the service's web application (production or ``sandbox``) below
        which a document's id opens it; '' when the service has none."""
        return ""

    # --- helpers for subclasses ---
    def now(self):
        return to_utc(self.clock())

    def _credential(self, name):
        value = self._credentials.get(name)
        return value.strip() if isinstance(value, str) else value

    def _require(self, *names):
        missing = [n for n in names if not self._credential(n)]
        if missing:
            raise ProviderAuthError(
                f"missing credentials: {', '.join(missing)}", missing=", ".join(missing)
            )

    def _http(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return http.request(self.session, method, url, **kwargs)

    def _cached_token(self, key, request_token, *, renew=False):
        """The access token cached under ``key``, or a new one, kept until shortly before
        it expires.

        :param request_token: ``request_token(now)`` makes the call whose JSON answer holds
            ``access_token`` (and ``expires_in``, else :attr:`token_lifetime` seconds)
        :param renew: drop the cached token first (the service refused it)
        :raise ProviderAuthError: the service refused the credentials
        """
        if renew:
            self.token_cache.discard(key)
        else:
            cached = self.token_cache.get(key, self.now())
            if cached:
                return cached
        now = self.now()
        try:
            response = request_token(now)
        except ProviderRejected as exc:
            # invalid_grant, consent_required, a wrong password...: the credentials need attention
            raise ProviderAuthError(
                exc.detail, status=exc.status, provider_code=exc.params.get("provider_code", "")
            ) from None
        data = http.json_or_raise(response)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token or not isinstance(token, str):
            raise ProviderRejected("no access token in the answer", code="provider_bad_response")
        try:
            lifetime = max(int(data.get("expires_in") or self.token_lifetime), 60)
        except (TypeError, ValueError):
            lifetime = self.token_lifetime
        self.token_cache.set(key, token, now + timedelta(seconds=lifetime) - TOKEN_MARGIN)
        _logger.info("%s: new access token obtained (valid %ss)", self.code, lifetime)
        return token

    def _bearer_request(self, method, url, token, *, renewable=True, **kwargs):
        """A call authorised by ``token(renew=False)``; on a 401 the token is renewed once
        (``token(renew=True)``) and the call made again, unless not ``renewable``."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            return self._http(
                method, url, headers={**headers, "Authorization": f"Bearer {token()}"}, **kwargs
            )
        except ProviderAuthError as exc:
            if not renewable or exc.params.get("status") != 401:
                raise
        return self._http(
            method,
            url,
            headers={**headers, "Authorization": f"Bearer {token(renew=True)}"},
            **kwargs,
        )

    def _api(self, method, path, **kwargs):
        """The authorised call ``method`` to ``path`` (below the API's base URL) of the
        service, with ``kwargs`` as :func:`engine.http.request` takes them."""
        raise NotImplementedError

    def _download_pdf(self, path, params):
        """The PDF the service's API gives at ``path`` with ``params``: streamed, capped at
        :data:`MAX_SIGNED_PDF_BYTES`, then checked (:meth:`_check_pdf`)."""
        response = self._api(
            "GET",
            path,
            params=params,
            headers={"Accept": "application/pdf"},
            max_bytes=MAX_SIGNED_PDF_BYTES,
        )
        return self._check_pdf(response.content)

    @staticmethod
    def _json_object(response):
        """The JSON object of ``response``; anything else is ``provider_bad_response``."""
        data = http.json_or_raise(response)
        if not isinstance(data, dict):
            raise ProviderRejected("unexpected answer shape", code="provider_bad_response")
        return data

    @staticmethod
    def _path_id(value):
        """``value`` as one quoted URL path segment."""
        if not value:
            raise ValueError("provider reference is required")
        return urllib.parse.quote(str(value), safe="")

    @staticmethod
    def _check_pdf(body):
        """The signed PDF as received, once it passed the checks every PDF from outside
        passes before a parser reads it (here: decompression bombs; the size is capped by
        the download itself). It is sealed next, by pyHanko."""
        if not body.startswith(b"%PDF-"):
            raise ProviderRejected("the signed document is not a PDF", code="provider_bad_response")
        try:
            check_streams(body)
        except PdfInvalid as error:
            raise ProviderRejected(
                f"the signed document was refused: {error.detail}",
                code="provider_bad_response",
                reason=error.code,
            ) from None
        return body

    # --- API ---
    def test_connection(self):
        """Check the credentials; return a label of the account (for the settings form)."""
        raise NotImplementedError

    def create_envelope(self, envelope, *, check_existing=False):
        """Create the envelope AND send it to its recipients.

        :param envelope: an :class:`Envelope`
        :param check_existing: first look for an envelope already created with
            ``envelope.reference`` (an earlier attempt that timed out may have reached the
            provider) and return it instead of creating a second one. Costs one more call.
        :return: :class:`CreatedEnvelope`
        :raise ValueError: the envelope is inconsistent (caller bug)
        """
        raise NotImplementedError

    def get_status(self, provider_reference):
        """:return: :class:`EnvelopeStatus`"""
        raise NotImplementedError

    def get_recipients(self, provider_reference):
        """The recipients of an envelope, with their status and the provider's times (a
        signer's ``at`` is when the provider says they signed).

        :return: tuple of :class:`RecipientStatus`
        """
        raise NotImplementedError

    def ensure_recipients(self, status):
        """``status``, with its recipients fetched when it says the envelope is signed but
        carries no recipient data (a webhook message or a listing entry without them): who
        signed, and when, is never inferred from the envelope's status alone.

        :param status: an :class:`EnvelopeStatus`
        :return: an :class:`EnvelopeStatus` (``status`` itself when nothing was missing)
        """
        if not needs_recipients(status):
            return status
        recipients = self.get_recipients(status.provider_reference)
        _logger.info(
            "%s: recipients of signed envelope %s fetched", self.code, status.provider_reference
        )
        return replace(status, recipients=tuple(recipients))

    def list_changes(self, since):
        """Envelopes whose status changed at or after ``since``, in ONE call, sorted by
        ``changed_at``. If the provider capped the result, call again with ``since`` = the
        last ``changed_at``.

        :raise NotImplementedError: the provider has no such listing
        """
        raise NotImplementedError

    def download_signed(self, provider_reference):
        """The signed PDF (streamed, capped at 25 MB).

        :raise ProviderRejected: ``provider_bad_response`` if the body is not a PDF or is
            too large
        """
        raise NotImplementedError

    def cancel(self, provider_reference, reason):
        """Withdraw the envelope. Already cancelled/expired/rejected: no-op. Already signed:
        ``ProviderRejected`` with ``params['state'] == 'signed'``."""
        raise NotImplementedError

    def send_reminder(self, provider_reference, recipient_ids=(), *, message="", channel="email"):
        """Ask the provider to remind the recipients who have not signed yet.

        :param recipient_ids: provider recipient ids to remind (all pending when empty)
        :param message: reminder text, for providers that require one (GetAccept)
        :param channel: 'email' or 'sms', for providers that ask (GetAccept)
        """
        raise NotImplementedError

    def parse_webhook(self, headers, body, secrets, *, now=None, params=None):
        """Verify then parse an inbound webhook. Verification comes first and fails closed.

        :param headers: the request headers (any case-insensitive or plain mapping)
        :param body: the raw request body (bytes, exactly as received)
        :param secrets: the configured webhook secrets (several while rotating keys)
        :param now: current time (for staleness checks)
        :param params: the query-string parameters of the request
        :return: :class:`WebhookEvent`
        :raise WebhookRejected: ``webhook_no_secret`` (none configured),
            ``webhook_bad_signature``, ``webhook_stale``, ``webhook_malformed``
        """
        raise NotImplementedError

    def webhook_status(self, event):
        """The envelope status a verified webhook may apply as it is, or None: the caller
        then fetches the status through the API. By default None: a message the service
        does not authenticate is only a hint that something changed.

        :param event: the :class:`WebhookEvent` :meth:`parse_webhook` returned
        :return: :class:`EnvelopeStatus` or None
        """
        return None


# --- Shared helpers ---------------------------------------------------------------------
def lower_headers(headers):
    """Plain dict of ``headers`` with lower-cased names (first value wins)."""
    result = {}
    items = (
        headers.items()
        if isinstance(headers, Mapping) or hasattr(headers, "items")
        else headers or ()
    )
    for name, value in items:
        result.setdefault(str(name).lower(), value)
    return result


def b64(data):
    return base64.b64encode(data).decode("ascii")


def needs_recipients(status):
    """Whether ``status`` says the envelope is signed without saying who signed (see
    :meth:`ProviderClient.ensure_recipients`)."""
    return status.status == "signed" and not status.recipients


def validate_envelope(envelope):
    """Raise ``ValueError`` if ``envelope`` cannot be sent (caller bug, not provider data)."""
    if not envelope.reference:
        raise ValueError("envelope reference is required")
    if not isinstance(envelope.pdf, (bytes, bytearray)) or not envelope.pdf.startswith(b"%PDF-"):
        raise ValueError("envelope pdf must be PDF bytes")
    if not envelope.recipients:
        raise ValueError("an envelope needs at least one recipient")
    keys = [r.key for r in envelope.recipients]
    if len(set(keys)) != len(keys) or not all(keys):
        raise ValueError("recipient keys must be unique and non-empty")
    for recipient in envelope.recipients:
        if recipient.channel not in CHANNELS:
            raise ValueError(f"recipient {recipient.key}: unknown channel {recipient.channel!r}")
        if recipient.otp_channel not in OTP_CHANNELS:
            raise ValueError(f"recipient {recipient.key}: unknown otp channel")
        if recipient.channel == "sms" and not recipient.mobile:
            raise ValueError(f"recipient {recipient.key}: the sms channel needs a mobile")
        if recipient.channel == "email" and not recipient.email:
            raise ValueError(f"recipient {recipient.key}: the email channel needs an email")
        if recipient.otp_channel == "sms" and not recipient.mobile:
            raise ValueError(f"recipient {recipient.key}: sms codes need a mobile")
        if recipient.mobile and not re.fullmatch(r"\+[1-9]\d{6,14}", recipient.mobile):
            raise ValueError(f"recipient {recipient.key}: mobile must be E.164")
    for placement in envelope.fields:
        if placement.recipient_key not in keys:
            raise ValueError("field for an unknown recipient")
        if placement.kind not in FIELD_KINDS:
            raise ValueError(f"unknown field kind {placement.kind!r}")
        if placement.page < 1 or placement.x1 <= placement.x0 or placement.y1 <= placement.y0:
            raise ValueError("field box must be on page >= 1 with x1 > x0 and y1 > y0")


def synthesize_recipients(recipients, ids, sent=True):
    """Recipient statuses right after sending, when the provider's answer does not carry
    them: the lowest order is ``sent``, later orders ``waiting``."""
    first = min((r.order for r in recipients), default=1)
    return tuple(
        RecipientStatus(
            provider_id=str(ids.get(r.key, "")),
            key=r.key,
            status="sent" if sent and r.order == first else "waiting",
        )
        for r in recipients
    )


def received_status(provider_reference, status, raw_status, recipients, changed_at, reason=""):
    """The :class:`EnvelopeStatus` read from a provider's answer, its recipients settled by
    :func:`apply_final_state` (at the envelope's change time)."""
    return EnvelopeStatus(
        provider_reference=provider_reference,
        status=status,
        raw_status=raw_status,
        recipients=apply_final_state(status, recipients, changed_at),
        changed_at=changed_at,
        reason=reason,
    )


def apply_final_state(status, recipients, at=None):
    """Participants still pending when the envelope expired are ``expired`` too (at the
    envelope's change time)."""
    if status != "expired":
        return tuple(recipients)
    return tuple(
        r
        if r.status in PARTICIPANT_FINAL_STATES
        else RecipientStatus(
            provider_id=r.provider_id, key=r.key, status="expired", at=at, reason=r.reason
        )
        for r in recipients
    )
