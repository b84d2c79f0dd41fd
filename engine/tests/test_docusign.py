"""DocuSign client against the fake DocuSign server (real HTTP over 127.0.0.1)."""

import base64
import json
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from engine.errors import ProviderAuthError, ProviderRejected, ProviderUnavailable, WebhookRejected
from engine.http import make_session
from engine.providers import DocuSignClient, Envelope, FieldPlacement, Recipient, TokenCache
from engine.providers import docusign as docusign_module
from engine.testing.fake_docusign import EXPIRED_REASON, FakeDocuSign

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
INTEGRATION_KEY = "8f2b7c4e-1111-2222-3333-444455556666"
USER_ID = "0a1b2c3d-aaaa-bbbb-cccc-ddddeeeeffff"


def _pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_pem(rsa_key):
    return _pem(rsa_key)


@pytest.fixture
def fake(rsa_key):
    with FakeDocuSign(
        integration_key=INTEGRATION_KEY, user_id=USER_ID, public_key=rsa_key.public_key()
    ) as server:
        yield server


def credentials(private_pem, fake=None, **extra):
    values = {"integration_key": INTEGRATION_KEY, "user_id": USER_ID, "private_key": private_pem}
    if fake is not None:
        values["account_id"] = fake.account_id
    values.update(extra)
    return values


@pytest.fixture
def cache():
    return TokenCache()


@pytest.fixture
def client(fake, private_pem, cache):
    return DocuSignClient(
        credentials(private_pem, fake),
        base_url=fake.base_url,
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True, backoff=0.01),
        token_cache=cache,
        timeout=(2, 2),
    )


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
                email="bob@example.com",
                mobile="+33612345678",
                order=2,
                role="Cosigner",
                channel="sms",
                otp_channel="none",
                mandatory=False,
            ),
            Recipient(
                key="p3",
                name="Sam Poe",
                email="",
                mobile="+4915112345678",
                order=2,
                role="Witness",
                channel="sms",
                otp_channel="sms",
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


def test_features_and_oauth_server(private_pem):
    demo = DocuSignClient(credentials(private_pem, environment="demo"))
    assert demo.oauth_base_url == "https://account-d.docusign.com"
    prod = DocuSignClient(credentials(private_pem))
    assert prod.oauth_base_url == "https://account.docusign.com"
    sandbox = DocuSignClient(credentials(private_pem), base_url=docusign_module.DEMO_BASE_URL)
    assert sandbox.oauth_base_url == "https://account-d.docusign.com"
    assert "changed_since" in prod.features and "webhook" in prod.features
    assert "BEGIN" not in repr(prod)


def test_test_connection_and_account_discovery(fake, private_pem, cache):
    client = DocuSignClient(
        credentials(private_pem),
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True),
        token_cache=cache,
    )
    assert client.test_connection() == "Fake Account"
    created = client.create_envelope(envelope())
    assert created.provider_reference in fake.envelopes
    assert fake.call_count("GET", "/oauth/userinfo") == 1  # base_uri and account cached
    assert fake.call_count("POST", "/oauth/token") == 1


def test_jwt_assertion_is_checked_by_the_server(fake, client):
    client.test_connection()
    assertion = fake.requests[0]
    assert assertion.path == "/oauth/token"
    # the fake verified RS256 with the configured public key and the claims
    assert fake.tokens_issued == 1


def test_wrong_private_key_is_an_auth_error(fake, cache):
    other = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    client = DocuSignClient(
        credentials(other, fake),
        base_url=fake.base_url,
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True),
        token_cache=cache,
    )
    with pytest.raises(ProviderAuthError) as info:
        client.get_status("x")
    assert info.value.params["provider_code"] == "invalid_grant"


@pytest.mark.parametrize("pem", ["garbage", _pem(ec.generate_private_key(ec.SECP256R1()))])
def test_unusable_private_key(fake, cache, pem):
    client = DocuSignClient(
        credentials(pem, fake),
        base_url=fake.base_url,
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True),
        token_cache=cache,
    )
    with pytest.raises(ProviderAuthError) as info:
        client.get_status("x")
    assert info.value.params["provider_code"] == "bad_private_key"
    assert fake.total_calls == 0


def test_escaped_newlines_in_the_key_are_accepted(fake, private_pem, cache):
    client = DocuSignClient(
        credentials(private_pem.replace("\n", "\\n"), fake),
        base_url=fake.base_url,
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True),
        token_cache=cache,
    )
    assert client.test_connection() == "Fake Account"


def test_consent_required(fake, client):
    fake.consent_required = True
    with pytest.raises(ProviderAuthError) as info:
        client.test_connection()
    assert info.value.params["provider_code"] == "consent_required"


def test_missing_credentials(cache):
    client = DocuSignClient({"integration_key": "x"}, token_cache=cache)
    with pytest.raises(ProviderAuthError):
        client.get_status("x")


def test_jwt_token_is_cached_until_expiry(fake, private_pem, cache):
    now = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
    fake.clock = lambda: now[0]

    def make():
        return DocuSignClient(
            credentials(private_pem, fake),
            base_url=fake.base_url,
            oauth_base_url=fake.oauth_base_url,
            clock=lambda: now[0],
            session=make_session(allow_loopback=True),
            token_cache=cache,
        )

    created = make().create_envelope(envelope())
    for _ in range(3):
        make().get_status(created.provider_reference)
    assert fake.tokens_issued == 1
    now[0] += timedelta(minutes=50)
    make().get_status(created.provider_reference)
    assert fake.tokens_issued == 1
    now[0] += timedelta(minutes=9, seconds=30)  # inside the renewal margin
    make().get_status(created.provider_reference)
    assert fake.tokens_issued == 2


def test_revoked_token_is_renewed_once(fake, client):
    created = client.create_envelope(envelope())
    fake.revoke_tokens()
    assert client.get_status(created.provider_reference).status == "sent"
    assert fake.tokens_issued == 2


def test_send_builds_the_documented_envelope(fake, client):
    fields = (
        FieldPlacement("p1", 1, 72.4, 700.6, 222.0, 740.0, "signature", True),
        FieldPlacement("p1", 1, 72, 750, 120, 770, "initials", False),
        FieldPlacement("p2", 2, 300, 100, 400, 120, "date", True),
        FieldPlacement("p2", 2, 300, 150, 400, 170, "text", False),
        FieldPlacement("p3", 2, 300, 200, 310, 210, "checkbox", True),
    )
    expires = datetime.now(timezone.utc) + timedelta(days=10, hours=1)
    created = client.create_envelope(
        envelope(fields=fields, expires_at=expires, message="Please sign")
    )
    body = next(r.json for r in fake.requests if r.method == "POST" and "envelopes" in r.path)
    assert body["status"] == "sent"
    assert body["transactionId"] == "SO001-1"
    assert body["emailSubject"] == "Quotation SO001"
    assert body["emailBlurb"] == "Please sign"
    assert base64.b64decode(body["documents"][0]["documentBase64"]) == PDF
    assert body["notification"]["expirations"] == {
        "expireEnabled": "true",
        "expireAfter": "11",
        "expireWarn": "0",
    }
    jane, bob, sam = body["recipients"]["signers"]
    assert (jane["recipientId"], jane["routingOrder"], jane["email"]) == (
        "1",
        "1",
        "jane@example.com",
    )
    assert jane["customFields"] == ["digital_sign_key:p1"]
    assert jane["smsAuthentication"] == {"senderProvidedNumbers": ["+46701234567"]}
    assert jane["idCheckConfigurationName"] == "SMS Auth $"
    assert "additionalNotifications" not in jane
    sign_here = jane["tabs"]["signHereTabs"][0]
    assert (
        sign_here["pageNumber"],
        sign_here["xPosition"],
        sign_here["yPosition"],
        sign_here["documentId"],
        sign_here["optional"],
    ) == ("1", "72", "701", "1", "false")
    assert jane["tabs"]["initialHereTabs"][0]["optional"] == "true"
    assert bob["routingOrder"] == "2"
    assert bob["additionalNotifications"] == [
        {
            "secondaryDeliveryMethod": "SMS",
            "phoneNumber": {"countryCode": "33", "number": "612345678"},
        }
    ]
    assert "smsAuthentication" not in bob
    date_tab = bob["tabs"]["dateSignedTabs"][0]
    assert (
        date_tab["xPosition"],
        date_tab["yPosition"],
        date_tab["width"],
        date_tab["height"],
    ) == ("300", "100", "100", "20")
    assert bob["tabs"]["textTabs"][0]["required"] == "false"
    assert sam["deliveryMethod"] == "SMS" and "email" not in sam
    assert sam["phoneNumber"] == {"countryCode": "49", "number": "15112345678"}
    assert sam["tabs"]["checkboxTabs"][0]["pageNumber"] == "2"
    assert created.recipient_ids == {"p1": "1", "p2": "2", "p3": "3"}
    assert created.status.status == "sent"
    assert [(r.key, r.status) for r in created.status.recipients] == [
        ("p1", "sent"),
        ("p2", "waiting"),
        ("p3", "waiting"),
    ]
    assert fake.call_count("POST", "/envelopes") == 1


def test_check_existing_finds_the_envelope_by_transaction_id(fake, client):
    first = client.create_envelope(envelope())
    again = client.create_envelope(envelope(), check_existing=True)
    assert again.provider_reference == first.provider_reference
    assert len(fake.envelopes) == 1
    assert again.recipient_ids == first.recipient_ids
    assert {r.key for r in again.status.recipients} == {"p1", "p2", "p3"}
    fresh = client.create_envelope(envelope(reference="SO002-1"), check_existing=True)
    assert fresh.provider_reference != first.provider_reference


def test_timed_out_create_is_found_again(fake, client):
    fake.delay_next(1, seconds=1.0, method="POST", path="/envelopes")
    client.test_connection()
    client.timeout = (1, 0.3)
    with pytest.raises(ProviderUnavailable) as info:
        client.create_envelope(envelope())
    assert info.value.code == "provider_timeout"
    assert fake.call_count("POST", "/envelopes") == 1
    deadline = time.monotonic() + 3
    while not fake.envelopes and time.monotonic() < deadline:
        time.sleep(0.05)
    client.timeout = (2, 2)
    created = client.create_envelope(envelope(), check_existing=True)
    assert list(fake.envelopes) == [created.provider_reference]


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("created", "draft"),
        ("sent", "sent"),
        ("delivered", "viewed"),
        ("signed", "viewed"),
        ("completed", "signed"),
        ("declined", "rejected"),
        ("voided", "cancelled"),
        ("timedout", "expired"),
        ("deleted", "cancelled"),
        ("processing", "viewed"),
    ],
)
def test_envelope_status_mapping(fake, client, raw, expected):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, raw, reason="changed plans")
    status = client.get_status(created.provider_reference)
    assert (status.status, status.raw_status) == (expected, raw)
    assert status.changed_at is not None and status.changed_at.tzinfo is not None


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("created", "waiting"),
        ("sent", "sent"),
        ("delivered", "viewed"),
        ("signed", "signed"),
        ("completed", "signed"),
        ("declined", "rejected"),
        ("autoresponded", "sent"),
        ("faxpending", "viewed"),
    ],
)
def test_recipient_status_mapping(fake, client, raw, expected):
    created = client.create_envelope(envelope())
    fake.set_recipient_status(created.provider_reference, "2", raw, reason="no")
    status = client.get_status(created.provider_reference)
    by_key = {r.key: r for r in status.recipients}
    assert by_key["p2"].status == expected
    assert by_key["p2"].provider_id == "2"


def test_void_with_expiry_reason_is_expired(fake, client):
    created = client.create_envelope(envelope())
    fake.set_recipient_status(created.provider_reference, "1", "completed")
    fake.expire(created.provider_reference)
    status = client.get_status(created.provider_reference)
    assert status.status == "expired"
    assert status.raw_status == "voided"
    assert status.reason == EXPIRED_REASON
    assert [(r.key, r.status) for r in status.recipients] == [
        ("p1", "signed"),
        ("p2", "expired"),
        ("p3", "expired"),
    ]


def test_declined_carries_the_reason(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "declined", reason="price too high")
    status = client.get_status(created.provider_reference)
    assert status.status == "rejected"
    assert status.reason == "price too high"
    rejected = [r for r in status.recipients if r.status == "rejected"]
    assert rejected[0].key == "p1" and rejected[0].reason == "price too high"
    assert rejected[0].at is not None


def test_completed_listing_without_recipients_fetches_them_with_their_signing_times(fake, client):
    created = client.create_envelope(envelope())
    signed_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    fake.clock = lambda: signed_at
    fake.set_status(created.provider_reference, "completed")
    fake.clock = lambda: datetime.now(timezone.utc)
    fake.recipients_in_listings = False
    [listed] = client.list_changes(signed_at - timedelta(minutes=1))
    assert listed.status == "signed" and listed.recipients == ()
    fake.reset_calls()
    status = client.ensure_recipients(listed)
    assert fake.call_count("GET", "/recipients") == 1
    assert (status.status, status.raw_status) == ("signed", "completed")
    assert [(r.key, r.status, r.at) for r in status.recipients] == [
        ("p1", "signed", signed_at),
        ("p2", "signed", signed_at),
        ("p3", "signed", signed_at),
    ]
    fake.reset_calls()
    assert client.ensure_recipients(status) is status  # recipients known: no call
    sent = client.get_status(created.provider_reference)
    assert fake.total_calls == 1
    unsigned = replace(sent, status="sent", recipients=())
    assert client.ensure_recipients(unsigned) is unsigned  # only a completion needs them
    assert fake.total_calls == 1


def test_a_completion_that_leaves_a_signer_unsigned_says_so(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed", leave_pending=("3",))
    recipients = {r.key: r for r in client.get_recipients(created.provider_reference)}
    assert recipients["p1"].status == recipients["p2"].status == "signed"
    assert recipients["p3"].status != "signed" and recipients["p3"].at != recipients["p1"].at


def test_unknown_envelope_is_not_found(client):
    with pytest.raises(ProviderRejected) as info:
        client.get_status("00000000-0000-0000-0000-000000000000")
    assert info.value.code == "provider_not_found"


def test_list_changes_since_in_one_call(fake, client):
    base = datetime(2030, 3, 1, tzinfo=timezone.utc)
    fake.seed_envelopes(10, changed_at=lambda n: base + timedelta(minutes=n))
    fake.reset_calls()
    changes = client.list_changes(base + timedelta(minutes=6, seconds=30))
    assert fake.call_count("GET", "/envelopes") == 1
    assert len(changes) == 3
    assert [c.changed_at for c in changes] == sorted(c.changed_at for c in changes)
    assert all(c.status == "sent" and c.recipients for c in changes)
    query = fake.requests[-1].query
    assert query["from_date"] == "2030-03-01T00:06:30Z"
    assert query["include"] == "recipients"
    assert client.list_changes(base + timedelta(days=1)) == ()


def test_list_changes_over_5000_envelopes(fake, client):
    base = datetime(2030, 3, 1, tzinfo=timezone.utc)
    fake.seed_envelopes(5000, changed_at=lambda n: base + timedelta(seconds=n))
    started = time.monotonic()
    changes = client.list_changes(base + timedelta(seconds=4900))
    assert len(changes) == 100
    assert time.monotonic() - started < 5


def test_download_combined_with_certificate(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    pdf = client.download_signed(created.provider_reference)
    assert pdf.startswith(PDF) and b"certificate" in pdf
    assert fake.requests[-1].path.endswith("/documents/combined")
    assert fake.requests[-1].query == {"certificate": "true"}


def test_download_refuses_a_non_pdf(fake, client):
    created = client.create_envelope(envelope())
    fake.set_download(created.provider_reference, b'{"errorCode": "x"}', "application/json")
    with pytest.raises(ProviderRejected) as info:
        client.download_signed(created.provider_reference)
    assert info.value.code == "provider_bad_response"


def test_cancel_voids_with_the_reason(fake, client):
    created = client.create_envelope(envelope())
    client.cancel(created.provider_reference, "Customer asked\nfor a new quote")
    stored = fake.envelope(created.provider_reference)
    assert stored["status"] == "voided"
    assert stored["voidedReason"] == "Customer asked for a new quote"
    assert client.get_status(created.provider_reference).status == "cancelled"
    client.cancel(created.provider_reference, "again")  # already voided: no-op


def test_cancel_of_a_completed_envelope_is_refused(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    with pytest.raises(ProviderRejected) as info:
        client.cancel(created.provider_reference, "too late")
    assert info.value.params["state"] == "signed"
    assert info.value.params["provider_code"] == "ENVELOPE_CANNOT_VOID_INVALID_STATE"


def test_reminder_resends_to_pending_signers(fake, client):
    created = client.create_envelope(envelope())
    client.send_reminder(created.provider_reference)
    assert fake.resends == [(created.provider_reference, "1")]
    put = fake.requests[-1]
    assert put.method == "PUT" and put.query == {"resend_envelope": "true"}
    assert put.json == {
        "signers": [{"recipientId": "1", "name": "Jane Doe", "email": "jane@example.com"}]
    }
    client.send_reminder(created.provider_reference, recipient_ids=("2", "3"))
    assert fake.resends[-2:] == [
        (created.provider_reference, "2"),
        (created.provider_reference, "3"),
    ]


def test_reminder_with_nobody_pending_makes_no_update(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    client.send_reminder(created.provider_reference)
    assert fake.call_count("PUT") == 0


def test_get_retried_after_429_post_not(fake, client):
    created = client.create_envelope(envelope())
    fake.reset_calls()
    fake.rate_limit_next(1, retry_after=1, method="GET", path="/envelopes/")
    assert client.get_status(created.provider_reference).status == "sent"
    assert fake.call_count("GET", "/envelopes/{envelope_id}") == 2
    fake.rate_limit_next(1, retry_after=1, method="POST", path="/envelopes")
    with pytest.raises(ProviderUnavailable) as info:
        client.create_envelope(envelope(reference="SO002-1"))
    assert info.value.code == "provider_rate_limited" and info.value.retry_after == 1
    assert fake.call_count("POST", "/envelopes") == 1


def test_server_error_and_timeout_and_malformed(fake, client):
    created = client.create_envelope(envelope())
    fake.fail_next(1, status=500, method="PUT")
    with pytest.raises(ProviderUnavailable) as info:
        client.cancel(created.provider_reference, "x")
    assert info.value.code == "provider_server_error"
    fake.malformed_next(1, method="GET")
    with pytest.raises(ProviderRejected) as info:
        client.get_status(created.provider_reference)
    assert info.value.code == "provider_bad_response"
    fake.delay_next(1, seconds=1.0, method="GET")
    client.timeout = (1, 0.3)
    with pytest.raises(ProviderUnavailable) as info:
        client.get_status(created.provider_reference)
    assert info.value.code == "provider_timeout"


def test_token_endpoint_outage_is_retryable(fake, client):
    fake.fail_next(1, status=503, path="/oauth/token")
    with pytest.raises(ProviderUnavailable) as info:
        client.get_status("x")
    assert info.value.code == "provider_server_error"


# --- Connect webhooks -------------------------------------------------------------------
SECRET = "connect-hmac-key-one"
SECRET_2 = "connect-hmac-key-two"


def signed(fake, body, *secrets):
    return {
        f"X-DocuSign-Signature-{n}": fake.sign_connect(body, s) for n, s in enumerate(secrets, 1)
    }


def test_connect_webhook_valid(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    body = fake.connect_body(created.provider_reference, "envelope-completed")
    event = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert event.provider_reference == created.provider_reference
    assert event.event == "envelope-completed"
    assert event.raw_status == "completed"
    assert event.event_id.startswith("docusign:")


def test_connect_webhook_carries_the_envelope_status_and_its_recipients(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    body = fake.connect_body(created.provider_reference, "envelope-completed")
    event = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert event.status.status == "signed"
    assert {r.key: r.status for r in event.status.recipients} == {
        "p1": "signed",
        "p2": "signed",
        "p3": "signed",
    }
    assert all(r.at for r in event.status.recipients)
    bare = fake.connect_body(
        created.provider_reference, "envelope-completed", include_recipients=False
    )
    event = client.parse_webhook(signed(fake, bare, SECRET), bare, [SECRET])
    assert event.status.status == "signed" and event.status.recipients == ()
    fake.reset_calls()
    completed = client.ensure_recipients(event.status)
    assert fake.call_count("GET", "/recipients") == 1
    assert {r.key for r in completed.recipients if r.status == "signed"} == {"p1", "p2", "p3"}
    legacy = fake.connect_body(
        created.provider_reference, "envelope-completed", include_summary=False
    )
    assert client.parse_webhook(signed(fake, legacy, SECRET), legacy, [SECRET]).status is None


def test_connect_webhook_without_secret(fake, client):
    created = client.create_envelope(envelope())
    body = fake.connect_body(created.provider_reference)
    for secrets in ((), None, [""]):
        with pytest.raises(WebhookRejected) as info:
            client.parse_webhook(signed(fake, body, SECRET), body, secrets)
        assert info.value.code == "webhook_no_secret"


def test_connect_webhook_bad_or_missing_signature(fake, client):
    created = client.create_envelope(envelope())
    body = fake.connect_body(created.provider_reference)
    cases = [
        {},
        {"X-DocuSign-Signature-1": ""},
        signed(fake, body, "another-key"),
        {"X-DocuSign-Signature-1": "not base64 at all"},
        {"X-Other": fake.sign_connect(body, SECRET)},
    ]
    for headers in cases:
        with pytest.raises(WebhookRejected) as info:
            client.parse_webhook(headers, body, [SECRET])
        assert info.value.code == "webhook_bad_signature"


def test_connect_webhook_one_byte_changed(fake, client):
    created = client.create_envelope(envelope())
    body = fake.connect_body(created.provider_reference, "envelope-voided")
    headers = signed(fake, body, SECRET)
    tampered = body.replace(b"envelope-voided", b"envelope-voidee")
    assert len(tampered) == len(body) and tampered != body
    with pytest.raises(WebhookRejected) as info:
        client.parse_webhook(headers, tampered, [SECRET])
    assert info.value.code == "webhook_bad_signature"
    flipped = bytearray(body)
    flipped[-2] ^= 0x01
    with pytest.raises(WebhookRejected):
        client.parse_webhook(headers, bytes(flipped), [SECRET])


def test_connect_webhook_key_rotation(fake, client):
    created = client.create_envelope(envelope())
    body = fake.connect_body(created.provider_reference)
    # DocuSign sends one header per active key; we hold one or both keys
    both = signed(fake, body, SECRET, SECRET_2)
    assert client.parse_webhook(both, body, [SECRET_2]).provider_reference
    assert client.parse_webhook(both, body, [SECRET]).provider_reference
    only_new = {"x-docusign-signature-1": fake.sign_connect(body, SECRET_2)}
    assert client.parse_webhook(only_new, body, [SECRET, SECRET_2]).provider_reference
    with pytest.raises(WebhookRejected):
        client.parse_webhook(only_new, body, [SECRET])


def test_connect_webhook_duplicate_has_the_same_event_id(fake, client):
    created = client.create_envelope(envelope())
    when = datetime.now(timezone.utc)
    body = fake.connect_body(created.provider_reference, generated=when)
    retry = fake.connect_body(created.provider_reference, generated=when, retry_count=1)
    other = fake.connect_body(created.provider_reference, "envelope-delivered", generated=when)
    first = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    again = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    retried = client.parse_webhook(signed(fake, retry, SECRET), retry, [SECRET])
    different = client.parse_webhook(signed(fake, other, SECRET), other, [SECRET])
    assert first.event_id == again.event_id == retried.event_id
    assert different.event_id != first.event_id


def test_connect_webhook_explicit_event_id(fake, client):
    body = json.dumps(
        {"event": "envelope-sent", "eventId": "evt-42", "data": {"envelopeId": "e-1"}}
    ).encode()
    event = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert event.event_id == "docusign:evt-42"
    assert event.raw_status == "sent"


def test_connect_webhook_stale(fake, client):
    created = client.create_envelope(envelope())
    old = fake.connect_body(
        created.provider_reference, generated=datetime.now(timezone.utc) - timedelta(days=30)
    )
    with pytest.raises(WebhookRejected) as info:
        client.parse_webhook(signed(fake, old, SECRET), old, [SECRET])
    assert info.value.code == "webhook_stale"
    future = fake.connect_body(
        created.provider_reference, generated=datetime.now(timezone.utc) + timedelta(hours=1)
    )
    with pytest.raises(WebhookRejected) as info:
        client.parse_webhook(signed(fake, future, SECRET), future, [SECRET])
    assert info.value.code == "webhook_stale"


@pytest.mark.parametrize("body", [b"<xml/>", b"[1]", b'{"event": "envelope-sent"}'])
def test_connect_webhook_malformed_after_a_valid_signature(fake, client, body):
    with pytest.raises(WebhookRejected) as info:
        client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert info.value.code == "webhook_malformed"


def test_connect_status_is_applied_as_sent_except_voided_or_unknown(fake, client):
    created = client.create_envelope(envelope())
    fake.set_status(created.provider_reference, "completed")
    body = fake.connect_body(created.provider_reference, "envelope-completed")
    event = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert client.webhook_status(event) == event.status
    legacy = fake.connect_body(
        created.provider_reference, "envelope-delivered", include_summary=False
    )
    event = client.parse_webhook(signed(fake, legacy, SECRET), legacy, [SECRET])
    status = client.webhook_status(event)
    assert (status.provider_reference, status.status, status.recipients) == (
        created.provider_reference,
        "viewed",
        (),
    )
    for raw_status in ("voided", "Voided", "no-such-status", ""):
        assert client.webhook_status(replace(event, raw_status=raw_status)) is None
    assert client.min_status_poll_seconds == 15 * 60


def test_connect_webhook_legacy_json(fake, client):
    body = json.dumps({"envelopeId": "e-9", "status": "Completed"}).encode()
    event = client.parse_webhook(signed(fake, body, SECRET), body, [SECRET])
    assert (event.provider_reference, event.raw_status, event.event) == (
        "e-9",
        "completed",
        "envelope-completed",
    )


# --- logging ----------------------------------------------------------------------------
def test_credentials_never_logged(fake, private_pem, cache, caplog):
    caplog.set_level(logging.DEBUG)
    client = DocuSignClient(
        credentials(private_pem),
        oauth_base_url=fake.oauth_base_url,
        session=make_session(allow_loopback=True),
        token_cache=cache,
    )
    client.test_connection()
    created = client.create_envelope(envelope(fields=(FieldPlacement("p1", 1, 1, 1, 50, 20),)))
    client.get_status(created.provider_reference)
    client.send_reminder(created.provider_reference)
    fake.revoke_tokens()
    client.list_changes(datetime.now(timezone.utc) - timedelta(hours=1))
    client.cancel(created.provider_reference, "bye")
    with pytest.raises(WebhookRejected):
        client.parse_webhook({"X-DocuSign-Signature-1": "abc"}, b"{}", [SECRET])
    assertion = next(r for r in fake.requests if r.path == "/oauth/token")
    assert assertion  # the token endpoint was called (its form body is not recorded)
    tokens = list(fake.issued_tokens)
    assert tokens
    text = caplog.text
    assert created.provider_reference in text
    key_lines = [line for line in private_pem.splitlines() if "PRIVATE" not in line]
    for secret in [SECRET, "+46701234567", "+33612345678", "4915112345678"] + tokens + key_lines:
        assert secret not in text


def test_document_url_opens_the_envelope_in_docusign():
    from engine.providers import DocuSignClient

    envelope = "8994ad85-d203-46d3-b553-7b59c3495033"
    assert (
        DocuSignClient.document_url(envelope)
        == f"https://app.docusign.com/documents/details/{envelope}"
    )
    assert (
        DocuSignClient.document_url(envelope, sandbox=True)
        == f"https://appdemo.docusign.com/documents/details/{envelope}"
    )
    assert DocuSignClient.document_url("a/b").endswith("/documents/details/a%2Fb")
    assert DocuSignClient.document_url(None) == ""
