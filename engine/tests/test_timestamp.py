"""The timestamp client (engine.timestamp): one client for seals and audit-trail anchors, its
requests through engine.http, its bounded answers, and the breaker that rests a server that
just failed. Against the local RFC 3161 server of engine.testing.pki."""

import dataclasses
import hashlib

import pymupdf
import pytest

from engine import http, pades, seal_identity, timestamp
from engine.errors import TimestampUnavailable, UnsafeUrl
from engine.testing import pki

PASSWORD = b"timestamp test"
DIGEST = hashlib.sha256(b"the head of an audit trail").digest()


@pytest.fixture(scope="module")
def ca():
    return pki.Pki(label="timestamp test")


@pytest.fixture
def tsa(ca):
    with ca.timestamp_server() as server:
        yield server


@pytest.fixture(autouse=True)
def no_rest():
    timestamp.reset_breaker()
    yield
    timestamp.reset_breaker()


@pytest.fixture
def clock(monkeypatch):
    """The breaker's monotonic clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(timestamp.time, "monotonic", lambda: now[0])
    return now


def guarded(tsa):
    return dataclasses.replace(tsa.server(timeout=2), breaker_seconds=300)


def test_requests_go_through_the_engine_http_session(tsa):
    token = timestamp.request_timestamp_token(tsa.server(), DIGEST)
    check = timestamp.check_timestamp_token(token, DIGEST, trust_roots=pki.Pki().trust_roots)
    assert check.status == "untrusted" and "timestamp test TSA" in check.tsa_subject
    assert tsa.last_headers["User-Agent"] == http.USER_AGENT
    assert tsa.last_headers["Content-Type"] == "application/timestamp-query"


def test_an_oversized_answer_is_refused(tsa):
    tsa.pad_bytes = timestamp.MAX_RESPONSE_BYTES
    with pytest.raises(TimestampUnavailable) as err:
        timestamp.request_timestamp_token(tsa.server(), DIGEST)
    assert err.value.params["reason"] == "bad_response"


def test_without_a_breaker_every_call_reaches_the_server(tsa):
    tsa.set_mode("unavailable")
    for _ in range(2):
        with pytest.raises(TimestampUnavailable) as err:
            timestamp.request_timestamp_token(tsa.server(), DIGEST)
        assert err.value.params["reason"] == "http_503"
    assert tsa.requests == 2


def test_a_failed_server_rests_and_a_refusal_does_not_prolong_it(tsa, clock):
    server = guarded(tsa)
    tsa.set_mode("unavailable")
    with pytest.raises(TimestampUnavailable):
        timestamp.request_timestamp_token(server, DIGEST)
    tsa.set_mode("ok")
    clock[0] += 200
    with pytest.raises(TimestampUnavailable) as err:
        timestamp.request_timestamp_token(server, DIGEST)
    assert err.value.params["reason"] == "recent_failure" and err.value.retryable
    assert tsa.requests == 1, "a resting server is not called"
    clock[0] += 101  # 301 s after the failure, 101 s after the refusal
    assert timestamp.request_timestamp_token(server, DIGEST)
    assert tsa.requests == 2
    tsa.set_mode("unavailable")  # a success cleared the failure: the next one is a fresh one
    with pytest.raises(TimestampUnavailable) as err:
        timestamp.request_timestamp_token(server, DIGEST)
    assert err.value.params["reason"] == "http_503"


def test_seals_and_anchors_share_the_breaker(ca, tsa, clock):
    identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Rested")
    pdf = doc.tobytes()
    doc.close()
    server = guarded(tsa)
    tsa.set_mode("unavailable")
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=server)
    assert err.value.params["reason"] == "http_503"
    with pytest.raises(TimestampUnavailable) as err:
        timestamp.request_timestamp_token(server, DIGEST)
    assert err.value.params["reason"] == "recent_failure"
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=server)
    assert err.value.params["reason"] == "recent_failure"
    assert tsa.requests == 1
    # a B-B seal needs no timestamp server, resting or not
    assert pades.seal_pdf(pdf, identity, timestamp=server).level == "B-B"
    tsa.set_mode("ok")
    clock[0] += 301
    assert pades.seal_pdf(pdf, identity, level="B-T", timestamp=server).level == "B-T"


def test_an_unsafe_url_rests_the_server_too(tsa, clock):
    server = dataclasses.replace(guarded(tsa), allow_loopback=False)
    with pytest.raises(UnsafeUrl):
        timestamp.request_timestamp_token(server, DIGEST)
    with pytest.raises(TimestampUnavailable) as err:
        timestamp.request_timestamp_token(server, DIGEST)
    assert err.value.params["reason"] == "recent_failure"
    assert tsa.requests == 0
