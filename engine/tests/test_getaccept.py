"""GetAccept client against the fake GetAccept server (real HTTP over 127.0.0.1)."""

import base64
import json
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest

from engine.errors import ProviderAuthError, ProviderRejected, ProviderUnavailable, WebhookRejected
from engine.http import make_session
from engine.providers import Envelope, FieldPlacement, GetAcceptClient, Recipient, TokenCache
from engine.providers import base as providers_base
from engine.testing import bombs
from engine.testing.fake_getaccept import FakeGetAccept

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOKEN = "ga-api-token-0123456789"
EMAIL, PASSWORD = "admin@example.com", "pa55-w0rd-very-secret"


def envelope(reference="SO001-1", fields=(), **kwargs):
    recipients = kwargs.pop(
        "recipients",
        (
            Recipient(
                key="p1",
                name="Jane Doe",
                email="jane@example.com",
                mobile="+46701234567",
                order=1,
                role="Customer",
                channel="email",
                otp_channel="sms",
            ),
            Recipient(
                key="p2",
                name="Bob Roe",
                email="",
                mobile="+33612345678",
                order=2,
                role="Cosigner",
                channel="sms",
                otp_channel="none",
            ),
        ),
    )
    return Envelope(
        reference=reference,
        name="Quotation SO001",
        pdf=PDF,
        filename="SO001.pdf",
        recipients=recipients,
        fields=fields,
        expires_at=kwargs.pop("expires_at", None),
        message=kwargs.pop("message", ""),
    )


@pytest.fixture
def fake():
    with FakeGetAccept(api_tokens=(TOKEN,), users={EMAIL: PASSWORD}) as server:
        yield server


@pytest.fixture
def client(fake):
    return GetAcceptClient(
        {"api_token": TOKEN},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True, backoff=0.01),
        timeout=(2, 2),
        token_cache=TokenCache(),
    )


def test_features_and_default_url():
    client = GetAcceptClient({"api_token": "x"})
    assert client.base_url == "https://api.getaccept.com/v1"
    assert client.features == {
        "sms",
        "otp",
        "signing_order",
        "webhook",
        "status_polling",
        "reminder_api",
    }
    assert "x" not in repr(client)


def test_test_connection(client):
    assert client.test_connection() == "Fake Entity"


def test_send_without_fields_is_one_call(fake, client):
    expires = datetime(2031, 5, 1, 12, 0, tzinfo=timezone.utc)
    created = client.create_envelope(envelope(expires_at=expires, message="Hello"))
    assert fake.total_calls == 1
    document = fake.document(created.provider_reference)
    assert document["status"] == "sent"
    assert document["external_id"] == "SO001-1"
    assert document["pdf"] == PDF
    assert document["expiration_date"] == "2031-05-01T12:00:00Z"
    assert document["flags"]["is_automatic_sending"] is True
    assert document["flags"]["is_sms_sending"] is True
    jane, bob = document["recipients"]
    assert (jane["email"], jane["mobile"], jane["order_num"]) == (
        "jane@example.com",
        "+46701234567",
        1,
    )
    assert jane["verify_sms"] and jane["verify_sms_sign"]
    assert (bob["email"], bob["mobile"], bob["order_num"]) == ("", "+33612345678", 2)
    assert not bob["verify_sms"]
    assert created.recipient_ids == {"p1": jane["id"], "p2": bob["id"]}
    assert created.status.status == "sent"
    assert [(r.key, r.status) for r in created.status.recipients] == [
        ("p1", "sent"),
        ("p2", "waiting"),
    ]
    body = fake.requests[-1].json
    assert base64.b64decode(body["file_content"]) == PDF
    assert body["is_signing"] is True


def test_send_with_fields_places_them_in_points_then_sends(fake, client):
    fields = (
        FieldPlacement("p1", 1, 72.0, 700.5, 222.0, 740.0, "signature", True),
        FieldPlacement("p2", 2, 300, 100, 400, 120, "date", False),
        FieldPlacement("p2", 2, 300, 150, 310, 160, "checkbox", True),
    )
    created = client.create_envelope(envelope(fields=fields))
    assert fake.call_count("POST", "/fields") == 3
    assert fake.call_count("POST", "/send") == 1
    document = fake.document(created.provider_reference)
    assert document["status"] == "sent"
    first, second, third = document["fields"]
    assert first["recipient_id"] == created.recipient_ids["p1"]
    assert (
        first["page_num"],
        first["field_left"],
        first["field_top"],
        first["field_width"],
        first["field_height"],
        first["field_type"],
        first["is_required"],
    ) == (1, 72.0, 700.5, 150.0, 39.5, "signature", True)
    assert (second["field_type"], second["is_required"], second["page_num"]) == ("text", False, 2)
    assert third["field_type"] == "check"
    assert created.status.status == "sent"


def test_failed_field_step_deletes_the_draft(fake, client):
    fake.fail_next(
        1,
        status=400,
        path="/fields",
        body={"status": 400, "error": "Invalid data", "description": "bad field"},
    )
    with pytest.raises(ProviderRejected):
        client.create_envelope(envelope(fields=(FieldPlacement("p1", 1, 1, 1, 50, 20),)))
    assert fake.documents == {}
    assert len(fake.deleted) == 1


def test_timed_out_create_is_found_again_with_check_existing(fake, client):
    fake.delay_next(1, seconds=1.0, method="POST", path="/documents")
    slow = GetAcceptClient(
        {"api_token": TOKEN},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True),
        timeout=(1, 0.3),
    )
    with pytest.raises(ProviderUnavailable) as info:
        slow.create_envelope(envelope())
    assert info.value.code == "provider_timeout"
    assert fake.call_count("POST", "/v1/documents") == 1  # a POST is never retried
    deadline = time.monotonic() + 3
    while not fake.documents and time.monotonic() < deadline:
        time.sleep(0.05)
    created = client.create_envelope(envelope(), check_existing=True)
    assert len(fake.documents) == 1
    assert created.provider_reference in fake.documents
    assert set(created.recipient_ids) == {"p1", "p2"}


def test_check_existing_replaces_a_stray_draft(fake, client):
    fake.fail_next(1, status=500, path="/send")
    with pytest.raises(ProviderUnavailable):
        client.create_envelope(envelope(fields=(FieldPlacement("p1", 1, 1, 1, 50, 20),)))
    # the draft was deleted already; simulate one left behind by a crash
    fake._new_document(
        name="x",
        external_id="SO001-1",
        pdf=PDF,
        recipients=[{"fullname": "J", "email": "jane@example.com"}],
        expiration=None,
    )
    created = client.create_envelope(envelope(), check_existing=True)
    assert [d["status"] for d in fake.documents.values()] == ["sent"]
    assert created.provider_reference in fake.documents


def test_check_existing_creates_when_nothing_found(fake, client):
    created = client.create_envelope(envelope(), check_existing=True)
    assert fake.call_count("GET", "/documents/external/") == 1
    assert created.provider_reference in fake.documents


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("draft", "draft"),
        ("sent", "sent"),
        ("viewed", "viewed"),
        ("reviewed", "viewed"),
        ("signed", "signed"),
        ("rejected", "rejected"),
        ("recalled", "cancelled"),
        ("expired", "expired"),
        ("something_new", "sent"),
    ],
)
def test_document_status_mapping(fake, client, raw, expected):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, raw)
    status = client.get_status(created.provider_reference)
    assert (status.status, status.raw_status) == (expected, raw)
    assert status.provider_reference == created.provider_reference


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("draft", "waiting"),
        ("sent", "sent"),
        ("viewed", "viewed"),
        ("reviewed", "viewed"),
        ("signed", "signed"),
        ("rejected", "rejected"),
        ("expired", "expired"),
        ("recalled", "expired"),
        ("", "waiting"),
    ],
)
def test_recipient_status_mapping(fake, client, raw, expected):
    created = client.create_envelope(envelope())
    fake.set_recipient_status(created.provider_reference, created.recipient_ids["p2"], raw)
    status = client.get_status(created.provider_reference)
    by_id = {r.provider_id: r for r in status.recipients}
    assert by_id[created.recipient_ids["p2"]].status == expected


def test_signed_status_has_times(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "signed")
    status = client.get_status(created.provider_reference)
    assert status.is_final
    assert status.changed_at and status.changed_at.tzinfo is not None
    assert all(r.status == "signed" and r.at for r in status.recipients)


def test_a_document_answer_without_recipients_gets_them_with_their_signing_times(fake, client):
    created = client.create_envelope(envelope())
    signed_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    fake.clock = lambda: signed_at
    fake.set_status(
        created.provider_reference, "signed", recipients={created.recipient_ids["p2"]: "viewed"}
    )
    fake.clock = lambda: datetime.now(timezone.utc)
    fake.omit_recipients = True
    fake.reset_calls()
    status = client.get_status(created.provider_reference)
    assert fake.call_count("GET", "/recipients") == 1
    by_key = {r.provider_id: r for r in status.recipients}
    assert by_key[created.recipient_ids["p1"]].status == "signed"
    assert by_key[created.recipient_ids["p1"]].at == signed_at
    assert by_key[created.recipient_ids["p2"]].status == "viewed"
    assert {r.provider_id: r.status for r in client.get_recipients(created.provider_reference)} == {
        r.provider_id: r.status for r in status.recipients
    }


def test_expired_document_expires_pending_recipients(fake, client):
    created = client.create_envelope(envelope())
    fake.set_recipient_status(created.provider_reference, created.recipient_ids["p1"], "signed")
    fake.set_status(created.provider_reference, "expired")
    status = client.get_status(created.provider_reference)
    assert status.status == "expired"
    assert sorted(r.status for r in status.recipients) == ["expired", "signed"]


def test_unknown_document_is_not_found(client):
    with pytest.raises(ProviderRejected) as info:
        client.get_status("nope")
    assert info.value.code == "provider_not_found"


def test_download_signed(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "signed")
    pdf = client.download_signed(created.provider_reference)
    assert pdf.startswith(b"%PDF-") and pdf.startswith(PDF)


def test_download_refuses_a_non_pdf(fake, client):
    created = client.create_envelope(envelope())
    fake.set_download(created.provider_reference, b"<html>login</html>", "text/html")
    with pytest.raises(ProviderRejected) as info:
        client.download_signed(created.provider_reference)
    assert info.value.code == "provider_bad_response"


def test_download_refuses_a_decompression_bomb(fake, client):
    """The signed PDF goes to pyHanko for the seal next: a file that inflates to a gigabyte
    is refused before."""
    created = client.create_envelope(envelope())
    fake.set_download(created.provider_reference, bombs.xref_stream_bomb(1 << 30))
    with pytest.raises(ProviderRejected) as info:
        client.download_signed(created.provider_reference)
    assert info.value.code == "provider_bad_response"
    assert info.value.params["reason"] == "pdf_bomb"


def test_download_is_capped(fake, client, monkeypatch):
    monkeypatch.setattr(providers_base, "MAX_SIGNED_PDF_BYTES", 1000)
    created = client.create_envelope(envelope())
    fake.set_download(created.provider_reference, b"%PDF-1.4\n" + b"0" * 5000)
    with pytest.raises(ProviderRejected) as info:
        client.download_signed(created.provider_reference)
    assert info.value.code == "provider_bad_response"


def test_get_is_retried_after_429(fake, client):
    created = client.create_envelope(envelope())
    fake.reset_calls()
    fake.rate_limit_next(1, retry_after=1, method="GET")
    assert client.get_status(created.provider_reference).status == "sent"
    assert fake.call_count("GET") == 2


def test_create_is_not_retried_after_429(fake, client):
    fake.rate_limit_next(1, retry_after=1, method="POST")
    with pytest.raises(ProviderUnavailable) as info:
        client.create_envelope(envelope())
    assert info.value.code == "provider_rate_limited"
    assert info.value.retry_after == 1
    assert fake.call_count("POST") == 1
    assert fake.documents == {}


def test_server_errors(fake, client):
    fake.fail_next(1, status=500, method="POST")
    with pytest.raises(ProviderUnavailable) as info:
        client.create_envelope(envelope())
    assert info.value.code == "provider_server_error"
    assert info.value.retryable


def test_timeout_on_status(fake, client):
    created = client.create_envelope(envelope())
    fake.delay_next(1, seconds=1.0, method="GET")
    client.timeout = (1, 0.3)
    with pytest.raises(ProviderUnavailable) as info:
        client.get_status(created.provider_reference)
    assert info.value.code == "provider_timeout"


def test_malformed_json(fake, client):
    created = client.create_envelope(envelope())
    fake.malformed_next(1, method="GET")
    with pytest.raises(ProviderRejected) as info:
        client.get_status(created.provider_reference)
    assert info.value.code == "provider_bad_response"


def test_wrong_api_token(fake):
    client = GetAcceptClient(
        {"api_token": "wrong"}, base_url=fake.base_url, session=make_session(allow_loopback=True)
    )
    with pytest.raises(ProviderAuthError):
        client.test_connection()


def test_no_credentials():
    with pytest.raises(ProviderAuthError):
        GetAcceptClient({}, session=make_session()).test_connection()


def test_password_login_token_is_cached_and_renewed(fake):
    cache = TokenCache()

    def make():
        return GetAcceptClient(
            {"email": EMAIL, "password": PASSWORD},
            base_url=fake.base_url,
            session=make_session(allow_loopback=True),
            token_cache=cache,
        )

    make().test_connection()
    make().test_connection()
    assert fake.tokens_issued == 1
    fake.revoke_tokens()
    assert make().test_connection() == "Fake Entity"  # 401 -> new token -> retried once
    assert fake.tokens_issued == 2
    assert fake.call_count("POST", "/auth") == 2


def test_password_login_expiry_uses_the_clock(fake):
    now = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
    fake.clock = lambda: now[0]
    client = GetAcceptClient(
        {"email": EMAIL, "password": PASSWORD},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True),
        token_cache=TokenCache(),
        clock=lambda: now[0],
    )
    client.test_connection()
    now[0] += timedelta(seconds=3000)
    client.test_connection()
    assert fake.tokens_issued == 1
    now[0] += timedelta(seconds=600)  # within the renewal margin
    client.test_connection()
    assert fake.tokens_issued == 2


def test_wrong_password(fake):
    client = GetAcceptClient(
        {"email": EMAIL, "password": "nope"},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True),
        token_cache=TokenCache(),
    )
    with pytest.raises(ProviderAuthError):
        client.test_connection()


def test_list_changes_is_not_available(client):
    with pytest.raises(NotImplementedError):
        client.list_changes(datetime.now(timezone.utc))


def test_cancel_deletes_a_live_document(fake, client):
    created = client.create_envelope(envelope())
    client.cancel(created.provider_reference, "customer changed their mind")
    assert created.provider_reference in fake.deleted


def test_cancel_refuses_a_signed_document(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "signed")
    with pytest.raises(ProviderRejected) as info:
        client.cancel(created.provider_reference, "too late")
    assert info.value.params["state"] == "signed"
    assert created.provider_reference in fake.documents


def test_cancel_of_a_finished_document_is_a_no_op(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "expired")
    client.cancel(created.provider_reference, "")
    assert fake.call_count("DELETE") == 0


def test_reminder(fake, client):
    created = client.create_envelope(envelope())
    client.send_reminder(created.provider_reference, message="Please sign", channel="sms")
    assert fake.reminders == [
        (created.provider_reference, {"type": "sms", "text": "Please sign", "not_signed": True})
    ]


def test_invalid_envelopes_are_caller_bugs(client):
    with pytest.raises(ValueError):
        client.create_envelope(
            envelope(
                recipients=(Recipient(key="p1", name="X", email="x@example.com", channel="sms"),)
            )
        )
    with pytest.raises(ValueError):
        client.create_envelope(envelope(fields=(FieldPlacement("ghost", 1, 0, 0, 10, 10),)))
    with pytest.raises(ValueError):
        client.create_envelope(
            Envelope(
                "r",
                "n",
                b"not pdf",
                "f.pdf",
                (Recipient(key="p1", name="X", email="x@example.com"),),
            )
        )


# --- webhooks ---------------------------------------------------------------------------
def test_webhook_without_secret_is_refused(fake, client):
    created = client.create_envelope(envelope())
    body = fake.webhook_body(created.provider_reference)
    for secrets in ((), [""], None):
        with pytest.raises(WebhookRejected) as info:
            client.parse_webhook({}, body, secrets, params={"token": "anything"})
        assert info.value.code == "webhook_no_secret"


def test_webhook_token_checks(fake, client):
    created = client.create_envelope(envelope())
    body = fake.webhook_body(created.provider_reference, "document.signed")
    secret = "whk-secret-1234567890"
    event = client.parse_webhook({}, body, [secret], params={"token": secret})
    assert event.provider_reference == created.provider_reference
    assert event.event == "document.signed"
    assert event.raw_status == "sent"
    for params in (
        {},
        {"token": ""},
        {"token": "whk-secret-1234567891"},
        None,
        {"token": secret[:-1]},
    ):
        with pytest.raises(WebhookRejected) as info:
            client.parse_webhook({}, body, [secret], params=params)
        assert info.value.code == "webhook_bad_signature"


def test_webhook_key_rotation(fake, client):
    created = client.create_envelope(envelope())
    body = fake.webhook_body(created.provider_reference)
    for token in ("old-secret", "new-secret"):
        event = client.parse_webhook(
            {}, body, ["old-secret", "new-secret"], params={"token": token}
        )
        assert event.provider_reference == created.provider_reference


def test_webhook_duplicates_share_an_event_id(fake, client):
    created = client.create_envelope(envelope())
    signed = fake.webhook_body(created.provider_reference, "document.signed")
    viewed = fake.webhook_body(
        created.provider_reference, "document.viewed", recipient_id=created.recipient_ids["p1"]
    )
    params = {"token": "s"}
    first = client.parse_webhook({}, signed, ["s"], params=params)
    again = client.parse_webhook({}, signed, ["s"], params=params)
    other = client.parse_webhook({}, viewed, ["s"], params=params)
    assert first.event_id == again.event_id
    assert first.event_id != other.event_id


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"document": {}}', b""])
def test_malformed_webhook(client, body):
    with pytest.raises(WebhookRejected) as info:
        client.parse_webhook({}, body, ["s"], params={"token": "s"})
    assert info.value.code == "webhook_malformed"


# --- logging ----------------------------------------------------------------------------
def test_credentials_never_logged(fake, caplog):
    caplog.set_level(logging.DEBUG)
    client = GetAcceptClient(
        {"email": EMAIL, "password": PASSWORD},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True),
        token_cache=TokenCache(),
    )
    created = client.create_envelope(envelope(fields=(FieldPlacement("p1", 1, 1, 1, 50, 20),)))
    client.get_status(created.provider_reference)
    client.send_reminder(created.provider_reference, message="x")
    fake.revoke_tokens()
    client.get_status(created.provider_reference)
    with pytest.raises(WebhookRejected):
        client.parse_webhook({}, b"{}", ["hook-secret-xyz"], params={"token": "bad"})
    tokens = list(fake.issued_tokens)
    assert tokens
    text = caplog.text
    assert created.provider_reference in text  # ids are logged
    for secret in [PASSWORD, "hook-secret-xyz", "+46701234567", "+33612345678"] + tokens:
        assert secret not in text


def test_webhook_only_hints_at_a_change(fake, client):
    # GetAccept signs nothing: its status is always fetched through the API.
    body = json.dumps(
        {"event": "document.signed", "document": {"id": "d-1", "status": "signed"}}
    ).encode()
    event = client.parse_webhook({}, body, ["s"], params={"token": "s"})
    assert event.raw_status == "signed"
    assert client.webhook_status(event) is None
    assert client.min_status_poll_seconds == 0


def test_webhook_token_in_basic_auth(fake, client):
    created = client.create_envelope(envelope())
    body = fake.webhook_body(created.provider_reference)
    good = "Basic " + base64.b64encode(b"hook:basic-secret").decode()
    bad = "Basic " + base64.b64encode(b"hook:basic-secreT").decode()
    event = client.parse_webhook({"Authorization": good}, body, ["basic-secret"])
    assert event.provider_reference == created.provider_reference
    for header in (bad, "Basic !!!", "Bearer basic-secret"):
        with pytest.raises(WebhookRejected) as info:
            client.parse_webhook({"Authorization": header}, body, ["basic-secret"])
        assert info.value.code == "webhook_bad_signature"


def test_references_with_reserved_characters(fake, client):
    created = client.create_envelope(envelope(reference="SO/001 #1?x"))
    assert fake.document(created.provider_reference)["external_id"] == "SO/001 #1?x"
    again = client.create_envelope(envelope(reference="SO/001 #1?x"), check_existing=True)
    assert again.provider_reference == created.provider_reference


def test_document_url_opens_the_document_in_getaccept():
    from engine.providers import GetAcceptClient

    assert (
        GetAcceptClient.document_url("a1b2c3") == "https://app.getaccept.com/document/view/a1b2c3"
    )
    # the reference is one path segment, whatever it holds
    assert GetAcceptClient.document_url("../x?y#z").endswith("/document/view/..%2Fx%3Fy%23z")
    assert GetAcceptClient.document_url("") == ""
