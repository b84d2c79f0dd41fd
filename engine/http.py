"""Outbound HTTP for every call the engine makes: the e-signature provider clients and the
RFC 3161 timestamp client (:mod:`.timestamp`).

This module is the only place in the engine that creates a ``requests.Session``:

* :func:`make_session` mounts an adapter whose urllib3 ``Retry`` retries **only GET and HEAD**
  (never POST, PUT or DELETE, whatever happened) on 429/502/503/504 and on connection
  failures, with exponential backoff plus jitter, and honours ``Retry-After`` as long as it
  is short (:data:`MAX_RETRY_AFTER`): a worker is waiting, so a longer wait is not slept
  here but handed to the caller as ``ProviderUnavailable.retry_after``. A read timeout is
  never retried (a slow provider would only be made slower).
* :func:`request` always sends a (connect, read) timeout, never follows redirects, always
  verifies TLS, refuses anything but ``https`` (``http`` only to loopback on a session made
  with ``allow_loopback=True``, for the local fake servers), reads the body with a size cap,
  and turns every failure into a typed error from :mod:`.errors`.
* :func:`shared_session` keeps one such session per caller and process.
* :func:`json_or_raise` parses a JSON body or raises ``provider_bad_response``.
* :func:`mask_secrets` and :class:`SecretMaskingFilter` keep credentials, tokens, full phone
  numbers and e-mail addresses out of logs.
"""

import email.utils
import ipaddress
import logging
import re
import secrets
import threading
import time
import urllib.parse
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from .errors import ProviderAuthError, ProviderRejected, ProviderUnavailable, UnsafeUrl
from .netguard import is_loopback_address, is_public_address
from .otp import mask_email, mask_phone

_logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (6.1, 30)
"""(connect, read) seconds. The read timeout applies to each socket read."""
MAX_RETRY_AFTER = 5.0
"""Longest ``Retry-After`` (seconds) slept in-process before retrying a GET/HEAD."""
BACKOFF_MAX = 4.0
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""Default cap on a response body (bytes, after content decoding)."""
ERROR_MESSAGE_MAX = 300
RETRY_STATUSES = frozenset({429, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})
USER_AGENT = "digital_sign-odoo/19.0"

_LOOPBACK_ATTR = "_digital_sign_allow_loopback"
_SHARED_SESSIONS = {}
_SHARED_SESSIONS_LOCK = threading.Lock()
_RNG = secrets.SystemRandom()
_CHUNK = 64 * 1024


# --- Retry policy -----------------------------------------------------------------------
class SafeRetry(Retry):
    """urllib3 ``Retry`` that never retries a non-idempotent method (not even on a
    connection error), caps the ``Retry-After`` it is willing to sleep, tolerates a garbage
    ``Retry-After`` header, and adds jitter drawn from ``secrets``."""

    def __init__(self, *args, max_retry_after=MAX_RETRY_AFTER, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw):
        kw.setdefault("max_retry_after", self.max_retry_after)
        return super().new(**kw)

    def get_retry_after(self, response):
        try:
            return super().get_retry_after(response)
        except (InvalidHeader, ValueError, OverflowError):
            return None

    def get_backoff_time(self):
        value = super().get_backoff_time()
        if value > 0 and self.backoff_factor:
            value += _RNG.uniform(0, self.backoff_factor)
        return min(value, self.backoff_max)

    def increment(
        self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None
    ):
        if (
            error is not None
            and method
            and not self._is_method_retryable(method)
            and not self._is_read_error(error)
        ):
            # A POST whose connection failed: report it, never send it again here.
            raise MaxRetryError(_pool, url, error) from error
        if response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after is not None and retry_after > self.max_retry_after:
                # Too long to hold a worker: hand the response (and its Retry-After) back.
                raise MaxRetryError(_pool, url, ResponseError("Retry-After beyond the limit"))
        return super().increment(
            method=method,
            url=url,
            response=response,
            error=error,
            _pool=_pool,
            _stacktrace=_stacktrace,
        )


def make_session(*, retries_for_safe_methods=2, backoff=0.5, allow_loopback=False):
    """Return a ``requests.Session`` for one provider client.

    :param retries_for_safe_methods: how many times a GET/HEAD is retried (429/502/503/504,
        connection failures); 0 disables retries. Other methods are never retried.
    :param backoff: exponential backoff factor (seconds); jitter up to the same amount is
        added from ``secrets.SystemRandom``; capped at :data:`BACKOFF_MAX`.
    :param allow_loopback: let :func:`request` call ``http://127.0.0.1``/``localhost`` (the
        fake servers of ``engine.testing``). Such a session also ignores proxy settings from
        the environment. Never set in production.
    """
    retries = max(int(retries_for_safe_methods or 0), 0)
    retry = SafeRetry(
        total=retries,
        connect=retries,
        read=False,
        redirect=0,
        status=retries,
        other=0,
        allowed_methods=SAFE_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=float(backoff or 0),
        backoff_max=BACKOFF_MAX,
        raise_on_redirect=False,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    setattr(session, _LOOPBACK_ATTR, bool(allow_loopback))
    if allow_loopback:
        session.trust_env = False
    return session


def shared_session(key, *, allow_loopback=False):
    """The process-wide session kept under ``key`` (made by :func:`make_session` on first
    use), so that the calls made for one caller reuse their connections.

    :param key: hashable, e.g. ``(database, provider id, allow_loopback)``
    """
    with _SHARED_SESSIONS_LOCK:
        session = _SHARED_SESSIONS.get(key)
        if session is None:
            session = _SHARED_SESSIONS[key] = make_session(allow_loopback=allow_loopback)
        return session


# --- URL check --------------------------------------------------------------------------
def _ip_literal(host):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url, *, allow_loopback=False):
    """Return ``url`` if a provider client may call it, else raise ``UnsafeUrl``.

    ``https`` to a name or a public address; ``http``/``https`` to 127.0.0.0/8, ::1 or
    ``localhost`` only with ``allow_loopback``. No DNS look-up is made here (configured
    base URLs are checked with :func:`.netguard.check_outbound_url` when saved).
    """
    try:
        parts = urllib.parse.urlsplit(url or "")
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeUrl("malformed URL", code="url_unsafe") from exc
    if not host or parts.username or parts.password or parts.scheme not in ("https", "http"):
        raise UnsafeUrl("not an absolute https URL", code="url_unsafe")
    address = _ip_literal(host)
    loopback = host == "localhost" or (address is not None and is_loopback_address(address))
    if loopback:
        if allow_loopback:
            return url
        raise UnsafeUrl("loopback address refused", code="url_unsafe")
    if parts.scheme != "https":
        raise UnsafeUrl("only https is allowed", code="url_unsafe")
    if address is not None and not is_public_address(address):
        raise UnsafeUrl("non-public address refused", code="url_unsafe")
    return url


# --- Errors -----------------------------------------------------------------------------
def parse_retry_after(value, *, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"\+\d[\d\s().-]{6,}\d|(?<!\d)\d{9,15}(?!\d)")
_LONG_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-.=+/]{40,}")


def scrub_text(text, limit=ERROR_MESSAGE_MAX):
    """Mask e-mail addresses, phone numbers and long token-like strings in provider text,
    collapse whitespace and truncate to ``limit`` characters."""
    text = " ".join(str(text or "").split())
    text = _LONG_TOKEN_RE.sub("•••", text)
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    text = _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def provider_message(response):
    """Return ``(message, provider_code)`` read from an error response body (JSON keys used by
    GetAccept, DocuSign and OAuth servers), scrubbed and truncated."""
    message, code = "", ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        nested = data.get("errorDetails")
        if isinstance(nested, dict):
            data = {**nested, **data}
        code = data.get("errorCode") or data.get("error_code") or ""
        error = data.get("error")
        if not code and isinstance(error, str) and re.fullmatch(r"[a-z_]{3,60}", error):
            code = error  # OAuth style: {"error": "invalid_grant"}
        parts = []
        for key in ("error", "message", "error_description", "description", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip() and value not in parts:
                parts.append(value.strip())
        message = ": ".join(parts)
    elif data is None:
        content_type = response.headers.get("Content-Type", "")
        if "html" not in content_type and "pdf" not in content_type:
            message = (response.content or b"")[:1000].decode("utf-8", "replace")
    return scrub_text(message), scrub_text(str(code), 80)


def raise_for_status(response):
    """Raise the typed error for a non-2xx response; return it unchanged otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return response
    message, provider_code = provider_message(response)
    detail = message or f"HTTP {status}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise ProviderUnavailable(
            detail,
            code="provider_rate_limited",
            retry_after=retry_after,
            status=status,
            provider_code=provider_code,
        )
    if status >= 500:
        raise ProviderUnavailable(
            detail,
            code="provider_server_error",
            retry_after=retry_after,
            status=status,
            provider_code=provider_code,
        )
    if status in (401, 403):
        raise ProviderAuthError(detail, status=status, provider_code=provider_code)
    if status == 404:
        raise ProviderRejected(
            detail, code="provider_not_found", status=status, provider_code=provider_code
        )
    if 400 <= status < 500:
        raise ProviderRejected(
            detail, code="provider_rejected", status=status, provider_code=provider_code
        )
    raise ProviderRejected(
        f"unexpected HTTP {status}",
        code="provider_bad_response",
        status=status,
        provider_code=provider_code,
    )


def _is_read_timeout(exc):
    """True if a read timeout hides anywhere in ``exc``'s chain (requests wraps urllib3's
    ``ReadTimeoutError`` in a ``ConnectionError`` while a body is being streamed)."""
    pending, seen = [exc], set()
    while pending and len(seen) < 20:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (ReadTimeoutError, requests.exceptions.ReadTimeout)):
            return True
        pending.append(getattr(current, "reason", None))
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        pending.extend((current.__cause__, current.__context__))
    return False


def _map_exception(exc, method, host):
    if isinstance(exc, requests.exceptions.Timeout) or _is_read_timeout(exc):
        return ProviderUnavailable(f"{method} to {host} timed out", code="provider_timeout")
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ),
    ):
        return UnsafeUrl("malformed URL", code="url_unsafe")
    return ProviderUnavailable(
        f"{method} to {host} failed: {type(exc).__name__}", code="provider_unreachable"
    )


def _read_capped(response, max_bytes, deadline):
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise ProviderRejected(
            "response too large",
            code="provider_bad_response",
            status=response.status_code,
            limit=max_bytes,
        )
    chunks, size = [], 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ProviderRejected(
                "response too large",
                code="provider_bad_response",
                status=response.status_code,
                limit=max_bytes,
            )
        if time.monotonic() > deadline:
            raise ProviderUnavailable("response body too slow", code="provider_timeout")
        chunks.append(chunk)
    return b"".join(chunks)


def request(
    session,
    method,
    url,
    *,
    timeout=DEFAULT_TIMEOUT,
    max_bytes=DEFAULT_MAX_BYTES,
    max_seconds=None,
    **kwargs,
):
    """Send one HTTP request and return the ``requests.Response`` of a 2xx answer, with its
    body already read (at most ``max_bytes``; ``response.content`` is set).

    Always passes ``timeout`` (connect, read), ``allow_redirects=False`` and
    ``verify=True``, whatever ``kwargs`` say. Other ``kwargs`` go to ``session.request``
    (``params``, ``json``, ``data``, ``headers``, ``auth``).

    :param max_seconds: the whole exchange must be over within this many seconds (checked
        while the body is read); default: four read timeouts, at least 60 s

    :raise UnsafeUrl: not https (http only to loopback on an ``allow_loopback`` session)
    :raise ProviderUnavailable: ``provider_timeout``, ``provider_unreachable``,
        ``provider_server_error`` (5xx), ``provider_rate_limited`` (429, ``retry_after`` set
        from ``Retry-After`` when given)
    :raise ProviderAuthError: 401/403
    :raise ProviderRejected: ``provider_not_found`` (404), ``provider_rejected`` (other
        4xx, ``detail`` = the provider's scrubbed message, ``params['provider_code']``),
        ``provider_bad_response`` (redirect, body over ``max_bytes``)
    :raise ProviderUnavailable: ``provider_timeout`` also when ``max_seconds`` ran out
    """
    check_url(url, allow_loopback=getattr(session, _LOOPBACK_ATTR, False))
    method = method.upper()
    host = urllib.parse.urlsplit(url).hostname
    for forced in ("allow_redirects", "verify", "stream", "timeout"):
        kwargs.pop(forced, None)
    if isinstance(timeout, (int, float)) and timeout > 0:
        timeout = (float(timeout), float(timeout))
    if not isinstance(timeout, (tuple, list)) or len(timeout) != 2:
        timeout = DEFAULT_TIMEOUT
    timeout = (timeout[0] or DEFAULT_TIMEOUT[0], timeout[1] or DEFAULT_TIMEOUT[1])
    read_timeout = timeout[1]
    if max_seconds is None:
        max_seconds = max(60.0, 4 * float(read_timeout))
    deadline = time.monotonic() + float(max_seconds)
    try:
        response = session.request(
            method, url, timeout=timeout, allow_redirects=False, verify=True, stream=True, **kwargs
        )
    except requests.exceptions.RequestException as exc:
        raise _map_exception(exc, method, host) from None
    try:
        body = _read_capped(response, max_bytes, deadline)
    except requests.exceptions.RequestException as exc:
        raise _map_exception(exc, method, host) from None
    finally:
        response.close()
    response._content = body
    response._content_consumed = True
    _logger.debug(
        "%s %s -> %s (%d bytes)", method, _loggable_url(url), response.status_code, len(body)
    )
    return raise_for_status(response)


def _loggable_url(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def json_or_raise(response):
    """Return the parsed JSON body of ``response``.

    :raise ProviderRejected: ``provider_bad_response`` when the body is not JSON
    """
    try:
        return response.json()
    except ValueError:
        raise ProviderRejected(
            "malformed JSON", code="provider_bad_response", status=response.status_code
        ) from None


# --- Masking ----------------------------------------------------------------------------
_SECRET_KEY_PARTS = (
    "token",
    "password",
    "passwd",
    "secret",
    "api_key",
    "apikey",
    "authorization",
    "private_key",
    "privatekey",
    "assertion",
    "cookie",
    "credential",
    "signature",
    "access_code",
    "accesscode",
    "otp_code",
)
_PHONE_KEY_PARTS = ("mobile", "phone", "sms_number", "senderprovidednumbers")
_BULK_KEY_PARTS = ("file_content", "documentbase64", "pdf")
_MASK = "***"


def _mask_phone_value(value):
    if isinstance(value, str):
        return mask_phone(value) if value else value
    if isinstance(value, dict):
        return {k: _mask_phone_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_phone_value(v) for v in value]
    return value


def mask_secrets(value):
    """Return a copy of ``value`` (dicts, lists, tuples, scalars) that is safe to log.

    Values under keys naming a secret (token, password, secret, api_key, authorization,
    private_key, assertion, signature, ...) become ``***``; phone numbers (keys with mobile
    or phone) keep the country code and last 4 digits; e-mail addresses anywhere keep their
    first and last character and the domain; base64 documents become their length.
    """
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            name = str(key).lower().replace("-", "_")
            if any(part in name for part in _SECRET_KEY_PARTS) and item not in (None, "", False):
                masked[key] = _MASK
            elif any(part in name for part in _PHONE_KEY_PARTS):
                masked[key] = _mask_phone_value(item)
            elif any(part in name for part in _BULK_KEY_PARTS) and isinstance(item, (str, bytes)):
                masked[key] = f"<{len(item)} chars>"
            else:
                masked[key] = mask_secrets(item)
        return masked
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_secrets(item) for item in value)
    if isinstance(value, str) and "@" in value:
        return _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), value)
    return value


class SecretMaskingFilter(logging.Filter):
    """Logging filter applying :func:`mask_secrets` to the arguments of a record (dicts,
    lists and tuples of them). Messages must still pass ids and references only: this is a
    safety net, not a licence to log payloads."""

    def filter(self, record):
        args = record.args
        if isinstance(args, dict):
            record.args = mask_secrets(args)
        elif isinstance(args, tuple) and any(isinstance(a, (dict, list, tuple)) for a in args):
            record.args = tuple(
                mask_secrets(a) if isinstance(a, (dict, list, tuple)) else a for a in args
            )
        return True


def install_masking_filter(logger):
    """Attach one :class:`SecretMaskingFilter` to ``logger`` (idempotent); return it."""
    if not any(isinstance(f, SecretMaskingFilter) for f in logger.filters):
        logger.addFilter(SecretMaskingFilter())
    return logger


install_masking_filter(_logger)
