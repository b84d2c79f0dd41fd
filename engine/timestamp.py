"""RFC 3161 timestamps: the one client that asks a timestamp server (TSA) for tokens, and the
checks of the tokens it returns.

``TimestampClient`` serves sealing (pyHanko calls it for the signature timestamp and the
document timestamp of B-LTA) and ``request_timestamp_token`` (the audit trail's anchors).
Every request goes through :mod:`.http` (one session per request, never retried): the URL
passes the SSRF guard first (:func:`.netguard.check_outbound_url`: https to public addresses,
loopback only when the ``TimestampServer`` allows it, for local test servers), every call
has a (connect, read) timeout and the whole exchange ``TimestampServer.timeout`` seconds at
most, redirects are refused, the answer is read up to ``MAX_RESPONSE_BYTES``, and the token
is checked (status, nonce, imprint, signature) before anyone uses it.

A server that just failed is not called again for ``TimestampServer.breaker_seconds`` by
this process (``TimestampUnavailable``, reason ``recent_failure``): a scheduled action with
many documents waiting must not wait for a dead server once per document. The local clock
never stands in for a timestamp.
"""

import contextlib
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
from asn1crypto import cms, core, tsp
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_sig_integrity, validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from . import coroutines, http, x509
from .errors import ProviderError, TimestampUnavailable, UnsafeUrl
from .netguard import check_outbound_url, is_loopback_address

DEFAULT_TIMEOUT = 10.0  # seconds, per request
MAX_RESPONSE_BYTES = 1 << 20
TOKEN_ALLOWANCE = 16 * 1024  # bytes kept for a token from a server not seen yet
CONTENT_TYPES = ("application/timestamp-reply", "application/timestamp-response")
_TOKEN_SIZES = {}  # server URL -> largest token seen (bytes): sizes later reservations
_TOKEN_SIZES_MAX = 64
_FAILED_AT = {}  # server URL -> time.monotonic() of its last failure (the breaker)


@dataclass(frozen=True)
class TimestampServer:
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    allow_loopback: bool = False  # only for local test servers
    breaker_seconds: float = 0.0  # after a failure, not called again for so long (0: off)


@dataclass(frozen=True)
class TimestampCheck:
    """Outcome of ``check_timestamp_token``. ``status``: ``valid`` (imprint, signature and
    trust hold), ``imprint_mismatch`` (a sound token, for other data), ``signature_invalid``
    (the token or its signature was altered), ``untrusted`` (sound, but its certificate does
    not chain to a trusted one), ``damaged`` (not a readable token); ``unchecked`` from
    ``describe_timestamp_token``."""

    status: str
    gen_time: datetime | None = None  # the TSA's time (when readable)
    tsa_subject: str = ""  # RFC 4514 subject of the TSA certificate
    tsa_fingerprint: str = ""  # SHA-256 of the TSA certificate, lower-case hex
    certificates: tuple = ()  # DER certificates carried by the token
    detail: str = ""  # for logs only


# --- the breaker --------------------------------------------------------------------------
@contextlib.contextmanager
def breaker(server):
    """Guard the calls made to ``server`` inside the block: refuse them while the server
    is resting after a failure, and start its rest when the block raises
    ``TimestampUnavailable`` or ``UnsafeUrl`` (a refusal by the breaker does not prolong it).

    :raises TimestampUnavailable: reason ``recent_failure``
    """
    if server.breaker_seconds > 0:
        failed_at = _FAILED_AT.get(server.url)
        if failed_at is not None and time.monotonic() - failed_at < server.breaker_seconds:
            raise TimestampUnavailable(
                "failed a moment ago: not called again yet", reason="recent_failure"
            )
    try:
        yield
    except (TimestampUnavailable, UnsafeUrl):
        if server.breaker_seconds > 0:
            _FAILED_AT[server.url] = time.monotonic()
        raise
    _FAILED_AT.pop(server.url, None)


def reset_breaker():
    """Forget every failure (tests)."""
    _FAILED_AT.clear()


# --- the client ---------------------------------------------------------------------------
class _TsaFailure(Exception):
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _TimeStampResp(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's version wants a token even in a rejection."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _failure_reason(error):
    """The reason a ``TimestampUnavailable`` gives for an error of :func:`.http.request`."""
    if isinstance(error, UnsafeUrl) or error.code == "provider_unreachable":
        return "unreachable"
    if error.code == "provider_timeout":
        return "timeout"
    status = getattr(error, "status", None) or error.params.get("status")
    return f"http_{status}" if status and status != 200 else "bad_response"


class TimestampClient(TimeStamper):
    """RFC 3161 client for one seal or one token: SSRF-checked URL, requests through
    :mod:`.http`, a bounded answer, and a token checked (status, nonce, imprint, signature)
    before pyHanko embeds it.

    ``failure`` keeps the last failure (pyHanko may wrap or swallow what a timestamper
    raises: the caller reports it with ``unavailable()``).

    :raises UnsafeUrl: the server URL is not allowed
    """

    def __init__(self, server):
        super().__init__(include_nonce=True)
        if not isinstance(server, TimestampServer):
            raise TypeError("timestamp must be a TimestampServer")
        parsed = check_outbound_url(server.url, allow_loopback=server.allow_loopback)
        host = (parsed.hostname or "").strip("[]")
        try:
            self._loopback = host == "localhost" or is_loopback_address(host)
        except ValueError:
            self._loopback = False
        self.server = server
        self.failure = None
        self.largest_token = 0
        self.last_token_size = 0

    def _fail(self, reason, detail):
        self.failure = _TsaFailure(reason, detail)
        raise self.failure

    def unavailable(self):
        """The ``TimestampUnavailable`` error of the last failure."""
        return TimestampUnavailable(self.failure.detail, reason=self.failure.reason)

    def token_allowance(self):
        """Bytes to reserve for one token: a margin over the largest token this server has
        produced in this process (a smaller placeholder keeps verification fast), or a
        generous default for a server not seen yet. An overflow is retried anyway."""
        known = max(self.largest_token, _TOKEN_SIZES.get(self.server.url, 0))
        if not known:
            return TOKEN_ALLOWANCE
        return int(known * 1.25) + 1024

    def _post(self, body):
        server = self.server
        timeout = (
            float(server.timeout) if server.timeout and server.timeout > 0 else DEFAULT_TIMEOUT
        )
        auth = None
        if server.username or server.password:
            auth = requests.auth.HTTPBasicAuth(server.username, server.password)
        # a local server is called without proxies/.netrc from the environment; public
        # servers may need the configured proxy
        with http.make_session(
            retries_for_safe_methods=0, allow_loopback=self._loopback
        ) as session:
            try:
                response = http.request(
                    session,
                    "POST",
                    server.url,
                    data=body,
                    auth=auth,
                    timeout=(timeout, timeout),
                    max_seconds=timeout,
                    max_bytes=MAX_RESPONSE_BYTES,
                    headers={
                        "Content-Type": "application/timestamp-query",
                        "Accept": "application/timestamp-reply",
                    },
                )
            except (ProviderError, UnsafeUrl) as error:
                self._fail(_failure_reason(error), f"timestamp server: {error.detail}")
        if response.status_code != 200:
            self._fail(
                f"http_{response.status_code}",
                f"timestamp server answered HTTP {response.status_code}",
            )
        content_type = response.headers.get("Content-Type") or ""
        content_type = content_type.split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            self._fail("bad_response", f"unexpected content type {content_type!r}")
        return response.content

    def _check(self, raw, nonce, digest, md_algorithm):
        try:
            response = _TimeStampResp.load(raw)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                strings = response["status"]["status_string"].native or []
                self._fail("rejected", f"timestamp refused: {status} {'; '.join(strings)}")
            token = response["time_stamp_token"]
            if token["content_type"].native != "signed_data":
                raise ValueError("token is not SignedData")
            signed_data = token["content"]
            eci = signed_data["encap_content_info"]
            if eci["content_type"].native != "tst_info":
                raise ValueError("token does not hold a TSTInfo")
            tst_der = eci["content"].contents
            tst_info = eci["content"].parsed
            imprint = tst_info["message_imprint"]
            if (
                imprint["hash_algorithm"]["algorithm"].native != md_algorithm
                or imprint["hashed_message"].native != digest
            ):
                raise ValueError("token is for another digest")
            if nonce is not None and tst_info["nonce"].native != nonce:
                raise ValueError("token nonce does not match")
            tst_info["gen_time"].native  # noqa: B018 - must parse
            signer_info = signed_data["signer_infos"][0]
            signer_cert = extract_certificate_info(signed_data).signer_cert
            tst_digest = hashlib.new(
                signer_info["digest_algorithm"]["algorithm"].native, tst_der
            ).digest()
            intact, valid = validate_sig_integrity(signer_info, signer_cert, "tst_info", tst_digest)
            if not (intact and valid):
                raise ValueError("token signature does not verify")
        except _TsaFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoding problem is a bad response
            self._fail("bad_response", f"unusable timestamp response: {exc!r}")
        return token

    async def async_request_tsa_response(self, req):  # pragma: no cover - not used
        raise NotImplementedError

    async def async_timestamp(self, message_digest, md_algorithm):
        nonce, request = self.request_cms(message_digest, md_algorithm)
        token = self._check(self._post(request.dump()), nonce, message_digest, md_algorithm)
        size = len(token.dump())
        self.last_token_size = size
        self.largest_token = max(self.largest_token, size)
        if size > _TOKEN_SIZES.get(self.server.url, 0):
            if len(_TOKEN_SIZES) >= _TOKEN_SIZES_MAX:
                _TOKEN_SIZES.clear()
            _TOKEN_SIZES[self.server.url] = size
        return token


def request_timestamp_token(server, digest, md_algorithm="sha256"):
    """Ask ``server`` (a ``TimestampServer``) for an RFC 3161 token over ``digest``.

    The answer is checked (status, nonce, imprint, signature) before it is returned.

    :return: the token (a CMS ``ContentInfo``) as DER bytes
    :raises TimestampUnavailable: the server failed or answered something unusable, or
        failed a moment ago (params: reason)
    :raises UnsafeUrl: the server URL is not allowed
    """
    with breaker(server):
        client = TimestampClient(server)
        try:
            token = coroutines.run(client.async_timestamp(bytes(digest), md_algorithm))
        except _TsaFailure:
            raise client.unavailable() from None
    return token.dump()


# --- what a token says --------------------------------------------------------------------
def token_certificates(signed_data):
    """The DER certificates a token (its SignedData) carries: the TSA's and its chain."""
    return tuple(
        choice.chosen.dump()
        for choice in signed_data["certificates"] or ()
        if choice.name == "certificate"
    )


def token_time(signed_data):
    """The TSA's time (genTime, aware UTC) of a token (its SignedData)."""
    return x509.utc(signed_data["encap_content_info"]["content"].parsed["gen_time"].native)


def _read_timestamp_token(token_der):
    """``(signed_data, tst_info, fields for a TimestampCheck)`` of a DER token.

    :raises ValueError: not a readable token
    """
    try:
        token = cms.ContentInfo.load(bytes(token_der))
        if token["content_type"].native != "signed_data":
            raise ValueError("token is not SignedData")
        signed_data = token["content"]
        tst_info = signed_data["encap_content_info"]["content"].parsed
        gen_time = token_time(signed_data)
        certificates = token_certificates(signed_data)
        cert = x509.load_certificate(extract_certificate_info(signed_data).signer_cert.dump())
    except Exception as exc:  # noqa: BLE001 - any decoding problem: not a usable token
        raise ValueError(f"unreadable token: {exc!r}") from None
    return (
        signed_data,
        tst_info,
        {
            "gen_time": gen_time,
            "tsa_subject": cert.subject.rfc4514_string(),
            "tsa_fingerprint": x509.fingerprint(cert),
            "certificates": certificates,
        },
    )


def describe_timestamp_token(token_der):
    """What a token says (its time, its TSA certificate, the chain it carries), unchecked:
    for a token ``request_timestamp_token`` just checked.

    :return: a ``TimestampCheck`` with status ``unchecked`` (or ``damaged``)
    """
    try:
        return TimestampCheck(status="unchecked", **_read_timestamp_token(token_der)[2])
    except ValueError as exc:
        return TimestampCheck(status="damaged", detail=str(exc))


def check_timestamp_token(token_der, digest, *, trust_roots, md_algorithm="sha256"):
    """Check an RFC 3161 token: its imprint is ``digest``, its signature verifies with the
    TSA certificate it carries, and that certificate chains to one of ``trust_roots`` (valid
    at the token's own time). Never raises on bad input.

    :return: a ``TimestampCheck``
    """
    try:
        signed_data, tst_info, base = _read_timestamp_token(token_der)
    except ValueError as exc:
        return TimestampCheck(status="damaged", detail=str(exc))
    gen_time, certificates = base["gen_time"], base["certificates"]
    imprint = tst_info["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != md_algorithm or not hmac.compare_digest(
        imprint["hashed_message"].native, bytes(digest)
    ):
        return TimestampCheck(status="imprint_mismatch", detail="token is for other data", **base)
    context = ValidationContext(
        trust_roots=x509.asn1_certificates(trust_roots),
        other_certs=x509.asn1_certificates(certificates),
        allow_fetching=False,
        moment=gen_time,
        retroactive_revinfo=True,
    )
    try:
        status = TimestampSignatureStatus(
            **coroutines.run(validate_tst_signed_data(signed_data, context, bytes(digest)))
        )
    except Exception as exc:  # noqa: BLE001 - a signature that cannot be checked is invalid
        return TimestampCheck(status="signature_invalid", detail=f"{exc!r}", **base)
    if not (status.intact and status.valid):
        return TimestampCheck(
            status="signature_invalid", detail="signature does not verify", **base
        )
    if not status.trusted:
        return TimestampCheck(status="untrusted", detail="TSA certificate not trusted", **base)
    return TimestampCheck(status="valid", **base)
