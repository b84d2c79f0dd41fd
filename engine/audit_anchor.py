"""Anchors of the audit chain, kept out of reach of whoever can write the database.

The hash chain of :mod:`.audit` shows that a row changed, unless whoever changed it also
recomputed every later hash and the head: someone with write access to the database can
rewrite a chain *consistently*. An anchor binds the head of a chain, at one moment, to
something they cannot produce:

* ``hmac``: HMAC-SHA256, with a key kept outside the database (the server's configuration),
  of ``(request id, event sequence, head hash, anchor time)``. Without the key nobody can make
  an anchor for a rewritten chain, nor move an existing one.
* ``tsa``: an RFC 3161 token whose message imprint is the head itself (the SHA-256 hash the
  chain already is), signed by a timestamp authority: anybody can check it with the TSA's
  certificate, and its time is the TSA's.

A chain rewritten after it was anchored no longer has the anchored hash at the anchored
sequence (or the anchor no longer verifies): :func:`check_anchor` says so.

Keys are text (e.g. ``secrets.token_urlsafe(32)``), at least :data:`MIN_KEY_LENGTH`
characters. Several keys may be given (comma- or line-separated): the first makes new
anchors, the others still verify older ones (rotation). Each anchor names its key by a
:func:`key_id` that reveals nothing about the key.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from . import timestamp
from .audit import canonical_json
from .errors import EngineError

ANCHOR_VERSION = "digital_sign-anchor-v1"
MIN_KEY_LENGTH = 32
MODES = ("hmac", "tsa")
# check_anchor() verdicts
STATUSES = (
    "valid",  # the chain still has the anchored head and the anchor verifies
    "rewritten",  # the event at the anchored sequence has another hash, or is gone
    "forged",  # the anchor itself does not verify (altered or made without the key/TSA)
    "unknown_key",  # HMAC made with a key that is not configured: cannot be checked
    "untrusted",  # TSA token sound, but its certificate is not trusted
)
_SPLIT_RE = re.compile(r"[\s,]+")


class AnchorKeyInvalid(EngineError):
    """The configured anchor key is unusable. Code: ``anchor_key_invalid`` (params:
    minimum)."""

    code = "anchor_key_invalid"


@dataclass(frozen=True)
class AnchorCheck:
    status: str  # one of STATUSES
    detail: str = ""  # for logs only
    tsa_subject: str = ""
    tsa_fingerprint: str = ""


def parse_keys(text):
    """The anchor keys in ``text`` (comma-, space- or line-separated), current one first.

    :return: tuple of ``bytes`` (empty when ``text`` holds none)
    :raises AnchorKeyInvalid: a key is shorter than :data:`MIN_KEY_LENGTH` characters
    """
    keys = tuple(part for part in _SPLIT_RE.split(text or "") if part)
    for key in keys:
        if len(key) < MIN_KEY_LENGTH:
            raise AnchorKeyInvalid("anchor key too short", minimum=MIN_KEY_LENGTH)
    return tuple(key.encode() for key in keys)


def key_id(key):
    """A short public name for ``key`` (16 hex digits): an HMAC of a constant, so it says
    which key made an anchor without helping anyone guess the key."""
    return hmac.new(key, b"digital_sign anchor key id", hashlib.sha256).hexdigest()[:16]


def anchor_message(request_id, sequence, head_hash, anchored_at):
    """The bytes an HMAC anchor covers. ``anchored_at``: ISO 8601 UTC text."""
    return canonical_json(
        {
            "version": ANCHOR_VERSION,
            "request": int(request_id),
            "sequence": int(sequence),
            "head": str(head_hash),
            "at": str(anchored_at),
        }
    )


def hmac_anchor(key, request_id, sequence, head_hash, anchored_at):
    """The HMAC-SHA256 (hex) anchoring ``head_hash`` at ``sequence`` of request
    ``request_id``."""
    message = anchor_message(request_id, sequence, head_hash, anchored_at)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_digest(head_hash):
    """The message imprint of a TSA anchor: the head hash's own bytes (SHA-256)."""
    digest = bytes.fromhex(head_hash or "")
    if len(digest) != 32:
        raise ValueError("a head hash is 64 hex digits")
    return digest


def timestamp_head(server, head_hash):
    """An RFC 3161 token over ``head_hash`` from ``server`` (a ``timestamp.TimestampServer``),
    asked through the one timestamp client (:func:`.timestamp.request_timestamp_token`).

    :return: ``(token_der, timestamp.TimestampCheck)``: the token (checked: imprint, nonce,
        signature) and what it says (its time, its TSA certificate and the chain it carries)
    :raises TimestampUnavailable: the server failed, or failed a moment ago (retryable)
    """
    token = timestamp.request_timestamp_token(server, head_digest(head_hash))
    return token, timestamp.describe_timestamp_token(token)


def check_anchor(anchor, current_hash, *, keys=(), tsa_trust_roots=()):
    """Check one anchor against the chain as it is now.

    :param anchor: mapping with ``mode``, ``request_id``, ``sequence``, ``head_hash``,
        ``anchored_at`` (ISO text, as anchored), and ``key_id`` + ``value`` (HMAC) or
        ``token`` (TSA token, DER bytes)
    :param current_hash: the hash the event at ``anchor['sequence']`` has now (None: gone)
    :param keys: the configured anchor keys (``parse_keys``)
    :param tsa_trust_roots: DER/PEM certificates trusted for timestamp tokens
    :return: an ``AnchorCheck``
    """
    if not current_hash or not hmac.compare_digest(str(current_hash), str(anchor["head_hash"])):
        return AnchorCheck("rewritten", "the anchored event changed or is gone")
    if anchor["mode"] == "hmac":
        key = next((k for k in keys if key_id(k) == anchor.get("key_id")), None)
        if key is None:
            return AnchorCheck("unknown_key", "made with a key that is not configured")
        expected = hmac_anchor(
            key,
            anchor["request_id"],
            anchor["sequence"],
            anchor["head_hash"],
            anchor["anchored_at"],
        )
        if not hmac.compare_digest(expected, str(anchor.get("value") or "")):
            return AnchorCheck("forged", "the HMAC does not verify")
        return AnchorCheck("valid")
    if anchor["mode"] == "tsa":
        try:
            digest = head_digest(anchor["head_hash"])
        except ValueError:
            return AnchorCheck("forged", "not a head hash")
        result = timestamp.check_timestamp_token(
            anchor.get("token") or b"", digest, trust_roots=tsa_trust_roots
        )
        extra = {"tsa_subject": result.tsa_subject, "tsa_fingerprint": result.tsa_fingerprint}
        if result.status == "valid":
            return AnchorCheck("valid", **extra)
        if result.status == "untrusted":
            return AnchorCheck("untrusted", result.detail, **extra)
        return AnchorCheck("forged", f"{result.status}: {result.detail}", **extra)
    return AnchorCheck("forged", f"unknown mode {anchor['mode']!r}")
