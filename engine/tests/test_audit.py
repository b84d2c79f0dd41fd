"""The audit trail's hash chain and personal-data digests (engine/audit.py)."""

import pytest

from engine import audit


def _chain(rows):
    out, prev = [], ""
    for i, values in enumerate(rows, 1):
        digest = audit.chain_hash(prev, values)
        out.append([i, prev, digest, values])
        prev = digest
    return out


def test_chain_intact_and_each_tampering_named():
    rows = _chain(
        [{"type": "created", "n": 1}, {"type": "sent", "n": 2}, {"type": "signed", "n": 3}]
    )
    assert audit.first_broken_link(rows) is None
    changed = [list(r) for r in rows]
    changed[1][3] = {"type": "sent", "n": 99}
    assert audit.first_broken_link(changed) == (2, "hash_mismatch")
    deleted = [rows[0], rows[2]]
    assert audit.first_broken_link(deleted) == (3, "prev_mismatch")
    inserted = rows[:1] + [[9, rows[0][2], "x" * 64, {"type": "forged"}]] + rows[1:]
    assert audit.first_broken_link(inserted) == (9, "hash_mismatch")


def test_canonical_json_is_order_independent():
    assert audit.canonical_json({"b": 1, "a": "é"}) == audit.canonical_json({"a": "é", "b": 1})
    with pytest.raises(ValueError):
        audit.canonical_json({"x": float("nan")})


def test_personal_digest_binds_the_values_and_hides_them_without_the_salt():
    salt = "00112233445566778899aabbccddeeff"
    digest = audit.personal_digest(salt, "192.0.2.10", "Mozilla/5.0")
    assert digest == audit.personal_digest(salt, "192.0.2.10", "Mozilla/5.0")
    assert digest != audit.personal_digest(salt, "192.0.2.11", "Mozilla/5.0")
    assert digest != audit.personal_digest(salt, "192.0.2.10", "Mozilla/5.1")
    # Another salt, another digest: without the (erased) salt, no address can be tried.
    assert digest != audit.personal_digest("ff" * 16, "192.0.2.10", "Mozilla/5.0")
    assert audit.personal_digest(salt, "", None) == audit.personal_digest(salt, None, "")
