"""One-time codes and the masks of the contacts shown around them (engine/otp.py)."""

import re

import pytest

from engine import otp


def test_codes_are_six_digits_from_the_given_source():
    codes = {otp.generate_code() for _ in range(2000)}
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(codes) > 1900  # no constant or tiny space
    assert otp.generate_code(randbelow=lambda n: 42) == "000042"


@pytest.mark.parametrize(
    "typed,expected",
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("123-456", "123456"),
        ("12345", ""),
        ("1234567", ""),
        ("12a456", ""),
        ("١٢٣٤٥٦", ""),
        (None, ""),
    ],
)
def test_normalize_code(typed, expected):
    assert otp.normalize_code(typed) == expected


def test_masks_hide_all_but_a_hint():
    assert otp.mask_phone("+33612345678") == "+33•••••5678"
    assert "612345" not in otp.mask_phone("+33612345678")
    assert otp.mask_email("jane.doe@example.com") == "j•••e@example.com"
    assert otp.mask_email("jo@example.com") == "j•••@example.com"
    assert otp.mask_email("") == ""
