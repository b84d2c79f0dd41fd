"""DocuSign eSignature REST API v2.1 client (from the public API reference and the
OpenAPI description in docusign/eSign-OpenAPI-Specification).

Credentials::

    {'integration_key': ..., 'user_id': ...,       # the impersonated user's GUID
     'private_key': '-----BEGIN RSA PRIVATE KEY-----...',
     'account_id': ...,                             # optional: the user's default account
     'environment': 'demo' | 'production'}          # optional: chooses the OAuth server

Authentication is the OAuth JWT grant: an RS256 assertion (``iss`` integration key, ``sub``
user id, ``aud`` the OAuth host, ``scope`` ``signature impersonation``, one hour) built with
``cryptography`` is exchanged at ``<oauth>/oauth/token``; the access token is cached until
shortly before ``expires_in`` and renewed once on a 401. The REST base URL is the one given
(``DEMO_BASE_URL`` for the developer sandbox) or, when None, the account's ``base_uri`` from
``<oauth>/oauth/userinfo`` + ``/restapi`` (cached for a day).

Envelopes: one PDF (``documentId`` 1), one signer per recipient (``recipientId`` = its
1-based position, ``routingOrder`` = ``order``, ``customFields`` carries our key), tabs in
DocuSign units (pixels at 72 DPI, i.e. PDF points, top-left origin), SMS invitation through
``additionalNotifications`` (or ``deliveryMethod`` SMS when there is no e-mail), SMS codes
through ``smsAuthentication.senderProvidedNumbers`` with ``SMS Auth $``, expiry through
``notification.expirations``, our reference as ``transactionId`` (found again with
``GET /envelopes?transaction_ids=``).

A status that says the envelope is completed but carries no recipient data (a Connect
message sent without recipients, a listing entry) is completed with
``GET /envelopes/{id}/recipients`` (:meth:`~.base.ProviderClient.ensure_recipients`): each
signer's time is their ``signedDateTime``.

Status: ``created`` draft, ``sent`` sent, ``delivered`` viewed, ``signed`` viewed (transient:
only ``completed`` is done), ``completed`` signed, ``declined`` rejected, ``voided``
cancelled unless the void reason says the envelope expired (expired), ``timedout`` expired.

Connect webhooks: HMAC-SHA256 of the raw body, base64, compared in constant time with every
``X-DocuSign-Signature-N`` header and every configured secret (key rotation).
"""

import base64
import hashlib
import hmac
import json
import logging
import math
import re
import urllib.parse
from datetime import timedelta

import phonenumbers
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .. import http
from ..errors import ProviderAuthError, ProviderRejected, WebhookRejected
from .base import (
    CreatedEnvelope,
    EnvelopeStatus,
    ProviderClient,
    RecipientStatus,
    WebhookEvent,
    b64,
    format_datetime,
    lower_headers,
    parse_datetime,
    received_status,
    synthesize_recipients,
    validate_envelope,
)

_logger = http.install_masking_filter(logging.getLogger(__name__))

DEMO_BASE_URL = "https://demo.docusign.net/restapi"
# The web application where the sender follows an envelope (documents/details/<envelope id>)
APP_URL = "https://app.docusign.com"
DEMO_APP_URL = "https://appdemo.docusign.com"
DEMO_OAUTH_URL = "https://account-d.docusign.com"
PRODUCTION_OAUTH_URL = "https://account.docusign.com"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_SCOPE = "signature impersonation"
JWT_LIFETIME = 3600
ACCOUNT_CACHE_TTL = timedelta(days=1)
DOCUMENT_ID = "1"
KEY_PREFIX = "digital_sign_key:"
REFERENCE_FIELD = "digital_sign_reference"
SMS_AUTH_CONFIG = "SMS Auth $"
NOT_FOUND_CODES = frozenset({"ENVELOPE_DOES_NOT_EXIST", "RECIPIENT_NOT_IN_SEQUENCE_NOT_FOUND"})

ENVELOPE_STATES = {
    "created": "draft",
    "sent": "sent",
    "correct": "sent",
    "delivered": "viewed",
    "signed": "viewed",  # transient, before "completed"
    "processing": "viewed",
    "completed": "signed",
    "declined": "rejected",
    "voided": "cancelled",  # or expired: see _envelope_state
    "deleted": "cancelled",
    "timedout": "expired",
}
RECIPIENT_STATES = {
    "created": "waiting",
    "sent": "sent",
    "autoresponded": "sent",
    "delivered": "viewed",
    "faxpending": "viewed",
    "authenticationfailed": "viewed",
    "signed": "signed",
    "completed": "signed",
    "declined": "rejected",
}
EVENT_STATUS = {
    "envelope-created": "created",
    "envelope-sent": "sent",
    "envelope-resent": "sent",
    "envelope-delivered": "delivered",
    "envelope-completed": "completed",
    "envelope-declined": "declined",
    "envelope-voided": "voided",
    "envelope-deleted": "deleted",
}
TAB_LISTS = {
    "signature": "signHereTabs",
    "initials": "initialHereTabs",
    "date": "dateSignedTabs",
    "text": "textTabs",
    "checkbox": "checkboxTabs",
}
_SIGNATURE_HEADER_RE = re.compile(r"^x-docusign-signature-\d+$")
_EXPIRY_RE = re.compile(r"expir", re.IGNORECASE)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _true(value):
    return str(value).lower() == "true"


def split_phone(e164):
    """``+46701234567`` -> ``{'countryCode': '46', 'number': '701234567'}``."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("mobile must be E.164") from exc
    return {
        "countryCode": str(parsed.country_code),
        "number": phonenumbers.national_significant_number(parsed),
    }


def envelope_state(raw_status, voided_reason=""):
    """Our request state for a DocuSign envelope status (and its void reason)."""
    raw = (raw_status or "").lower()
    if raw == "voided" and _EXPIRY_RE.search(voided_reason or ""):
        return "expired"
    return ENVELOPE_STATES.get(raw)


class DocuSignClient(ProviderClient):
    code = "docusign"

    features = frozenset(
        {
            "sms",
            "otp",
            "signing_order",
            "webhook",
            "status_polling",
            "reminder_api",
            "changed_since",
        }
    )
    default_base_url = None
    min_status_poll_seconds = 15 * 60  # DocuSign's rule: one status request per 15 minutes
    webhook_max_age = timedelta(days=15)

    def __init__(
        self,
        credentials,
        *,
        base_url=None,
        oauth_base_url=None,
        session=None,
        clock=None,
        token_cache=None,
        timeout=http.DEFAULT_TIMEOUT,
    ):
        super().__init__(
            credentials,
            base_url=base_url,
            session=session,
            clock=clock,
            token_cache=token_cache,
            timeout=timeout,
        )
        environment = (self._credential("environment") or "").lower()
        if oauth_base_url:
            self.oauth_base_url = oauth_base_url.rstrip("/")
        elif environment == "demo" or "demo.docusign" in (base_url or ""):
            self.oauth_base_url = DEMO_OAUTH_URL
        else:
            self.oauth_base_url = PRODUCTION_OAUTH_URL

    @classmethod
    def _app_documents_url(cls, sandbox):
        return f"{DEMO_APP_URL if sandbox else APP_URL}/documents/details"

    # --- auth ---
    def _secret_digest(self):
        return hashlib.sha256((self._credential("private_key") or "").encode()).hexdigest()

    def _private_key(self):
        pem = self._credential("private_key") or ""
        if "\\n" in pem and "\n" not in pem:
            pem = pem.replace("\\n", "\n")
        try:
            key = serialization.load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ProviderAuthError(
                "the private key cannot be read", provider_code="bad_private_key"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ProviderAuthError(
                "the private key is not an RSA key", provider_code="bad_private_key"
            )
        return key

    def _assertion(self, now):
        issued = int(now.timestamp())
        header = {"alg": "RS256", "typ": "JWT"}
        claims = {
            "iss": self._credential("integration_key"),
            "sub": self._credential("user_id"),
            "aud": urllib.parse.urlsplit(self.oauth_base_url).netloc,
            "iat": issued,
            "exp": issued + JWT_LIFETIME,
            "scope": JWT_SCOPE,
        }
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._private_key().sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"

    def _token(self, *, renew=False):
        self._require("integration_key", "user_id", "private_key")
        key = self.token_cache.key(
            "docusign-token",
            self.oauth_base_url,
            self._credential("integration_key"),
            self._credential("user_id"),
            self._secret_digest(),
        )
        return self._cached_token(
            key,
            lambda now: self._http(
                "POST",
                f"{self.oauth_base_url}/oauth/token",
                data={"grant_type": JWT_GRANT_TYPE, "assertion": self._assertion(now)},
                headers={"Accept": "application/json"},
            ),
            renew=renew,
        )

    def _authorized(self, method, url, **kwargs):
        return self._bearer_request(method, url, self._token, **kwargs)

    def _userinfo(self):
        return self._json_object(self._authorized("GET", f"{self.oauth_base_url}/oauth/userinfo"))

    def _pick_account(self, info):
        wanted = self._credential("account_id")
        accounts = [a for a in info.get("accounts") or [] if isinstance(a, dict)]
        for account in accounts:
            if wanted and str(account.get("account_id")) == wanted:
                return account
        if not wanted:
            for account in accounts:
                if _true(account.get("is_default")):
                    return account
            if accounts:
                return accounts[0]
        raise ProviderAuthError(
            "the account is not available to this user", provider_code="account_not_found"
        )

    def _account_key(self):
        return self.token_cache.key(
            "docusign-account",
            self.oauth_base_url,
            self._credential("integration_key"),
            self._credential("user_id"),
            self._credential("account_id") or "",
            self.base_url,
        )

    def _account(self):
        """Return ``(rest_base_url, account_id)``."""
        account_id = self._credential("account_id")
        if self.base_url and account_id:
            return self.base_url, account_id
        cached = self.token_cache.get(self._account_key(), self.now())
        if cached:
            return cached
        return self._remember_account(self._pick_account(self._userinfo()))

    def _remember_account(self, account):
        base = self.base_url
        if not base:
            base_uri = str(account.get("base_uri") or "").rstrip("/")
            if not base_uri:
                raise ProviderRejected("no base_uri for the account", code="provider_bad_response")
            base = f"{base_uri}/restapi"
        value = (base, str(account.get("account_id")))
        self.token_cache.set(self._account_key(), value, self.now() + ACCOUNT_CACHE_TTL)
        return value

    def _api(self, method, path, **kwargs):
        base, account_id = self._account()
        url = f"{base}/v2.1/accounts/{urllib.parse.quote(account_id, safe='')}{path}"
        try:
            return self._authorized(method, url, **kwargs)
        except ProviderRejected as exc:
            if exc.params.get("provider_code") in NOT_FOUND_CODES:
                raise ProviderRejected(
                    exc.detail,
                    code="provider_not_found",
                    status=exc.status,
                    provider_code=exc.params["provider_code"],
                ) from None
            raise

    def _json(self, method, path, **kwargs):
        data = self._json_object(self._api(method, path, **kwargs))
        errors = data.get("errorDetails")
        if isinstance(errors, dict) and errors.get("errorCode") not in (None, "", "SUCCESS"):
            raise ProviderRejected(
                http.scrub_text(errors.get("message") or errors["errorCode"]),
                code="provider_rejected",
                provider_code=str(errors["errorCode"]),
            )
        return data

    # --- API ---
    def test_connection(self):
        account = self._pick_account(self._userinfo())
        self._remember_account(account)
        return str(account.get("account_name") or account.get("account_id") or "")

    def create_envelope(self, envelope, *, check_existing=False):
        validate_envelope(envelope)
        ids = {r.key: str(index) for index, r in enumerate(envelope.recipients, 1)}
        if check_existing:
            existing = self._find_by_transaction(envelope.reference)
            if existing is not None:
                _logger.info(
                    "docusign: reference %s already sent as envelope %s",
                    envelope.reference,
                    existing.get("envelopeId"),
                )
                keys = {provider_id: key for key, provider_id in ids.items()}
                return CreatedEnvelope(
                    provider_reference=str(existing["envelopeId"]),
                    status=self._status(existing, keys),
                    recipient_ids=ids,
                )
        data = self._json("POST", "/envelopes", json=self._definition(envelope, ids))
        envelope_id = data.get("envelopeId")
        if not envelope_id:
            raise ProviderRejected("no envelope id in the answer", code="provider_bad_response")
        raw = str(data.get("status") or "sent").lower()
        _logger.info(
            "docusign: envelope %s created for reference %s", envelope_id, envelope.reference
        )
        status = EnvelopeStatus(
            provider_reference=str(envelope_id),
            status=envelope_state(raw) or "sent",
            raw_status=raw,
            recipients=synthesize_recipients(envelope.recipients, ids, sent=raw != "created"),
            changed_at=parse_datetime(data.get("statusDateTime")) or self.now(),
        )
        return CreatedEnvelope(
            provider_reference=str(envelope_id), status=status, recipient_ids=ids
        )

    def get_status(self, provider_reference):
        data = self._json(
            "GET",
            f"/envelopes/{self._path_id(provider_reference)}",
            params={"include": "recipients"},
        )
        data.setdefault("envelopeId", provider_reference)
        return self._status(data)

    def get_recipients(self, provider_reference):
        data = self._json("GET", f"/envelopes/{self._path_id(provider_reference)}/recipients")
        return tuple(self._recipient_statuses(data)[0])

    def list_changes(self, since):
        params = {
            "from_date": format_datetime(since),
            "from_to_status": "changed",
            "include": "recipients",
            "order_by": "status_changed",
            "order": "asc",
        }
        data = self._json("GET", "/envelopes", params=params)
        envelopes = [
            e for e in data.get("envelopes") or [] if isinstance(e, dict) and e.get("envelopeId")
        ]
        statuses = [self._status(e) for e in envelopes]
        floor = since
        statuses.sort(key=lambda s: s.changed_at or floor)
        return tuple(statuses)

    def download_signed(self, provider_reference):
        return self._download_pdf(
            f"/envelopes/{self._path_id(provider_reference)}/documents/combined",
            {"certificate": "true"},
        )

    def cancel(self, provider_reference, reason):
        voided_reason = " ".join((reason or "").split())[:200] or "cancelled"
        try:
            self._json(
                "PUT",
                f"/envelopes/{self._path_id(provider_reference)}",
                json={"status": "voided", "voidedReason": voided_reason},
            )
        except ProviderRejected as exc:
            if exc.code == "provider_not_found":
                raise
            current = self.get_status(provider_reference)
            if current.status in ("cancelled", "expired", "rejected"):
                return
            raise ProviderRejected(
                exc.detail,
                code=exc.code,
                status=exc.status,
                provider_code=exc.params.get("provider_code", ""),
                state=current.status,
            ) from None
        _logger.info("docusign: envelope %s voided", provider_reference)

    def send_reminder(self, provider_reference, recipient_ids=(), *, message="", channel="email"):
        path = f"/envelopes/{self._path_id(provider_reference)}/recipients"
        signers = self._json("GET", path).get("signers") or []
        wanted = {str(i) for i in recipient_ids or ()}
        chosen = [
            s
            for s in signers
            if isinstance(s, dict)
            and (
                str(s.get("recipientId")) in wanted
                if wanted
                else str(s.get("status") or "").lower() in ("sent", "delivered")
            )
        ]
        if not chosen:
            return
        body = {
            "signers": [
                {key: s[key] for key in ("recipientId", "name", "email") if s.get(key)}
                for s in chosen
            ]
        }
        data = self._json("PUT", path, params={"resend_envelope": "true"}, json=body)
        for result in data.get("recipientUpdateResults") or []:
            errors = result.get("errorDetails") if isinstance(result, dict) else None
            if isinstance(errors, dict) and errors.get("errorCode") not in (None, "", "SUCCESS"):
                raise ProviderRejected(
                    http.scrub_text(errors.get("message") or ""),
                    code="provider_rejected",
                    provider_code=str(errors.get("errorCode")),
                )
        _logger.info(
            "docusign: envelope %s resent to %d recipient(s)", provider_reference, len(chosen)
        )

    def parse_webhook(self, headers, body, secrets, *, now=None, params=None):
        configured = [str(s) for s in (secrets or ()) if s]
        if not configured:
            raise WebhookRejected("no Connect HMAC key configured", code="webhook_no_secret")
        if isinstance(body, str):
            body = body.encode("utf-8")
        body = bytes(body or b"")
        given = [
            str(value).strip().encode()
            for name, value in lower_headers(headers).items()
            if _SIGNATURE_HEADER_RE.match(name) and value
        ]
        if not given:
            raise WebhookRejected("no X-DocuSign-Signature header", code="webhook_bad_signature")
        matched = False
        for secret in configured:
            expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
            for signature in given:
                matched |= hmac.compare_digest(expected, signature)
        if not matched:
            raise WebhookRejected("HMAC signature mismatch", code="webhook_bad_signature")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("webhook body is not JSON", code="webhook_malformed") from None
        if not isinstance(payload, dict):
            raise WebhookRejected("webhook body is not an object", code="webhook_malformed")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        summary = (
            data.get("envelopeSummary") if isinstance(data.get("envelopeSummary"), dict) else {}
        )
        envelope_id = str(
            data.get("envelopeId") or summary.get("envelopeId") or payload.get("envelopeId") or ""
        )
        if not envelope_id:
            raise WebhookRejected("webhook without an envelope id", code="webhook_malformed")
        raw_status = str(summary.get("status") or payload.get("status") or "").lower()
        status = None
        if summary.get("status"):
            status = self._status({**summary, "envelopeId": envelope_id})
        event = str(payload.get("event") or (f"envelope-{raw_status}" if raw_status else ""))
        raw_status = raw_status or EVENT_STATUS.get(event, "")
        generated = str(
            payload.get("generatedDateTime") or payload.get("statusChangedDateTime") or ""
        )
        when = parse_datetime(generated)
        now = now or self.now()
        if when is not None and (
            now - when > self.webhook_max_age or when - now > self.webhook_max_skew
        ):
            raise WebhookRejected("webhook too old or from the future", code="webhook_stale")
        explicit = payload.get("eventId") or payload.get("event_id")
        if explicit:
            event_id = f"docusign:{explicit}"
        else:
            fingerprint = "\x1f".join(
                (envelope_id, event, raw_status, str(data.get("recipientId") or ""), generated)
            )
            event_id = "docusign:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:40]
        return WebhookEvent(
            event_id=event_id,
            provider_reference=envelope_id,
            event=event,
            raw_status=raw_status,
            status=status,
        )

    def webhook_status(self, event):
        """Connect messages are HMAC-verified: their envelope status is applied as it is,
        which spares a status request (one per envelope per 15 minutes). A completion
        without its recipients gets them through :meth:`ensure_recipients` when applied. A
        voided envelope's reason (cancelled or expired) may be missing, and an unknown
        status says nothing: both are fetched (None)."""
        raw_status = (event.raw_status or "").lower()
        status = envelope_state(raw_status)
        if not status or raw_status == "voided":
            return None
        return event.status or EnvelopeStatus(
            provider_reference=event.provider_reference, status=status, raw_status=event.raw_status
        )

    # --- internals ---
    def _find_by_transaction(self, reference):
        data = self._json(
            "GET", "/envelopes", params={"transaction_ids": reference, "include": "recipients"}
        )
        for item in data.get("envelopes") or []:
            if isinstance(item, dict) and item.get("envelopeId"):
                return item
        return None

    def _definition(self, envelope, ids):
        signers = []
        for recipient in envelope.recipients:
            recipient_id = ids[recipient.key]
            signer = {
                "recipientId": recipient_id,
                "name": recipient.name,
                "routingOrder": str(int(recipient.order)),
                "customFields": [f"{KEY_PREFIX}{recipient.key}"],
            }
            if recipient.email:
                signer["email"] = recipient.email
            if recipient.channel == "sms":
                phone = split_phone(recipient.mobile)
                if recipient.email:
                    signer["additionalNotifications"] = [
                        {"secondaryDeliveryMethod": "SMS", "phoneNumber": phone}
                    ]
                else:
                    signer["deliveryMethod"] = "SMS"
                    signer["phoneNumber"] = phone
            if recipient.otp_channel == "sms":
                signer["idCheckConfigurationName"] = SMS_AUTH_CONFIG
                signer["requireIdLookup"] = "true"
                signer["smsAuthentication"] = {"senderProvidedNumbers": [recipient.mobile]}
            tabs = self._tabs(envelope.fields, recipient.key, recipient_id)
            if tabs:
                signer["tabs"] = tabs
            signers.append(signer)
        definition = {
            "emailSubject": (envelope.name or envelope.filename or envelope.reference)[:100],
            "status": "sent",
            "transactionId": envelope.reference,
            "documents": [
                {
                    "documentBase64": b64(envelope.pdf),
                    "documentId": DOCUMENT_ID,
                    "name": envelope.filename or "document.pdf",
                    "fileExtension": "pdf",
                }
            ],
            "recipients": {"signers": signers},
            "customFields": {
                "textCustomFields": [
                    {
                        "name": REFERENCE_FIELD,
                        "value": envelope.reference,
                        "show": "false",
                        "required": "false",
                    }
                ]
            },
        }
        if envelope.message:
            definition["emailBlurb"] = envelope.message
        if envelope.expires_at:
            seconds = (envelope.expires_at - self.now()).total_seconds()
            days = min(max(math.ceil(seconds / 86400), 1), 999)
            definition["notification"] = {
                "useAccountDefaults": "false",
                "expirations": {
                    "expireEnabled": "true",
                    "expireAfter": str(days),
                    "expireWarn": "0",
                },
                "reminders": {"reminderEnabled": "false"},
            }
        return definition

    @staticmethod
    def _tabs(fields, key, recipient_id):
        tabs = {}
        for index, placement in enumerate(fields, 1):
            if placement.recipient_key != key:
                continue
            tab = {
                "documentId": DOCUMENT_ID,
                "recipientId": recipient_id,
                "pageNumber": str(int(placement.page)),
                # DocuSign positions are pixels at 72 DPI from the top-left corner: points.
                "xPosition": str(round(placement.x0)),
                "yPosition": str(round(placement.y0)),
            }
            width = str(max(round(placement.x1 - placement.x0), 1))
            height = str(max(round(placement.y1 - placement.y0), 1))
            if placement.kind in ("signature", "initials"):
                tab["optional"] = "false" if placement.mandatory else "true"
            elif placement.kind == "date":
                tab.update(width=width, height=height)
            elif placement.kind == "text":
                tab.update(
                    width=width,
                    height=height,
                    tabLabel=f"text_{index}",
                    required="true" if placement.mandatory else "false",
                )
            elif placement.kind == "checkbox":
                tab["tabLabel"] = f"checkbox_{index}"
            tabs.setdefault(TAB_LISTS[placement.kind], []).append(tab)
        return tabs

    def _status(self, data, keys=None):
        keys = keys or {}
        raw = str(data.get("status") or "").lower()
        voided_reason = str(data.get("voidedReason") or "")
        status = envelope_state(raw, voided_reason)
        if status is None:
            _logger.warning(
                "docusign: unknown envelope status %r on %s", raw, data.get("envelopeId")
            )
            status = "sent"
        recipients_data = data.get("recipients") if isinstance(data.get("recipients"), dict) else {}
        recipients, declined = self._recipient_statuses(recipients_data, keys)
        reason = voided_reason if raw == "voided" else declined if status == "rejected" else ""
        changed_at = parse_datetime(data.get("statusChangedDateTime")) or parse_datetime(
            data.get("lastModifiedDateTime")
        )
        return received_status(
            str(data.get("envelopeId") or ""), status, raw, recipients, changed_at, reason
        )

    @staticmethod
    def _recipient_statuses(recipients_data, keys=None):
        """``([RecipientStatus], first decline reason)`` of a ``recipients`` object (the
        signers; each signer's time is the provider's: signedDateTime for a signature)."""
        keys = keys or {}
        recipients, declined = [], ""
        for signer in recipients_data.get("signers") or []:
            if not isinstance(signer, dict):
                continue
            provider_id = str(signer.get("recipientId") or "")
            key = keys.get(provider_id, "")
            for item in signer.get("customFields") or []:
                if isinstance(item, str) and item.startswith(KEY_PREFIX):
                    key = item[len(KEY_PREFIX) :]
            raw_recipient = str(signer.get("status") or "").lower()
            recipient_status = RECIPIENT_STATES.get(raw_recipient, "sent")
            stamp = {
                "signed": signer.get("signedDateTime"),
                "rejected": signer.get("declinedDateTime"),
                "viewed": signer.get("deliveredDateTime"),
                "sent": signer.get("sentDateTime"),
            }.get(recipient_status)
            reason = (
                str(signer.get("declinedReason") or "") if recipient_status == "rejected" else ""
            )
            declined = declined or reason
            recipients.append(
                RecipientStatus(
                    provider_id=provider_id,
                    key=key,
                    status=recipient_status,
                    at=parse_datetime(stamp),
                    reason=reason,
                )
            )
        return recipients, declined
