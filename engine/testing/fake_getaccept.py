"""A fake GetAccept API (v1) on 127.0.0.1, written from the public OpenAPI description.

Tests and benchmarks only. Documents live in memory (thousands are fine)::

    with FakeGetAccept(api_tokens=("tok",)) as fake:
        client = GetAcceptClient({"api_token": "tok"}, base_url=fake.base_url,
                                 session=make_session(allow_loopback=True))
        created = client.create_envelope(envelope)
        fake.set_status(created.provider_reference, "signed")     # any GetAccept status
        fake.set_recipient_status(doc_id, recipient_id, "viewed")
        fake.set_download(doc_id, b"not a pdf")                   # what /download returns
        fake.omit_recipients = True                               # GET /documents/{id} without
                                                                  # its recipients
        fake.webhook_body(doc_id, "document.signed")              # a webhook payload (bytes)

Users for ``POST /auth``: ``users={"me@example.com": "password"}``; ``revoke_tokens()``
invalidates every issued token (the next call answers 401). Fault injection and call
counting come from :class:`~.fakeserver.FakeServer`.
"""

import base64
import binascii
import itertools
import json
import secrets
from datetime import timedelta

from .fakeserver import FakeResponse, FakeServer, empty_response, json_response

DOCUMENT_STATUSES = (
    "draft",
    "sent",
    "viewed",
    "reviewed",
    "signed",
    "rejected",
    "recalled",
    "expired",
)
SIGNED_SUFFIX = b"\n% signed by the fake GetAccept\n"


def _error(status, error, description):
    return json_response({"status": status, "error": error, "description": description}, status)


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00") if value else ""


class FakeGetAccept(FakeServer):
    prefix = "/v1"

    def __init__(
        self,
        *,
        api_tokens=("test-api-token",),
        users=None,
        token_ttl=3600,
        entity_name="Fake Entity",
        clock=None,
    ):
        super().__init__(clock=clock)
        self.api_tokens = set(api_tokens or ())
        self.users = dict(users or {})
        self.token_ttl = token_ttl
        self.entity_name = entity_name
        self.documents = {}
        self.by_external = {}
        self.issued_tokens = {}
        self.tokens_issued = 0
        self.reminders = []
        self.deleted = set()
        self.omit_recipients = False
        self._ids = itertools.count(1)
        p = self.prefix
        for method, template, handler in (
            ("POST", "/auth", self._auth),
            ("GET", "/test", self._test),
            ("GET", "/users/{user_id}", self._user),
            ("GET", "/documents", self._list),
            ("POST", "/documents", self._create),
            ("GET", "/documents/external/{external_id}", self._by_external),
            ("GET", "/documents/{id}", self._get),
            ("DELETE", "/documents/{id}", self._delete),
            ("GET", "/documents/{id}/recipients", self._recipients),
            ("GET", "/documents/{id}/fields", self._fields),
            ("POST", "/documents/{id}/fields", self._add_field),
            ("POST", "/documents/{id}/send", self._send),
            ("POST", "/documents/{id}/reminders", self._remind),
            ("GET", "/documents/{id}/download", self._download),
        ):
            self.add_route(method, p + template, handler)

    # --- control API ---
    def new_id(self, prefix="d"):
        return f"{prefix}{next(self._ids):06d}{secrets.token_hex(3)}"

    def document(self, document_id):
        with self.lock:
            return self.documents.get(document_id)

    def find_by_external(self, external_id):
        with self.lock:
            return self.documents.get(self.by_external.get(external_id))

    def set_status(self, document_id, status, *, recipients=None):
        """Set a document's status; recipients follow (signed: all signed; viewed/reviewed:
        the invited ones viewed; rejected: the first pending one rejected; expired: the
        pending ones expired; recalled: the pending ones recalled). ``recipients`` may map
        recipient id -> status to set them explicitly."""
        with self.lock:
            document = self.documents[document_id]
            document["status"] = status
            now = self.now()
            pending = [r for r in document["recipients"] if r["status"] not in ("signed",)]
            if status == "sent":
                document["send_date"] = document["send_date"] or now
                self._invite_next(document)
            elif status in ("viewed", "reviewed"):
                for r in pending:
                    if r["status"] == "sent":
                        r["status"] = status
            elif status == "signed":
                document["sign_date"] = now
                document["is_signed"] = True
                for r in document["recipients"]:
                    if r["status"] != "signed":
                        r["status"] = "signed"
                        r["signed_at"] = now
            elif status == "rejected" and pending:
                pending[0]["status"] = "rejected"
            elif status in ("expired", "recalled"):
                for r in pending:
                    r["status"] = status
            for recipient_id, value in (recipients or {}).items():
                self._recipient(document, recipient_id)["status"] = value
            document["updated_at"] = now

    def set_recipient_status(self, document_id, recipient_id, status):
        with self.lock:
            document = self.documents[document_id]
            recipient = self._recipient(document, recipient_id)
            recipient["status"] = status
            if status == "signed":
                recipient["signed_at"] = self.now()
                self._invite_next(document)

    def set_download(self, document_id, body, content_type="application/pdf"):
        with self.lock:
            self.documents[document_id]["download"] = (body, content_type)

    def revoke_tokens(self):
        with self.lock:
            self.issued_tokens.clear()

    def seed_documents(self, count, *, status="sent", recipients=1):
        """Create ``count`` documents directly (no HTTP), for benchmarks; return their ids."""
        ids = []
        with self.lock:
            for n in range(count):
                document = self._new_document(
                    name=f"Seed {n}",
                    external_id=f"seed-{n}-{secrets.token_hex(4)}",
                    pdf=b"%PDF-1.4\n%seed\n",
                    recipients=[
                        {
                            "fullname": f"Signer {i}",
                            "email": f"s{i}.{n}@example.com",
                            "order_num": 1,
                        }
                        for i in range(recipients)
                    ],
                    expiration=None,
                )
                self.set_status(document["id"], status)
                ids.append(document["id"])
        return ids

    def webhook_body(self, document_id, event="document.signed", recipient_id=None):
        """A webhook payload as GetAccept posts it (schema ``Webhook``), as bytes."""
        with self.lock:
            document = self.documents[document_id]
            payload = {
                "event": event,
                "event_action": event.split(".")[-1],
                "subscription_id": "sub-1",
                "document": self._view(document, with_recipients=False),
            }
            if recipient_id:
                payload["recipient"] = self._recipient_view(self._recipient(document, recipient_id))
        return json.dumps(payload).encode()

    # --- internals ---
    def _authorized(self, request):
        token = request.bearer
        if not token:
            return False
        if token in self.api_tokens:
            return True
        expires = self.issued_tokens.get(token)
        return expires is not None and self.now() < expires

    def _guard(self, request):
        if not self._authorized(request):
            return _error(401, "Unauthorized", "Invalid or expired access token")
        return None

    def _document_or_404(self, request):
        document = self.documents.get(request.match["id"])
        if document is None:
            return None, _error(404, "Not found", "The document was not found")
        return document, None

    @staticmethod
    def _recipient(document, recipient_id):
        for recipient in document["recipients"]:
            if recipient["id"] == recipient_id:
                return recipient
        raise KeyError(recipient_id)

    def _new_document(self, *, name, external_id, pdf, recipients, expiration, message=""):
        document = {
            "id": self.new_id("d"),
            "name": name,
            "external_id": external_id or "",
            "status": "draft",
            "created_at": self.now(),
            "send_date": None,
            "sign_date": None,
            "updated_at": self.now(),
            "expiration_date": expiration or "",
            "email_send_message": message,
            "is_signed": False,
            "pdf": pdf,
            "download": None,
            "fields": [],
            "recipients": [],
            "flags": {},
        }
        for item in recipients:
            document["recipients"].append(
                {
                    "id": self.new_id("r"),
                    "fullname": item.get("fullname")
                    or " ".join(x for x in (item.get("first_name"), item.get("last_name")) if x),
                    "email": item.get("email") or "",
                    "mobile": item.get("mobile") or "",
                    "order_num": int(item.get("order_num") or 1),
                    "role": item.get("role") or "signer",
                    "verify_sms": bool(item.get("verify_sms")),
                    "verify_sms_sign": bool(item.get("verify_sms_sign")),
                    "status": "draft",
                    "signed_at": None,
                }
            )
        self.documents[document["id"]] = document
        if external_id:
            self.by_external[external_id] = document["id"]
        return document

    @staticmethod
    def _invite_next(document):
        pending = [r for r in document["recipients"] if r["status"] == "draft"]
        if not pending or document["status"] in (
            "draft",
            "signed",
            "rejected",
            "expired",
            "recalled",
        ):
            return
        unsigned = [r for r in document["recipients"] if r["status"] not in ("signed",)]
        lowest = min(r["order_num"] for r in unsigned)
        for recipient in pending:
            if recipient["order_num"] == lowest:
                recipient["status"] = "sent"

    @staticmethod
    def _recipient_view(recipient):
        first, _, last = recipient["fullname"].partition(" ")
        view = {
            "id": recipient["id"],
            "fullname": recipient["fullname"],
            "first_name": first,
            "last_name": last,
            "email": recipient["email"],
            "mobile": recipient["mobile"],
            "status": recipient["status"],
            "order_num": str(recipient["order_num"]),
            "role": recipient["role"],
            "document_url": f"https://fake.getaccept.invalid/v/{recipient['id']}",
        }
        if recipient["signed_at"]:
            view["signing_methods"] = [
                {"type": "signature", "signed_at": _iso(recipient["signed_at"])}
            ]
        return view

    def _view(self, document, *, with_recipients=True):
        view = {
            "id": document["id"],
            "name": document["name"],
            "external_id": document["external_id"],
            "status": document["status"],
            "created_at": _iso(document["created_at"]),
            "send_date": _iso(document["send_date"]),
            "sign_date": _iso(document["sign_date"]),
            "expiration_date": document["expiration_date"],
            "is_signed": document["is_signed"],
            "is_signing": True,
            "field_count": len(document["fields"]),
            "type": "sales",
        }
        if with_recipients:
            view["recipients"] = [self._recipient_view(r) for r in document["recipients"]]
        return view

    # --- handlers ---
    def _auth(self, request):
        data = request.json() or {}
        email, password = data.get("email"), data.get("password")
        with self.lock:
            if not email or self.users.get(email) != password:
                return _error(400, "Invalid data", "Wrong email or password")
            token = secrets.token_urlsafe(24)
            self.issued_tokens[token] = self.now() + timedelta(seconds=self.token_ttl)
            self.tokens_issued += 1
        return {"access_token": token, "expires_in": self.token_ttl}

    def _test(self, request):
        return self._guard(request) or {"user_id": "u000001", "entity_id": "e000001"}

    def _user(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        return {
            "user": {
                "id": "u000001",
                "first_name": "Fake",
                "last_name": "Admin",
                "email": "admin@example.com",
                "entity_id": "e000001",
                "entity_name": self.entity_name,
                "role": "admin",
                "status": "active",
            }
        }

    def _list(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            documents = list(self.documents.values())
            if request.query.get("external_id"):
                documents = [
                    d for d in documents if d["external_id"] == request.query["external_id"]
                ]
            if request.query.get("filter"):
                documents = [d for d in documents if d["status"] == request.query["filter"]]
            offset = int(float(request.query.get("offset") or 0))
            limit = int(float(request.query.get("limit") or 100))
            return [
                self._view(d, with_recipients=False) for d in documents[offset : offset + limit]
            ]

    def _create(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        data = request.json() or {}
        if not data.get("name"):
            return _error(400, "Invalid data", "name is required")
        try:
            pdf = base64.b64decode(data.get("file_content") or "", validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "Invalid data", "file_content is not base64")
        if not pdf.startswith(b"%PDF-"):
            return _error(400, "Invalid data", "The file is not a PDF document")
        recipients = data.get("recipients") or []
        if not recipients or any(not (r.get("email") or r.get("mobile")) for r in recipients):
            return _error(
                400,
                "Invalid data",
                "All recipients must have either a valid e-mail or a mobile number",
            )
        with self.lock:
            document = self._new_document(
                name=data["name"],
                external_id=data.get("external_id"),
                pdf=pdf,
                recipients=recipients,
                expiration=data.get("expiration_date"),
                message=data.get("email_send_message") or "",
            )
            document["flags"] = {
                k: data.get(k)
                for k in (
                    "is_automatic_sending",
                    "is_sms_sending",
                    "is_signing",
                    "is_reminder_sending",
                )
            }
            if data.get("is_automatic_sending"):
                document["status"] = "sent"
                document["send_date"] = self.now()
                self._invite_next(document)
            return self._view(document)

    def _by_external(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document = self.documents.get(self.by_external.get(request.match["external_id"]))
            if document is None:
                return _error(404, "Not found", "The document was not found")
            return self._view(document)

    def _get(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            return missing or self._view(document, with_recipients=not self.omit_recipients)

    def _delete(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            if missing:
                return missing
            del self.documents[document["id"]]
            self.by_external.pop(document["external_id"], None)
            self.deleted.add(document["id"])
        return empty_response(204)

    def _recipients(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            return missing or {
                "recipients": [self._recipient_view(r) for r in document["recipients"]]
            }

    def _fields(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            return missing or {"fields": list(document["fields"])}

    def _add_field(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        data = request.json() or {}
        with self.lock:
            document, missing = self._document_or_404(request)
            if missing:
                return missing
            if document["status"] != "draft":
                return _error(400, "Invalid data", "Fields can only be added to drafts")
            if data.get("recipient_id") not in {r["id"] for r in document["recipients"]}:
                return _error(400, "Invalid data", "Unknown recipient")
            if data.get("field_type") not in (
                "text",
                "merge",
                "check",
                "signature",
                "initials",
                "formatted",
            ):
                return _error(400, "Invalid data", "Unknown field type")
            if int(data.get("page_num") or 0) < 1:
                return _error(400, "Invalid data", "Invalid page")
            field = {**data, "field_id": self.new_id("f")}
            document["fields"].append(field)
            return {"field_id": field["field_id"]}

    def _send(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            if missing:
                return missing
            if document["status"] != "draft":
                return _error(400, "Invalid data", "Only drafts can be sent")
            document["status"] = "sent"
            document["send_date"] = self.now()
            self._invite_next(document)
            return self._view(document)

    def _remind(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        data = request.json() or {}
        with self.lock:
            document, missing = self._document_or_404(request)
            if missing:
                return missing
            if data.get("type") not in ("email", "sms", "video") or "text" not in data:
                return _error(400, "Invalid data", "type and text are required")
            self.reminders.append((document["id"], data))
        return FakeResponse(200, b"", {})

    def _download(self, request):
        denied = self._guard(request)
        if denied:
            return denied
        with self.lock:
            document, missing = self._document_or_404(request)
            if missing:
                return missing
            if document["download"] is not None:
                body, content_type = document["download"]
            else:
                body, content_type = document["pdf"] + SIGNED_SUFFIX, "application/pdf"
        if request.query.get("direct", "true") == "true":
            return FakeResponse(
                200,
                body,
                {
                    "Content-Type": content_type,
                    "Content-Disposition": 'attachment; filename="download.pdf"',
                },
            )
        return {
            "document_url": f"{self.host_url}/files/{document['id']}.pdf",
            "file": "download.pdf",
        }
