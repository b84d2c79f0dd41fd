import re

import pytest

from engine import audit, otp, phone
from engine.errors import PhoneInvalid


def test_codes_are_six_digits_from_the_given_source():
    codes = {otp.generate_code() for _ in range(2000)}
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(codes) > 1900  # no constant or tiny space
    assert otp.generate_code(randbelow=lambda n: 42) == "000042"


@pytest.mark.parametrize(
    "typed,expected",
    [("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"),
     ("12345", ""), ("1234567", ""), ("12a456", ""), ("١٢٣٤٥٦", ""), (None, "")],
)
def test_normalize_code(typed, expected):
    assert otp.normalize_code(typed) == expected


def test_masks_hide_all_but_a_hint():
    assert otp.mask_phone("+33612345678") == "+33•••••5678"
    assert "612345" not in otp.mask_phone("+33612345678")
    assert otp.mask_email("jane.doe@example.com") == "j•••e@example.com"
    assert otp.mask_email("jo@example.com") == "j•••@example.com"
    assert otp.mask_email("") == ""


@pytest.mark.parametrize(
    "typed,region,expected",
    [("+46 70-123 45 67", None, "+46701234567"), ("070-123 45 67", "se", "+46701234567"),
     ("06 12 34 56 78", "FR", "+33612345678"), ("+1 (415) 555-2671", "BE", "+14155552671")],
)
def test_e164(typed, region, expected):
    assert phone.to_e164(typed, region) == expected


@pytest.mark.parametrize(
    "typed,region,code",
    [("", None, "phone_empty"), ("hello", "FR", "phone_unparseable"),
     ("0612345678", None, "phone_unparseable"), ("+33 12", None, "phone_invalid"),
     ("+46 70 123", None, "phone_invalid")],
)
def test_garbled_numbers_are_refused_with_a_code(typed, region, code):
    with pytest.raises(PhoneInvalid) as info:
        phone.to_e164(typed, region)
    assert info.value.code == code


def test_mobile_capability():
    assert phone.is_mobile_capable("+46701234567")
    assert not phone.is_mobile_capable("+4687654321")  # Stockholm landline


def _chain(rows):
    out, prev = [], ""
    for i, values in enumerate(rows, 1):
        digest = audit.chain_hash(prev, values)
        out.append([i, prev, digest, values])
        prev = digest
    return out


def test_chain_intact_and_each_tampering_named():
    rows = _chain([{"type": "created", "n": 1}, {"type": "sent", "n": 2}, {"type": "signed", "n": 3}])
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
