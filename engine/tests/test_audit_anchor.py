"""Anchors of the audit chain (engine.audit_anchor): HMAC with a key outside the database,
and RFC 3161 timestamps of the head from the runtime test PKI's TSA on 127.0.0.1."""

import secrets
from datetime import datetime, timedelta, timezone

import pytest

from engine import audit, audit_anchor
from engine.errors import TimestampUnavailable
from engine.testing import pki
from engine.timestamp import TimestampServer

KEY = secrets.token_urlsafe(32)
OLD_KEY = secrets.token_urlsafe(32)
AT = "2025-03-01T10:00:00Z"


def chain(rows, request_id=7):
    """``[(sequence, values, hash)]`` for a list of event values, chained as the database
    does it."""
    out, prev = [], audit.GENESIS
    for sequence, values in enumerate(rows, start=1):
        values = {"request": request_id, "sequence": sequence, **values}
        digest = audit.chain_hash(prev, values)
        out.append((sequence, values, digest))
        prev = digest
    return out


def rewrite(events, sequence, **changes):
    """What an insider with database access does: change one event and recompute every
    hash after it, so the chain holds again."""
    rows = [dict(values) for _seq, values, _hash in events]
    rows[sequence - 1].update(changes)
    out, prev = [], audit.GENESIS
    for seq, values in enumerate(rows, start=1):
        digest = audit.chain_hash(prev, values)
        out.append((seq, values, digest))
        prev = digest
    return out


def hmac_anchor_of(events, sequence, key=KEY.encode(), request_id=7, at=AT):  # noqa: B008 - bytes
    head = events[sequence - 1][2]
    return {
        "mode": "hmac",
        "request_id": request_id,
        "sequence": sequence,
        "head_hash": head,
        "anchored_at": at,
        "key_id": audit_anchor.key_id(key),
        "value": audit_anchor.hmac_anchor(key, request_id, sequence, head, at),
    }


EVENTS = chain(
    [
        {"type": "created"},
        {"type": "sent"},
        {"type": "signed", "details": "x"},
        {"type": "completed"},
    ]
)


# --- keys -----------------------------------------------------------------------------------
def test_keys_are_parsed_current_first_and_short_ones_refused():
    assert audit_anchor.parse_keys("") == ()
    assert audit_anchor.parse_keys(None) == ()
    assert audit_anchor.parse_keys(f" {KEY} ,\n{OLD_KEY}\n") == (KEY.encode(), OLD_KEY.encode())
    with pytest.raises(audit_anchor.AnchorKeyInvalid) as info:
        audit_anchor.parse_keys(f"{KEY},short")
    assert info.value.code == "anchor_key_invalid"
    assert info.value.params["minimum"] == audit_anchor.MIN_KEY_LENGTH


def test_key_id_names_a_key_without_revealing_it():
    key_id = audit_anchor.key_id(KEY.encode())
    assert key_id == audit_anchor.key_id(KEY.encode())
    assert key_id != audit_anchor.key_id(OLD_KEY.encode())
    assert len(key_id) == 16 and key_id not in KEY


# --- HMAC anchors ---------------------------------------------------------------------------
def test_an_untouched_chain_verifies_against_its_hmac_anchor():
    anchor = hmac_anchor_of(EVENTS, 3)
    result = audit_anchor.check_anchor(anchor, EVENTS[2][2], keys=(KEY.encode(),))
    assert result.status == "valid"


def test_a_consistent_rewrite_is_caught_by_the_anchor():
    anchor = hmac_anchor_of(EVENTS, 3)
    rewritten = rewrite(EVENTS, 2, type="sent", details="forged")
    # the rewritten chain holds on its own: only the anchor tells
    prevs = ["", *(digest for _seq, _values, digest in rewritten)]
    rows = [(seq, prevs[seq - 1], digest, values) for seq, values, digest in rewritten]
    assert audit.first_broken_link(rows) is None
    result = audit_anchor.check_anchor(anchor, rewritten[2][2], keys=(KEY.encode(),))
    assert result.status == "rewritten"
    # a rewrite after the anchored event leaves the anchor holding (it covers up to #3)
    later = rewrite(EVENTS, 4, type="completed", details="later")
    assert audit_anchor.check_anchor(anchor, later[2][2], keys=(KEY.encode(),)).status == "valid"
    # the anchored event removed
    assert audit_anchor.check_anchor(anchor, None, keys=(KEY.encode(),)).status == "rewritten"


def test_an_anchor_moved_onto_the_rewritten_chain_does_not_verify():
    anchor = hmac_anchor_of(EVENTS, 3)
    rewritten = rewrite(EVENTS, 2, details="forged")
    moved = {**anchor, "head_hash": rewritten[2][2]}  # the insider updates the anchor too
    result = audit_anchor.check_anchor(moved, rewritten[2][2], keys=(KEY.encode(),))
    assert result.status == "forged"
    for field, value in (
        ("sequence", 2),
        ("request_id", 8),
        ("anchored_at", "2030-01-01T00:00:00Z"),
    ):
        tampered = {**anchor, field: value}
        current = EVENTS[tampered["sequence"] - 1][2] if field == "sequence" else EVENTS[2][2]
        tampered["head_hash"] = current
        assert (
            audit_anchor.check_anchor(tampered, current, keys=(KEY.encode(),)).status == "forged"
        ), field
    # made with a key of one's own
    own = hmac_anchor_of(rewritten, 3, key=secrets.token_urlsafe(32).encode())
    assert (
        audit_anchor.check_anchor(own, rewritten[2][2], keys=(KEY.encode(),)).status
        == "unknown_key"
    )


def test_rotated_keys_still_verify_older_anchors():
    anchor = hmac_anchor_of(EVENTS, 2, key=OLD_KEY.encode())
    keys = audit_anchor.parse_keys(f"{KEY},{OLD_KEY}")
    assert audit_anchor.check_anchor(anchor, EVENTS[1][2], keys=keys).status == "valid"
    assert audit_anchor.check_anchor(anchor, EVENTS[1][2], keys=keys[:1]).status == "unknown_key"
    assert audit_anchor.check_anchor(anchor, EVENTS[1][2], keys=()).status == "unknown_key"


# --- RFC 3161 anchors -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def ca():
    return pki.Pki(label="anchor test")


@pytest.fixture
def tsa(ca):
    with ca.timestamp_server() as server:
        yield server


def tsa_anchor_of(events, sequence, token):
    return {
        "mode": "tsa",
        "request_id": 7,
        "sequence": sequence,
        "head_hash": events[sequence - 1][2],
        "anchored_at": "",
        "token": token,
    }


def test_the_tsa_timestamps_the_head_itself_with_its_own_time(ca, tsa):
    tsa_time = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    tsa.clock = lambda: tsa_time
    head = EVENTS[2][2]
    token, info = audit_anchor.timestamp_head(tsa.server(), head)
    assert info.gen_time == tsa_time  # the TSA's time, never the local clock
    assert "anchor test TSA" in info.tsa_subject
    assert ca.tsa.cert_der in info.certificates
    result = audit_anchor.check_anchor(
        tsa_anchor_of(EVENTS, 3, token), head, tsa_trust_roots=ca.trust_roots
    )
    assert result.status == "valid"
    assert result.tsa_fingerprint == info.tsa_fingerprint


def test_a_tsa_anchor_catches_a_rewrite_and_cannot_be_moved(ca, tsa):
    token, _info = audit_anchor.timestamp_head(tsa.server(), EVENTS[2][2])
    anchor = tsa_anchor_of(EVENTS, 3, token)
    rewritten = rewrite(EVENTS, 1, details="forged")
    assert (
        audit_anchor.check_anchor(anchor, rewritten[2][2], tsa_trust_roots=ca.trust_roots).status
        == "rewritten"
    )
    moved = {**anchor, "head_hash": rewritten[2][2]}
    assert (
        audit_anchor.check_anchor(moved, rewritten[2][2], tsa_trust_roots=ca.trust_roots).status
        == "forged"
    )
    flipped = bytearray(token)
    flipped[-5] ^= 0x01  # one bit of the signature
    assert (
        audit_anchor.check_anchor(
            {**anchor, "token": bytes(flipped)}, EVENTS[2][2], tsa_trust_roots=ca.trust_roots
        ).status
        == "forged"
    )
    assert (
        audit_anchor.check_anchor(
            {**anchor, "token": b"\x30\x03\x02\x01\x00"},
            EVENTS[2][2],
            tsa_trust_roots=ca.trust_roots,
        ).status
        == "forged"
    )


def test_a_token_from_a_tsa_of_ones_own_is_not_trusted(ca):
    other = pki.Pki(label="insider")
    with other.timestamp_server() as own_tsa:
        token, _info = audit_anchor.timestamp_head(own_tsa.server(), EVENTS[2][2])
    result = audit_anchor.check_anchor(
        tsa_anchor_of(EVENTS, 3, token), EVENTS[2][2], tsa_trust_roots=ca.trust_roots
    )
    assert result.status == "untrusted"
    assert "insider" in result.tsa_subject


def test_a_tsa_that_is_down_or_answers_garbage_raises_a_retryable_error(tsa):
    for mode in ("unavailable", "garbage", "reject", "wrong_imprint"):
        tsa.set_mode(mode)
        with pytest.raises(TimestampUnavailable) as info:
            audit_anchor.timestamp_head(tsa.server(timeout=2), EVENTS[2][2])
        assert info.value.retryable, mode
    with pytest.raises(TimestampUnavailable):
        audit_anchor.timestamp_head(
            TimestampServer(url=pki.refused_url(), timeout=2, allow_loopback=True), EVENTS[2][2]
        )


def test_only_head_hashes_are_timestamped(tsa):
    with pytest.raises(ValueError):
        audit_anchor.timestamp_head(tsa.server(), "not a hash")
