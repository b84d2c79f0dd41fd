"""A fake DocuSign (OAuth JWT grant + eSignature REST v2.1 subset) on 127.0.0.1, written
from the public API reference. Tests and benchmarks only.

The fake checks the JWT assertion like DocuSign does: RS256 signature against the public
key of the integration, ``iss`` = integration key, ``sub`` = user id, ``aud`` = the OAuth
host (here ``127.0.0.1:<port>``), ``exp`` in the future. Envelopes live in memory::

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with FakeDocuSign(integration_key="ik", user_id="uid", public_key=key.public_key()) as ds:
        client = DocuSignClient({"integration_key": "ik", "user_id": "uid",
                                 "private_key": pem, "account_id": ds.account_id},
                                base_url=ds.base_url, oauth_base_url=ds.oauth_base_url,
                                session=make_session(allow_loopback=True))
        ds.set_status(envelope_id, "completed")      # any envelope status
        ds.set_status(envelope_id, "completed", leave_pending=("2",))  # recipient 2 unsigned
        ds.recipients_in_listings = False            # listings without recipient data
        ds.expire(envelope_id)                       # voided, "Envelope has expired."
        body = ds.connect_body(envelope_id, "envelope-completed")
        body = ds.connect_body(envelope_id, include_recipients=False)  # summary only
        headers = {"X-DocuSign-Signature-1": ds.sign_connect(body, "hmac-key")}

``tokens_issued`` counts JWT grants; ``revoke_tokens()`` makes the next call answer 401;
``consent_required = True`` makes the grant answer ``consent_required``. Fault injection and
call counting come from :class:`~.fakeserver.FakeServer`.
"""

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from .fakeserver import FakeResponse, FakeServer, json_response

ENVELOPE_STATUSES = (
    "created",
    "sent",
    "delivered",
    "signed",
    "completed",
    "declined",
    "voided",
    "timedout",
    "deleted",
    "processing",
)
EXPIRED_REASON = "Envelope has expired."
SIGNED_SUFFIX = b"\n% signed by the fake DocuSign, certificate of completion attached\n"
JWT_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _stamp(value):
    """DocuSign's timestamp format: 7 fractional digits and Z."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def _parse(value):
    text = (value or "").strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _error(status, code, message):
    return json_response({"errorCode": code, "message": message}, status)


class FakeDocuSign(FakeServer):
    prefix = "/restapi"

    def __init__(
        self,
        *,
        integration_key,
        user_id,
        public_key,
        account_id=None,
        account_name="Fake Account",
        token_ttl=3600,
        clock=None,
    ):
        super().__init__(clock=clock)
        if isinstance(public_key, (bytes, str)):
            public_key = serialization.load_pem_public_key(
                public_key.encode() if isinstance(public_key, str) else public_key
            )
        self.public_key = public_key
        self.integration_key = integration_key
        self.user_id = user_id
        self.account_id = account_id or str(uuid.uuid4())
        self.account_name = account_name
        self.token_ttl = token_ttl
        self.consent_required = False
        self.recipients_in_listings = True
        self.envelopes = {}
        self.by_transaction = {}
        self.issued_tokens = {}
        self.tokens_issued = 0
        self.resends = []
        self._seq = itertools.count(1)
        base = "/restapi/v2.1/accounts/{account_id}"
        for method, template, handler in (
            ("POST", "/oauth/token", self._token),
            ("GET", "/oauth/userinfo", self._userinfo),
            ("GET", base + "/envelopes", self._list),
            ("POST", base + "/envelopes", self._create),
            ("GET", base + "/envelopes/{envelope_id}", self._get),
            ("PUT", base + "/envelopes/{envelope_id}", self._update),
            ("GET", base + "/envelopes/{envelope_id}/recipients", self._get_recipients),
            ("PUT", base + "/envelopes/{envelope_id}/recipients", self._put_recipients),
            ("GET", base + "/envelopes/{envelope_id}/documents/{document_id}", self._document),
        ):
            self.add_route(method, template, handler)

    @property
    def oauth_base_url(self):
        return self.host_url

    # --- control API ---
    def envelope(self, envelope_id):
        with self.lock:
            return self.envelopes.get(envelope_id)

    def set_status(self, envelope_id, status, *, reason="", leave_pending=()):
        """Set an envelope's status; signers follow (delivered: invited ones delivered;
        signed/completed: all completed, at the fake's clock, except the recipient ids in
        ``leave_pending``; declined: the first pending one declined with ``reason``;
        voided: ``voidedReason`` = ``reason``)."""
        with self.lock:
            envelope = self.envelopes[envelope_id]
            now = self.now()
            envelope["status"] = status
            envelope["statusChangedDateTime"] = now
            envelope["lastModifiedDateTime"] = now
            signers = envelope["signers"]
            pending = [s for s in signers if s["status"] not in ("completed", "signed")]
            if status == "sent":
                envelope["sentDateTime"] = envelope["sentDateTime"] or now
                self._route(envelope)
            elif status == "delivered":
                for signer in pending:
                    if signer["status"] == "sent":
                        signer["status"] = "delivered"
                        signer["deliveredDateTime"] = now
            elif status in ("signed", "completed"):
                for signer in pending:
                    if signer["recipientId"] in leave_pending:
                        continue
                    signer["status"] = status
                    signer["signedDateTime"] = now
                if status == "completed":
                    envelope["completedDateTime"] = now
            elif status == "declined":
                target = next(
                    (s for s in pending if s["status"] in ("sent", "delivered")),
                    pending[0] if pending else None,
                )
                if target is not None:
                    target["status"] = "declined"
                    target["declinedDateTime"] = now
                    target["declinedReason"] = reason
                envelope["declinedDateTime"] = now
            elif status == "voided":
                envelope["voidedReason"] = reason
                envelope["voidedDateTime"] = now

    def expire(self, envelope_id):
        """What DocuSign does at the expiry date: void with "Envelope has expired."."""
        self.set_status(envelope_id, "voided", reason=EXPIRED_REASON)

    def set_recipient_status(self, envelope_id, recipient_id, status, *, reason=""):
        with self.lock:
            envelope = self.envelopes[envelope_id]
            signer = next(s for s in envelope["signers"] if s["recipientId"] == recipient_id)
            now = self.now()
            signer["status"] = status
            stamp = {
                "delivered": "deliveredDateTime",
                "completed": "signedDateTime",
                "signed": "signedDateTime",
                "declined": "declinedDateTime",
                "sent": "sentDateTime",
            }.get(status)
            if stamp:
                signer[stamp] = now
            if status == "declined":
                signer["declinedReason"] = reason
            envelope["lastModifiedDateTime"] = now
            if status == "completed":
                self._route(envelope)

    def set_download(self, envelope_id, body, content_type="application/pdf"):
        with self.lock:
            self.envelopes[envelope_id]["download"] = (body, content_type)

    def revoke_tokens(self):
        with self.lock:
            self.issued_tokens.clear()

    def seed_envelopes(self, count, *, status="sent", changed_at=None):
        """Create ``count`` envelopes directly (no HTTP), for benchmarks; return their ids.
        ``changed_at`` (datetime or callable(n) -> datetime) sets statusChangedDateTime."""
        ids = []
        with self.lock:
            for n in range(count):
                envelope = self._new_envelope(
                    {
                        "emailSubject": f"Seed {n}",
                        "status": "sent",
                        "documents": [
                            {
                                "documentId": "1",
                                "name": "seed.pdf",
                                "documentBase64": base64.b64encode(b"%PDF-1.4\n").decode(),
                            }
                        ],
                        "recipients": {
                            "signers": [
                                {
                                    "recipientId": "1",
                                    "name": "Signer",
                                    "email": f"s{n}@example.com",
                                    "routingOrder": "1",
                                }
                            ]
                        },
                    }
                )
                if status != "sent":
                    self.set_status(envelope["envelopeId"], status)
                if changed_at is not None:
                    when = changed_at(n) if callable(changed_at) else changed_at
                    envelope["statusChangedDateTime"] = when
                ids.append(envelope["envelopeId"])
        return ids

    def connect_body(
        self,
        envelope_id,
        event="envelope-completed",
        *,
        generated=None,
        recipient_id=None,
        include_summary=True,
        include_recipients=True,
        retry_count=0,
    ):
        """A Connect (JSON SIM) message for an envelope, as bytes. Connect sends the
        recipients only when the configuration asks for them (``include_recipients``)."""
        with self.lock:
            envelope = self.envelopes[envelope_id]
            data = {"accountId": self.account_id, "userId": self.user_id, "envelopeId": envelope_id}
            if recipient_id:
                data["recipientId"] = recipient_id
            if include_summary:
                data["envelopeSummary"] = self._view(
                    envelope, include_recipients=include_recipients
                )
            payload = {
                "event": event,
                "apiVersion": "v2.1",
                "uri": f"/restapi/v2.1/accounts/{self.account_id}/envelopes/{envelope_id}",
                "retryCount": retry_count,
                "configurationId": 10001,
                "generatedDateTime": _stamp(generated or self.now()),
                "data": data,
            }
        return json.dumps(payload).encode()

    @staticmethod
    def sign_connect(body, secret):
        """The ``X-DocuSign-Signature-N`` value Connect sends for ``body`` with ``secret``."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    # --- internals ---
    def _check_jwt(self, assertion):
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, binascii.Error):
            return "invalid_request", "malformed assertion"
        if header.get("alg") != "RS256":
            return "invalid_grant", "unsupported algorithm"
        try:
            self.public_key.verify(
                signature,
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return "invalid_grant", "signature does not match"
        now = self.now().timestamp()
        expected_aud = f"127.0.0.1:{self.port}"
        if claims.get("iss") != self.integration_key:
            return "invalid_grant", "issuer_not_found"
        if claims.get("sub") != self.user_id:
            return "invalid_grant", "user_not_found"
        if claims.get("aud") != expected_aud:
            return "invalid_grant", "audience mismatch"
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            return "invalid_grant", "expired assertion"
        if not isinstance(claims.get("iat"), int) or claims["iat"] > now + 300:
            return "invalid_grant", "issued in the future"
        if "signature" not in str(claims.get("scope", "")).split():
            return "invalid_scope", "the signature scope is required"
        return None

    def _authorized(self, request):
        expires = self.issued_tokens.get(request.bearer)
        return expires is not None and self.now() < expires

    def _guard(self, request, account=True):
        if not self._authorized(request):
            return _error(
                401,
                "USER_AUTHENTICATION_FAILED",
                "One or both of Username and Password are invalid.",
            )
        if account and request.match.get("account_id") != self.account_id:
            return _error(400, "INVALID_ACCOUNT_ID", "Invalid account ID")
        return None

    def _envelope_or_error(self, request):
        envelope = self.envelopes.get(request.match["envelope_id"])
        if envelope is None:
            return None, _error(
                400,
                "ENVELOPE_DOES_NOT_EXIST",
                "The envelope specified either does not exist or you have no rights to it.",
            )
        return envelope, None

    def _route(self, envelope):
        """Invite the signers of the lowest routing order not yet done."""
        if envelope["status"] not in ("sent", "delivered"):
            return
        open_signers = [
            s for s in envelope["signers"] if s["status"] not in ("completed", "signed", "declined")
        ]
        if not open_signers:
            return
        lowest = min(int(s["routingOrder"]) for s in open_signers)
        now = self.now()
        for signer in open_signers:
            if int(signer["routingOrder"]) == lowest and signer["status"] == "created":
                signer["status"] = "sent"
                signer["sentDateTime"] = now

    def _new_envelope(self, data):
        now = self.now()
        envelope_id = str(uuid.uuid4())
        signers = []
        for item in (data.get("recipients") or {}).get("signers") or []:
            signers.append(
                {
                    **item,
                    "status": "created",
                    "recipientIdGuid": str(uuid.uuid4()),
                    "routingOrder": str(item.get("routingOrder") or "1"),
                }
            )
        envelope = {
            "envelopeId": envelope_id,
            "status": "created",
            "emailSubject": data.get("emailSubject", ""),
            "emailBlurb": data.get("emailBlurb", ""),
            "transactionId": data.get("transactionId"),
            "createdDateTime": now,
            "sentDateTime": None,
            "statusChangedDateTime": now,
            "lastModifiedDateTime": now,
            "completedDateTime": None,
            "declinedDateTime": None,
            "voidedDateTime": None,
            "voidedReason": "",
            "notification": data.get("notification"),
            "customFields": data.get("customFields"),
            "documents": [
                {
                    "documentId": str(d.get("documentId")),
                    "name": d.get("name"),
                    "pdf": base64.b64decode(d.get("documentBase64") or ""),
                }
                for d in data.get("documents") or []
            ],
            "signers": signers,
            "download": None,
            "seq": next(self._seq),
        }
        self.envelopes[envelope_id] = envelope
        if data.get("transactionId"):
            self.by_transaction[data["transactionId"]] = envelope_id
        if data.get("status") == "sent":
            envelope["status"] = "sent"
            envelope["sentDateTime"] = now
            self._route(envelope)
        return envelope

    def _view(self, envelope, *, include_recipients):
        view = {
            "envelopeId": envelope["envelopeId"],
            "status": envelope["status"],
            "emailSubject": envelope["emailSubject"],
            "createdDateTime": _stamp(envelope["createdDateTime"]),
            "statusChangedDateTime": _stamp(envelope["statusChangedDateTime"]),
            "lastModifiedDateTime": _stamp(envelope["lastModifiedDateTime"]),
            "envelopeUri": f"/envelopes/{envelope['envelopeId']}",
        }
        for name in ("sentDateTime", "completedDateTime", "declinedDateTime", "voidedDateTime"):
            if envelope[name]:
                view[name] = _stamp(envelope[name])
        if envelope["status"] == "voided":
            view["voidedReason"] = envelope["voidedReason"]
        if envelope["transactionId"]:
            view["transactionId"] = envelope["transactionId"]
        if include_recipients:
            view["recipients"] = self._recipients_view(envelope)
        return view

    @staticmethod
    def _recipients_view(envelope):
        signers = []
        for signer in envelope["signers"]:
            item = {k: v for k, v in signer.items() if k not in ("tabs",)}
            for key, value in list(item.items()):
                if isinstance(value, datetime):
                    item[key] = _stamp(value)
            signers.append(item)
        open_orders = [
            int(s["routingOrder"])
            for s in envelope["signers"]
            if s["status"] in ("sent", "delivered")
        ]
        return {
            "signers": signers,
            "recipientCount": str(len(signers)),
            "currentRoutingOrder": str(min(open_orders)) if open_orders else "",
        }

    @staticmethod
    def _validate(data):  # noqa: C901 - one check per documented rule of the API
        if data.get("status") not in ("sent", "created"):
            return "status must be sent or created"
        if not data.get("emailSubject") or len(data["emailSubject"]) > 100:
            return "emailSubject is required (100 characters at most)"
        documents = data.get("documents") or []
        if not documents:
            return "at least one document is required"
        document_ids = set()
        for document in documents:
            try:
                pdf = base64.b64decode(document.get("documentBase64") or "", validate=True)
            except (binascii.Error, ValueError):
                return "documentBase64 is not base64"
            if not pdf.startswith(b"%PDF-"):
                return "unable to load document"
            document_ids.add(str(document.get("documentId")))
        signers = (data.get("recipients") or {}).get("signers") or []
        if not signers:
            return "at least one signer is required"
        recipient_ids = set()
        for signer in signers:
            recipient_id = str(signer.get("recipientId") or "")
            if not recipient_id or recipient_id in recipient_ids:
                return "recipientId must be unique"
            recipient_ids.add(recipient_id)
            if not signer.get("name"):
                return "name is required"
            sms_only = signer.get("deliveryMethod") == "SMS" and signer.get("phoneNumber")
            if not signer.get("email") and not sms_only:
                return "email (or an SMS delivery with a phone number) is required"
            try:
                int(signer.get("routingOrder") or 1)
            except ValueError:
                return "routingOrder must be an integer"
            if (
                signer.get("smsAuthentication")
                and signer.get("idCheckConfigurationName") != "SMS Auth $"
            ):
                return "smsAuthentication needs idCheckConfigurationName SMS Auth $"
            for notification in signer.get("additionalNotifications") or []:
                phone = notification.get("phoneNumber") or {}
                split = (
                    str(phone.get("countryCode", "")).isdigit()
                    and str(phone.get("number", "")).isdigit()
                )
                if notification.get("secondaryDeliveryMethod") != "SMS" or not split:
                    return "additionalNotifications needs SMS and a split phone number"
            for kind, tabs in (signer.get("tabs") or {}).items():
                for tab in tabs:
                    if str(tab.get("documentId")) not in document_ids:
                        return f"{kind}: unknown documentId"
                    try:
                        if (
                            int(tab.get("pageNumber")) < 1
                            or float(tab.get("xPosition")) < 0
                            or float(tab.get("yPosition")) < 0
                        ):
                            return f"{kind}: bad position"
                    except (TypeError, ValueError):
                        return f"{kind}: bad position"
        return None

    # --- handlers ---
    def _token(self, request):
        form = request.form()
        if form.get("grant_type") != JWT_GRANT_TYPE:
            return json_response({"error": "unsupported_grant_type"}, 400)
        problem = self._check_jwt(form.get("assertion") or "")
        if problem:
            return json_response({"error": problem[0], "error_description": problem[1]}, 400)
        if self.consent_required:
            return json_response({"error": "consent_required"}, 400)
        with self.lock:
            token = secrets.token_urlsafe(32)
            self.issued_tokens[token] = self.now() + timedelta(seconds=self.token_ttl)
            self.tokens_issued += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}

    def _userinfo(self, request):
        denied = self._guard(request, account=False)
        if denied:
            return denied
        return {
            "sub": self.user_id,
            "name": "Fake User",
            "email": "fake.user@example.com",
            "accounts": [
                {
                    "account_id": self.account_id,
                    "is_default": True,
                    "account_name": self.account_name,
                    "base_uri": self.host_url,
                }
            ],
        }

    def _list(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        query = request.query
        if not (
            query.get("from_date") or query.get("envelope_ids") or query.get("transaction_ids")
        ):
            return _error(
                400,
                "INVALID_REQUEST_PARAMETER",
                "from_date, envelope_ids or transaction_ids is required",
            )
        include_recipients = (
            "recipients" in (query.get("include") or "").split(",") and self.recipients_in_listings
        )
        with self.lock:
            if query.get("transaction_ids"):
                ids = [self.by_transaction.get(t) for t in query["transaction_ids"].split(",")]
                found = [self.envelopes[i] for i in ids if i in self.envelopes]
            elif query.get("envelope_ids"):
                found = [
                    self.envelopes[i]
                    for i in query["envelope_ids"].split(",")
                    if i in self.envelopes
                ]
            else:
                since = _parse(query["from_date"])
                until = _parse(query["to_date"]) if query.get("to_date") else None
                found = [
                    e
                    for e in self.envelopes.values()
                    if e["statusChangedDateTime"] >= since
                    and (until is None or e["statusChangedDateTime"] <= until)
                ]
            if query.get("status") and query["status"] != "any":
                wanted = set(query["status"].split(","))
                found = [e for e in found if e["status"] in wanted]
            found.sort(
                key=lambda e: (e["statusChangedDateTime"], e["seq"]),
                reverse=query.get("order") == "desc",
            )
            views = [self._view(e, include_recipients=include_recipients) for e in found]
        answer = {
            "resultSetSize": str(len(views)),
            "totalSetSize": str(len(views)),
            "startPosition": "0",
            "endPosition": str(max(len(views) - 1, 0)),
        }
        if views:
            answer["envelopes"] = views
        return answer

    def _create(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        try:
            data = request.json() or {}
        except ValueError:
            return _error(400, "INVALID_REQUEST_BODY", "The request body is not JSON")
        problem = self._validate(data)
        if problem:
            return _error(400, "INVALID_REQUEST_BODY", problem)
        with self.lock:
            envelope = self._new_envelope(data)
            answer = {
                "envelopeId": envelope["envelopeId"],
                "status": envelope["status"],
                "statusDateTime": _stamp(envelope["statusChangedDateTime"]),
                "uri": f"/envelopes/{envelope['envelopeId']}",
            }
        return json_response(answer, 201)

    def _get(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        include = (request.query.get("include") or "").split(",")
        with self.lock:
            envelope, missing = self._envelope_or_error(request)
            return missing or self._view(envelope, include_recipients="recipients" in include)

    def _update(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        data = request.json() or {}
        with self.lock:
            envelope, missing = self._envelope_or_error(request)
            if missing:
                return missing
            if request.query.get("resend_envelope") == "true":
                self.resends.append((envelope["envelopeId"], None))
            if data.get("status") == "voided":
                if envelope["status"] in ("completed", "voided", "declined"):
                    return _error(
                        400,
                        "ENVELOPE_CANNOT_VOID_INVALID_STATE",
                        "Only envelopes in the 'Sent' or 'Delivered' states may be voided.",
                    )
                if not data.get("voidedReason"):
                    return _error(400, "INVALID_REQUEST_BODY", "voidedReason is required")
                self.set_status(envelope["envelopeId"], "voided", reason=data["voidedReason"])
            return {"envelopeId": envelope["envelopeId"]}

    def _get_recipients(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            envelope, missing = self._envelope_or_error(request)
            return missing or self._recipients_view(envelope)

    def _put_recipients(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        data = request.json() or {}
        with self.lock:
            envelope, missing = self._envelope_or_error(request)
            if missing:
                return missing
            known = {s["recipientId"]: s for s in envelope["signers"]}
            results = []
            for signer in data.get("signers") or []:
                recipient_id = str(signer.get("recipientId") or "")
                if recipient_id not in known:
                    results.append(
                        {
                            "recipientId": recipient_id,
                            "errorDetails": {
                                "errorCode": "INVALID_RECIPIENT_ID",
                                "message": "Unknown recipient",
                            },
                        }
                    )
                    continue
                for key in ("name", "email"):
                    if signer.get(key):
                        known[recipient_id][key] = signer[key]
                if request.query.get("resend_envelope") == "true":
                    self.resends.append((envelope["envelopeId"], recipient_id))
                results.append(
                    {
                        "recipientId": recipient_id,
                        "errorDetails": {"errorCode": "SUCCESS", "message": ""},
                    }
                )
        return {"recipientUpdateResults": results}

    def _document(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            envelope, missing = self._envelope_or_error(request)
            if missing:
                return missing
            document_id = request.match["document_id"]
            if envelope["download"] is not None and document_id == "combined":
                body, content_type = envelope["download"]
            elif document_id == "combined":
                body = b"".join(d["pdf"] for d in envelope["documents"][:1])
                if request.query.get("certificate", "true") != "false":
                    body += SIGNED_SUFFIX
                content_type = "application/pdf"
            else:
                document = next(
                    (d for d in envelope["documents"] if d["documentId"] == document_id), None
                )
                if document is None:
                    return _error(400, "DOCUMENT_DOES_NOT_EXIST", "Unknown document")
                body, content_type = document["pdf"], "application/pdf"
        return FakeResponse(200, body, {"Content-Type": content_type})
