"""The audit trail's hash chain.

Each event row stores ``hash = sha256(prev_hash || canonical_json(row))`` where ``prev_hash`` is
the hash of the previous event of the same request ('' for the first). Changing, deleting or
inserting any row breaks the chain at that row or the next one.
"""

import hashlib
import json

GENESIS = ""


def canonical_json(values):
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def chain_hash(prev_hash, values):
    """Return the hex hash of one row given the previous row's hash."""
    digest = hashlib.sha256()
    digest.update((prev_hash or GENESIS).encode("ascii"))
    digest.update(canonical_json(values))
    return digest.hexdigest()


def personal_digest(salt, ip, user_agent):
    """Commitment to an event's personal data (IP address and user agent).

    The chain hashes this digest instead of the raw values, so that the raw values can be
    erased after the retention period without breaking the chain. The salt (random, kept
    with the values and erased with them) stops anyone from guessing an erased IP address
    from the digest; while the values are kept, the digest shows they were not changed.
    """
    digest = hashlib.sha256()
    digest.update(bytes.fromhex(salt))
    digest.update(canonical_json({"ip": ip or "", "user_agent": user_agent or ""}))
    return digest.hexdigest()


def first_broken_link(rows):
    """Walk ``rows`` (iterable of ``(row_id, prev_hash, stored_hash, values)`` in chain order)
    and return ``(row_id, reason)`` for the first row that does not hold, or None.

    ``reason`` is ``'prev_mismatch'`` (a row was removed or inserted before this one) or
    ``'hash_mismatch'`` (this row's content changed).
    """
    expected_prev = GENESIS
    for row_id, prev_hash, stored_hash, values in rows:
        if (prev_hash or GENESIS) != expected_prev:
            return row_id, "prev_mismatch"
        if chain_hash(prev_hash, values) != stored_hash:
            return row_id, "hash_mismatch"
        expected_prev = stored_hash
    return None
