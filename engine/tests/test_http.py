"""engine.http: retries (GET only), timeouts, error mapping, URL checks, masking."""

import logging
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from engine import http, netguard
from engine.errors import ProviderAuthError, ProviderRejected, ProviderUnavailable, UnsafeUrl
from engine.testing.fakeserver import FakeResponse, FakeServer, json_response


class EchoServer(FakeServer):
    def __init__(self):
        super().__init__()
        self.add_route("GET", "/ok", lambda r: {"ok": True})
        self.add_route("HEAD", "/ok", lambda r: FakeResponse(200))
        self.add_route("POST", "/ok", lambda r: {"created": True})
        self.add_route("PUT", "/ok", lambda r: {"updated": True})
        self.add_route("DELETE", "/ok", lambda r: FakeResponse(204))
        self.add_route("GET", "/status/{code}", self._status)
        self.add_route("GET", "/big", lambda r: FakeResponse(200, b"x" * 5000))
        self.add_route(
            "GET",
            "/redirect",
            lambda r: FakeResponse(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"}),
        )
        self.add_route("GET", "/text", lambda r: FakeResponse(200, b"plain", {}))

    @staticmethod
    def _status(request):
        code = int(request.match["code"])
        return json_response(
            {
                "error": "bad",
                "message": "Invalid email jane.doe@example.com",
                "errorCode": "INVALID_EMAIL",
            },
            code,
        )


@pytest.fixture
def server():
    with EchoServer() as fake:
        yield fake


@pytest.fixture
def session():
    s = http.make_session(allow_loopback=True, backoff=0.01)
    yield s
    s.close()


def url(server, path):
    return f"{server.host_url}{path}"


def test_ok_round_trip(server, session):
    response = http.request(session, "GET", url(server, "/ok"))
    assert http.json_or_raise(response) == {"ok": True}
    assert server.call_count("GET", "/ok") == 1


def test_get_429_is_retried_after_retry_after(server, session):
    server.rate_limit_next(1, retry_after=1, method="GET")
    started = time.monotonic()
    response = http.request(session, "GET", url(server, "/ok"))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.95
    assert server.call_count("GET", "/ok") == 2


def test_get_429_with_http_date_is_retried(server, session):
    server.rate_limit_next(1, retry_after=1, method="GET", http_date=True)
    assert http.request(session, "GET", url(server, "/ok")).status_code == 200
    assert server.call_count("GET", "/ok") == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_unsafe_methods_are_never_retried(server, session, method):
    server.rate_limit_next(1, retry_after=1)
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, method, url(server, "/ok"))
    assert info.value.code == "provider_rate_limited"
    assert info.value.retry_after == 1
    assert info.value.status == 429
    assert server.call_count(method, "/ok") == 1


def test_post_503_is_not_retried(server, session):
    server.fail_next(1, status=503)
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "POST", url(server, "/ok"), json={"a": 1})
    assert info.value.code == "provider_server_error"
    assert server.call_count("POST", "/ok") == 1


def test_long_retry_after_is_not_slept_but_reported(server, session):
    server.rate_limit_next(1, retry_after=120)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "GET", url(server, "/ok"))
    assert time.monotonic() - started < 2
    assert info.value.code == "provider_rate_limited"
    assert info.value.retry_after == 120
    assert server.call_count("GET", "/ok") == 1


def test_get_502_503_504_retried_then_given_up(server, session):
    server.fail_next(5, status=503)
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "GET", url(server, "/ok"))
    assert info.value.code == "provider_server_error"
    assert info.value.retryable
    assert server.call_count("GET", "/ok") == 3  # 1 + retries_for_safe_methods=2


def test_get_recovers_after_transient_502(server, session):
    server.fail_next(1, status=502)
    server.fail_next(1, status=504)
    assert http.request(session, "GET", url(server, "/ok")).status_code == 200
    assert server.call_count("GET", "/ok") == 3


def test_500_is_not_retried(server, session):
    server.fail_next(1, status=500)
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "GET", url(server, "/ok"))
    assert info.value.code == "provider_server_error"
    assert info.value.status == 500
    assert server.call_count("GET", "/ok") == 1


def test_no_retries_when_disabled(server):
    session = http.make_session(allow_loopback=True, retries_for_safe_methods=0)
    server.fail_next(1, status=503)
    with pytest.raises(ProviderUnavailable):
        http.request(session, "GET", url(server, "/ok"))
    assert server.call_count("GET", "/ok") == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_read_timeout(server, session, method):
    server.delay_next(1, seconds=1.5)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, method, url(server, "/ok"), timeout=(1, 0.3))
    assert info.value.code == "provider_timeout"
    assert time.monotonic() - started < 1.4  # a read timeout is never retried
    assert server.call_count(method, "/ok") == 1


def test_the_whole_exchange_can_be_bounded(server, session):
    """``max_seconds`` bounds the exchange, answer included (the timestamp client's bound),
    where each socket read alone stays within its timeout."""
    server.delay_next(1, seconds=0.6)
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "POST", url(server, "/ok"), timeout=(1, 3), max_seconds=0.3)
    assert info.value.code == "provider_timeout"
    server.delay_next(1, seconds=0.6)
    response = http.request(session, "POST", url(server, "/ok"), timeout=(1, 3))
    assert http.json_or_raise(response) == {"created": True}


def test_connection_refused_is_unreachable(session):
    fake = EchoServer().start()
    dead = fake.host_url
    fake.stop()
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "POST", f"{dead}/ok", timeout=(0.5, 0.5))
    assert info.value.code == "provider_unreachable"


def test_disconnect_is_unreachable(server, session):
    server.disconnect_next(1, method="POST")
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "POST", url(server, "/ok"))
    assert info.value.code == "provider_unreachable"


@pytest.mark.parametrize("code", [401, 403])
def test_auth_errors(server, session, code):
    with pytest.raises(ProviderAuthError) as info:
        http.request(session, "GET", url(server, f"/status/{code}"))
    assert info.value.code == "provider_auth"
    assert info.value.params["status"] == code


def test_404_is_not_found(server, session):
    with pytest.raises(ProviderRejected) as info:
        http.request(session, "GET", url(server, "/status/404"))
    assert info.value.code == "provider_not_found"
    assert info.value.status == 404


def test_other_4xx_carries_a_scrubbed_provider_message(server, session):
    with pytest.raises(ProviderRejected) as info:
        http.request(session, "GET", url(server, "/status/422"))
    error = info.value
    assert error.code == "provider_rejected"
    assert error.status == 422
    assert "Invalid email" in error.detail
    assert "jane.doe@example.com" not in error.detail
    assert error.params["provider_code"] == "INVALID_EMAIL"
    assert len(error.detail) <= http.ERROR_MESSAGE_MAX


def test_malformed_json(server, session):
    server.malformed_next(1)
    response = http.request(session, "GET", url(server, "/ok"))
    with pytest.raises(ProviderRejected) as info:
        http.json_or_raise(response)
    assert info.value.code == "provider_bad_response"


def test_redirects_are_not_followed(server, session):
    with pytest.raises(ProviderRejected) as info:
        http.request(session, "GET", url(server, "/redirect"))
    assert info.value.code == "provider_bad_response"
    assert info.value.status == 302


def test_body_cap(server, session):
    with pytest.raises(ProviderRejected) as info:
        http.request(session, "GET", url(server, "/big"), max_bytes=1000)
    assert info.value.code == "provider_bad_response"
    assert http.request(session, "GET", url(server, "/big"), max_bytes=5000).content == b"x" * 5000


def test_forced_options_cannot_be_overridden(server, session, monkeypatch):
    seen = {}
    original = requests.Session.request

    def spy(self, method, target, **kwargs):
        seen.update(kwargs)
        return original(self, method, target, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    http.request(
        session, "GET", url(server, "/ok"), verify=False, allow_redirects=True, timeout=None
    )
    assert seen["verify"] is True
    assert seen["allow_redirects"] is False
    assert seen["timeout"] == http.DEFAULT_TIMEOUT


@pytest.mark.parametrize(
    "target",
    [
        "http://example.com/api",
        "ftp://example.com/api",
        "https://user:pw@example.com/api",
        "https://10.0.0.1/api",
        "https://192.168.1.10/api",
        "https://169.254.169.254/latest",
        "https://[::ffff:10.0.0.1]/api",
        "http://127.0.0.1:8069/api",
        "https://localhost/api",
        "not a url",
    ],
)
def test_unsafe_urls_are_refused(target):
    session = http.make_session()
    with pytest.raises(UnsafeUrl):
        http.request(session, "GET", target)


def test_loopback_only_when_allowed():
    assert http.check_url("http://127.0.0.1:1234/x", allow_loopback=True)
    assert http.check_url("http://localhost:1234/x", allow_loopback=True)
    assert http.check_url("https://api.getaccept.com/v1")
    assert http.check_url("https://8.8.8.8/x")
    with pytest.raises(UnsafeUrl):
        http.check_url("http://10.0.0.1/x", allow_loopback=True)


def test_loopback_urls_are_recognised_without_a_lookup():
    assert netguard.is_loopback_url("http://127.0.0.1:1234/v1")
    assert netguard.is_loopback_url("http://localhost:1234/v1")
    assert netguard.is_loopback_url("http://[::1]:1234/v1")
    assert netguard.is_loopback_url("http://[::ffff:127.0.0.1]/v1")
    assert not netguard.is_loopback_url("https://api.getaccept.com/v1")
    assert not netguard.is_loopback_url("https://evil.example.com/v1")
    assert not netguard.is_loopback_url("http://10.0.0.1/v1")
    assert not netguard.is_loopback_url("http://[::1/v1")  # malformed
    assert not netguard.is_loopback_url("")
    assert not netguard.is_loopback_url(None)


def test_shared_session_is_one_per_key():
    first = http.shared_session(("db", 1, False))
    assert http.shared_session(("db", 1, False)) is first
    assert http.shared_session(("db", 2, False)) is not first
    loopback = http.shared_session(("db", 1, True), allow_loopback=True)
    assert loopback is not first
    assert http.check_url("http://127.0.0.1:1/x", allow_loopback=True)
    with pytest.raises(UnsafeUrl):
        http.request(first, "GET", "http://127.0.0.1:1/x")


def test_parse_retry_after():
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert http.parse_retry_after("7") == 7
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert http.parse_retry_after(later, now=now) == 30
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert http.parse_retry_after(earlier, now=now) == 0
    assert http.parse_retry_after("soon") is None
    assert http.parse_retry_after(None) is None


def test_mask_secrets():
    data = {
        "api_token": "tok-123",
        "Authorization": "Bearer abc",
        "password": "pw",
        "client_secret": "s",
        "private_key": "-----BEGIN",
        "assertion": "a.b.c",
        "mobile": "+46701234567",
        "phoneNumber": {"countryCode": "46", "number": "701234567"},
        "email": "jane.doe@example.com",
        "file_content": "QUJD" * 100,
        "recipients": [{"fullname": "Jane", "email": "jane.doe@example.com", "verify_sms": True}],
        "smsAuthentication": {"senderProvidedNumbers": ["+46701234567"]},
        "name": "Quote",
        "order_num": 1,
    }
    masked = http.mask_secrets(data)
    text = repr(masked)
    for secret in (
        "tok-123",
        "abc",
        "'pw'",
        "a.b.c",
        "BEGIN",
        "701234567",
        "jane.doe@",
        "QUJDQUJD",
    ):
        assert secret not in text, secret
    assert masked["name"] == "Quote" and masked["order_num"] == 1
    assert masked["mobile"].endswith("4567")
    assert data["api_token"] == "tok-123"  # the original is untouched


def test_masking_filter(caplog):
    logger = logging.getLogger("engine.tests.masking")
    http.install_masking_filter(logger)
    http.install_masking_filter(logger)
    assert sum(isinstance(f, http.SecretMaskingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="engine.tests.masking"):
        logger.debug("payload %s", {"api_token": "sekrit-value", "mobile": "+46701234567"})
    assert "sekrit-value" not in caplog.text
    assert "+46701234567" not in caplog.text


def test_scrub_text():
    text = http.scrub_text(
        "call +46 70 123 45 67 or mail bob@example.org token "
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhYmMifQ.c2lnbmF0dXJl" + "x" * 50
    )
    assert "123 45" not in text and "bob@example.org" not in text and "eyJhbGci" not in text
    assert len(http.scrub_text("y " * 500)) <= http.ERROR_MESSAGE_MAX


def test_a_stopped_fake_no_longer_answers_kept_alive_connections(session):
    fake = EchoServer().start()
    target = f"{fake.host_url}/ok"
    assert http.request(session, "POST", target).status_code == 200
    fake.stop()
    with pytest.raises(ProviderUnavailable) as info:
        http.request(session, "POST", target, timeout=(0.5, 0.5))
    assert info.value.code == "provider_unreachable"
    fake.start()  # restartable, on a new port
    assert http.request(session, "GET", f"{fake.host_url}/ok").status_code == 200
    fake.stop()
