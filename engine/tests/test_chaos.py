"""The provider clients against a fake that fails at random (``FakeServer.chaos``): every
failure is a typed engine error, and a create retried with ``check_existing`` never makes an
envelope twice, even when the service did the work and its answer was lost."""

import collections

import pytest

from engine.errors import EngineError, ProviderUnavailable
from engine.http import make_session
from engine.providers import Envelope, GetAcceptClient, Recipient, TokenCache
from engine.testing.fake_getaccept import FakeGetAccept

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOKEN = "ga-api-token-chaos"


def envelope(reference):
    return Envelope(
        reference=reference,
        name=f"Contract {reference}",
        pdf=PDF,
        filename="contract.pdf",
        recipients=(
            Recipient(
                key="p1",
                name="Jane Doe",
                email="jane@example.com",
                mobile="",
                order=1,
                role="Customer",
                channel="email",
                otp_channel="none",
            ),
        ),
        fields=(),
    )


@pytest.fixture
def fake():
    with FakeGetAccept(api_tokens=(TOKEN,)) as server:
        yield server


@pytest.fixture
def client(fake):
    return GetAcceptClient(
        {"api_token": TOKEN},
        base_url=fake.base_url,
        session=make_session(allow_loopback=True, backoff=0.01),
        timeout=(2, 0.5),
        token_cache=TokenCache(),
    )


def test_chaos_serves_each_kind_at_about_the_rate(fake, client):
    fake.seed_documents(1, status="sent")
    reference = next(iter(fake.documents))
    fake.chaos(0.3, seed=1, slow_seconds=0.8)
    outcomes = collections.Counter()
    for _ in range(120):
        try:
            client.get_status(reference)
            outcomes["ok"] += 1
        except EngineError as error:  # never anything else
            outcomes[error.code] += 1
    served = sum(fake.faults_served.values())
    assert 20 <= served <= 80, fake.faults_served
    assert set(fake.faults_served) == set(fake.CHAOS_KINDS)
    assert outcomes["ok"] >= 60
    assert {"provider_timeout", "provider_bad_response"} <= set(outcomes), outcomes


def test_a_truncated_answer_is_a_retryable_error(fake, client):
    fake.seed_documents(1, status="sent")
    fake.truncate_next(1)
    with pytest.raises(ProviderUnavailable):
        client.get_status(next(iter(fake.documents)))


def test_creates_retried_under_chaos_make_each_envelope_once(fake, client):
    fake.chaos(0.3, seed=2, kinds=("500", "503", "429", "malformed", "truncate", "disconnect"))
    created, attempts = {}, collections.Counter()
    for n in range(40):
        reference = f"CHAOS-{n}"
        while reference not in created and attempts[reference] < 25:
            attempts[reference] += 1
            try:
                created[reference] = client.create_envelope(
                    envelope(reference), check_existing=True
                )
            except EngineError:
                continue
    fake.clear_faults()
    assert len(created) == 40
    per_reference = collections.Counter(d["external_id"] for d in fake.documents.values())
    assert set(per_reference.values()) == {1}, "no envelope made twice"
    assert {d["status"] for d in fake.documents.values()} == {"sent"}
    assert sum(attempts.values()) > 40, "faults were met and retried"
