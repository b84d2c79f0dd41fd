"""GetAccept client (REST API v1, from the public OpenAPI description in getaccept/openapi).

Credentials (either):

* ``{'api_token': ...}``: a bearer token used as is;
* ``{'email': ..., 'password': ..., 'entity_id': '' (optional), 'client_id': '' (optional)}``:
  ``POST /auth`` returns ``access_token`` + ``expires_in``; the token is cached (in the
  :class:`~.base.TokenCache`) until shortly before it expires, and renewed once on a 401.

Calls used: ``GET /users/me`` (test), ``POST /documents`` (``file_content`` base64,
``recipients`` with ``order_num``/``verify_sms``, ``external_id`` = our reference,
``expiration_date``, ``is_automatic_sending``), ``POST /documents/{id}/fields`` then
``POST /documents/{id}/send`` when fields are placed, ``GET /documents/external/{ref}``
(idempotent retry), ``GET /documents/{id}`` (+ ``/recipients`` when absent),
``GET /documents/{id}/download?direct=true``, ``DELETE /documents/{id}`` (cancel),
``POST /documents/{id}/reminders``.

GetAccept has no changed-since listing (``GET /documents`` filters on the current status
only): :meth:`GetAcceptClient.list_changes` raises ``NotImplementedError``.

Webhooks: GetAccept signs nothing; a subscription only has a ``target_url``. The secret
therefore travels in that URL: either in the query string
(``https://<odoo>/...?token=<secret>``: pass the request's query parameters as ``params``) or
as the password of the URL's user info (``https://hook:<secret>@<odoo>/...``, received as an
HTTP Basic ``Authorization`` header, which access logs do not record). The token is compared
in constant time with every configured secret (several while rotating). With no secret
configured the webhook is refused (``webhook_no_secret``). The payload is only a hint:
callers re-fetch the status through the API.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re

from .. import http
from ..errors import ProviderRejected, WebhookRejected
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

GETACCEPT_BASE_URL = "https://api.getaccept.com/v1"
# The web application where the sender follows a document (document/view/<document id>);
# GetAccept has no separate sandbox application.
APP_URL = "https://app.getaccept.com"
WEBHOOK_TOKEN_PARAM = "token"

DOCUMENT_STATES = {
    "draft": "draft",
    "sent": "sent",
    "viewed": "viewed",
    "reviewed": "viewed",
    "partially_signed": "viewed",
    "signed": "signed",
    "rejected": "rejected",
    "recalled": "cancelled",
    "expired": "expired",
}
RECIPIENT_STATES = {
    "": "waiting",
    "draft": "waiting",
    "created": "waiting",
    "pending": "waiting",
    "waiting": "waiting",
    "sent": "sent",
    "viewed": "viewed",
    "reviewed": "viewed",
    "signed": "signed",
    "rejected": "rejected",
    "expired": "expired",
    "recalled": "expired",
}
FIELD_TYPES = {
    "signature": "signature",
    "initials": "initials",
    "date": "text",
    "text": "text",
    "checkbox": "check",
}


def _digits(value):
    return re.sub(r"\D", "", value or "")


class GetAcceptClient(ProviderClient):
    code = "getaccept"

    features = frozenset(
        {"sms", "otp", "signing_order", "webhook", "status_polling", "reminder_api"}
    )
    default_base_url = GETACCEPT_BASE_URL

    @classmethod
    def _app_documents_url(cls, sandbox):
        return f"{APP_URL}/document/view"

    # --- auth ---
    def _token_key(self):
        return self.token_cache.key(
            "getaccept",
            self.base_url,
            (self._credential("email") or "").lower(),
            self._credential("entity_id") or "",
            hashlib.sha256((self._credential("password") or "").encode()).hexdigest(),
        )

    def _token(self, *, renew=False):
        api_token = self._credential("api_token")
        if api_token:
            return api_token
        self._require("email", "password")
        body = {"email": self._credential("email"), "password": self._credential("password")}
        for optional in ("entity_id", "client_id"):
            if self._credential(optional):
                body[optional] = self._credential(optional)
        return self._cached_token(
            self._token_key(),
            lambda now: self._http("POST", f"{self.base_url}/auth", json=body),
            renew=renew,
        )

    def _api(self, method, path, **kwargs):
        # An API token is the credential itself: nothing to renew.
        return self._bearer_request(
            method,
            f"{self.base_url}{path}",
            self._token,
            renewable=not self._credential("api_token"),
            **kwargs,
        )

    def _json(self, method, path, **kwargs):
        return self._json_object(self._api(method, path, **kwargs))

    # --- API ---
    def test_connection(self):
        data = self._json("GET", "/users/me")
        user = data.get("user") if isinstance(data.get("user"), dict) else data
        return str(user.get("entity_name") or user.get("entity_id") or user.get("id") or "")

    def create_envelope(self, envelope, *, check_existing=False):
        validate_envelope(envelope)
        if check_existing:
            existing = self._find_by_reference(envelope.reference)
            if existing is not None:
                if str(existing.get("status") or "").lower() != "draft":
                    _logger.info(
                        "getaccept: reference %s already sent as document %s",
                        envelope.reference,
                        existing.get("id"),
                    )
                    return self._created(existing, envelope)
                self._delete_quietly(existing.get("id"))
        with_fields = bool(envelope.fields)
        document = self._json(
            "POST", "/documents", json=self._document_payload(envelope, send=not with_fields)
        )
        document_id = document.get("id")
        if not document_id:
            raise ProviderRejected("no document id in the answer", code="provider_bad_response")
        _logger.info(
            "getaccept: document %s created for reference %s", document_id, envelope.reference
        )
        if not with_fields:
            return self._created(document, envelope)
        try:
            ids = self._match_recipients(envelope, document)
            for placement in envelope.fields:
                self._json(
                    "POST",
                    f"/documents/{self._path_id(document_id)}/fields",
                    json=self._field_payload(placement, ids),
                )
            sent = self._api("POST", f"/documents/{self._path_id(document_id)}/send", json={})
        except Exception:
            self._delete_quietly(document_id)
            raise
        try:
            answer = http.json_or_raise(sent)
        except ProviderRejected:
            answer = {}
        merged = {**document, **(answer if isinstance(answer, dict) else {})}
        if not merged.get("status") or str(merged["status"]).lower() == "draft":
            merged["status"] = "sent"
        return self._created(merged, envelope, sent=True)

    def get_status(self, provider_reference):
        document = self._json("GET", f"/documents/{self._path_id(provider_reference)}")
        if not document.get("recipients") or not isinstance(document["recipients"], list):
            document["recipients"] = self._recipients_data(provider_reference)
        if not document.get("id"):
            document["id"] = provider_reference
        return self._status(document)

    def get_recipients(self, provider_reference):
        return tuple(self._recipient_statuses(self._recipients_data(provider_reference)))

    def _recipients_data(self, provider_reference):
        data = self._json("GET", f"/documents/{self._path_id(provider_reference)}/recipients")
        recipients = data.get("recipients")
        return recipients if isinstance(recipients, list) else []

    def list_changes(self, since):
        raise NotImplementedError("GetAccept has no changed-since listing")

    def download_signed(self, provider_reference):
        return self._download_pdf(
            f"/documents/{self._path_id(provider_reference)}/download", {"direct": "true"}
        )

    def cancel(self, provider_reference, reason):
        status = self.get_status(provider_reference)
        if status.status == "signed":
            raise ProviderRejected(
                "the document is already signed",
                code="provider_rejected",
                status=409,
                provider_code="already_signed",
                state="signed",
            )
        if status.status in ("cancelled", "expired", "rejected"):
            return
        try:
            self._api("DELETE", f"/documents/{self._path_id(provider_reference)}")
        except ProviderRejected as exc:
            if exc.code != "provider_not_found":
                raise
        _logger.info("getaccept: document %s withdrawn", provider_reference)

    def send_reminder(self, provider_reference, recipient_ids=(), *, message="", channel="email"):
        payload = {
            "type": "sms" if channel == "sms" else "email",
            "text": message or "",
            "not_signed": True,
        }
        self._api("POST", f"/documents/{self._path_id(provider_reference)}/reminders", json=payload)
        _logger.info("getaccept: reminder requested for document %s", provider_reference)

    def parse_webhook(self, headers, body, secrets, *, now=None, params=None):
        configured = [s for s in (secrets or ()) if s]
        if not configured:
            raise WebhookRejected("no webhook secret configured", code="webhook_no_secret")
        given = [t.encode() for t in self._webhook_tokens(headers, params) if t]
        matched = False
        for secret in configured:
            for token in given:
                matched |= hmac.compare_digest(token, str(secret).encode())
        if not matched:
            raise WebhookRejected("webhook token missing or wrong", code="webhook_bad_signature")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, TypeError):
            raise WebhookRejected("webhook body is not JSON", code="webhook_malformed") from None
        if not isinstance(payload, dict):
            raise WebhookRejected("webhook body is not an object", code="webhook_malformed")
        document = payload.get("document") if isinstance(payload.get("document"), dict) else {}
        document_id = str(document.get("id") or payload.get("document_id") or "")
        if not document_id:
            raise WebhookRejected("webhook without a document id", code="webhook_malformed")
        event = str(payload.get("event") or payload.get("event_action") or "")
        raw_status = str(document.get("status") or "")
        recipient = payload.get("recipient") if isinstance(payload.get("recipient"), dict) else {}
        fingerprint = "\x1f".join(
            (
                document_id,
                event,
                str(recipient.get("id") or ""),
                raw_status,
                str(payload.get("subscription_id") or ""),
            )
        )
        event_id = "getaccept:" + hashlib.sha256(fingerprint.encode()).hexdigest()[:40]
        return WebhookEvent(
            event_id=event_id, provider_reference=document_id, event=event, raw_status=raw_status
        )

    # --- internals ---
    @staticmethod
    def _webhook_tokens(headers, params):
        """Candidate tokens: the ``token`` query parameter, and the password of an HTTP Basic
        ``Authorization`` header (a target URL written ``https://hook:<secret>@host/...``)."""
        tokens = []
        token = (params or {}).get(WEBHOOK_TOKEN_PARAM) or ""
        if isinstance(token, (list, tuple)):
            token = token[0] if token else ""
        tokens.append(str(token))
        authorization = str(lower_headers(headers or {}).get("authorization") or "")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, ValueError, UnicodeDecodeError):
                decoded = ""
            tokens.append(decoded.partition(":")[2])
        return tokens

    def _find_by_reference(self, reference):
        try:
            document = self._json("GET", f"/documents/external/{self._path_id(reference)}")
        except ProviderRejected as exc:
            if exc.code == "provider_not_found":
                return None
            raise
        return document if document.get("id") else None

    def _delete_quietly(self, document_id):
        if not document_id:
            return
        try:
            self._api("DELETE", f"/documents/{self._path_id(document_id)}")
            _logger.info("getaccept: draft document %s deleted", document_id)
        except Exception as exc:  # best effort: a stray draft is never sent
            _logger.warning(
                "getaccept: could not delete draft document %s (%s)",
                document_id,
                getattr(exc, "code", type(exc).__name__),
            )

    def _document_payload(self, envelope, *, send):
        payload = {
            "name": envelope.name,
            "external_id": envelope.reference,
            "file_name": envelope.filename or "document.pdf",
            "file_content": b64(envelope.pdf),
            "is_signing": True,
            "is_automatic_sending": bool(send),
            "is_reminder_sending": False,
            "is_sms_sending": any(r.channel == "sms" for r in envelope.recipients),
            "recipients": [self._recipient_payload(r) for r in envelope.recipients],
        }
        if envelope.message:
            payload["email_send_message"] = envelope.message
        if envelope.expires_at:
            payload["expiration_date"] = format_datetime(envelope.expires_at)
        return payload

    @staticmethod
    def _recipient_payload(recipient):
        item = {"fullname": recipient.name, "role": "signer", "order_num": int(recipient.order)}
        if recipient.channel == "email" and recipient.email:
            item["email"] = recipient.email
        if recipient.mobile and (recipient.channel == "sms" or recipient.otp_channel == "sms"):
            item["mobile"] = recipient.mobile
        if recipient.otp_channel == "sms":
            item["verify_sms"] = True
            item["verify_sms_sign"] = True
        return item

    @staticmethod
    def _field_payload(placement, ids):
        return {
            "recipient_id": ids[placement.recipient_key],
            "page_num": int(placement.page),
            "field_type": FIELD_TYPES[placement.kind],
            "field_left": round(placement.x0, 2),
            "field_top": round(placement.y0, 2),
            "field_width": round(placement.x1 - placement.x0, 2),
            "field_height": round(placement.y1 - placement.y0, 2),
            "is_required": bool(placement.mandatory),
            "is_collectable": True,
            "is_editable": False,
        }

    @staticmethod
    def _match_recipients(envelope, document):
        """Map our keys to GetAccept recipient ids: by e-mail, then mobile, then position."""
        returned = [r for r in (document.get("recipients") or []) if isinstance(r, dict)]
        free = list(range(len(returned)))
        ids = {}
        pending = []
        for recipient in envelope.recipients:
            found = None
            for index in free:
                other = returned[index]
                if (
                    recipient.channel == "email"
                    and recipient.email
                    and str(other.get("email") or "").lower() == recipient.email.lower()
                ):
                    found = index
                    break
                if recipient.mobile and _digits(other.get("mobile")) == _digits(recipient.mobile):
                    found = index
                    break
            if found is None:
                pending.append(recipient)
                continue
            free.remove(found)
            ids[recipient.key] = str(returned[found].get("id") or "")
        for recipient in pending:
            if free:
                ids[recipient.key] = str(returned[free.pop(0)].get("id") or "")
        if envelope.fields and any(not ids.get(f.recipient_key) for f in envelope.fields):
            raise ProviderRejected(
                "recipient ids missing from the answer", code="provider_bad_response"
            )
        return ids

    def _created(self, document, envelope, *, sent=False):
        ids = self._match_recipients(envelope, document)
        keys = {provider_id: key for key, provider_id in ids.items() if provider_id}
        status = self._status(document, keys)
        if sent or not status.recipients:
            pending = all(r.status == "waiting" for r in status.recipients)
            if pending and status.status in ("sent", "viewed"):
                status = EnvelopeStatus(
                    provider_reference=status.provider_reference,
                    status=status.status,
                    raw_status=status.raw_status,
                    recipients=synthesize_recipients(envelope.recipients, ids),
                    changed_at=status.changed_at or self.now(),
                    reason=status.reason,
                )
        return CreatedEnvelope(
            provider_reference=str(document.get("id")), status=status, recipient_ids=ids
        )

    def _status(self, document, keys=None):
        keys = keys or {}
        raw = str(document.get("status") or "").lower()
        status = DOCUMENT_STATES.get(raw)
        if status is None:
            _logger.warning("getaccept: unknown document status %r on %s", raw, document.get("id"))
            status = "sent"
        recipients = self._recipient_statuses(document.get("recipients") or [], keys)
        if status == "signed":
            changed = document.get("sign_date")
        elif status == "expired":
            changed = document.get("expiration_date")
        else:
            changed = document.get("send_date") or document.get("created_at")
        changed_at = parse_datetime(changed)
        return received_status(str(document.get("id") or ""), status, raw, recipients, changed_at)

    @staticmethod
    def _recipient_statuses(items, keys=None):
        """``[RecipientStatus]`` of GetAccept recipients; a signer's time is the latest
        ``signed_at`` of their signing methods (GetAccept's own time)."""
        keys = keys or {}
        recipients = []
        for item in items:
            if not isinstance(item, dict):
                continue
            provider_id = str(item.get("id") or "")
            raw_recipient = str(item.get("status") or "").lower()
            recipient_status = RECIPIENT_STATES.get(raw_recipient, "sent")
            at = None
            if recipient_status == "signed":
                signed = [
                    parse_datetime(m.get("signed_at"))
                    for m in item.get("signing_methods") or []
                    if isinstance(m, dict)
                ]
                signed = [s for s in signed if s]
                at = max(signed) if signed else None
            recipients.append(
                RecipientStatus(
                    provider_id=provider_id,
                    key=keys.get(provider_id, ""),
                    status=recipient_status,
                    at=at,
                )
            )
        return recipients
