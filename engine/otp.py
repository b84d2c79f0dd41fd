"""One-time codes and the masking of contact details shown around them.

Codes are 6 digits drawn from ``secrets``. The engine never stores or compares codes: the
Odoo side keeps only an HMAC of (participant, code) and compares digests in constant time.
How long a code lives, how many tries it gets and how often it may be sent are the Odoo
side's policy (``const.OTP_*``).
"""

import secrets

CODE_DIGITS = 6


def generate_code(randbelow=secrets.randbelow):
    """Return a fresh code: ``CODE_DIGITS`` decimal digits, zero-padded."""
    return str(randbelow(10**CODE_DIGITS)).zfill(CODE_DIGITS)


def normalize_code(value):
    """Return the digits a person typed (spaces and dashes removed), or '' if it cannot be a
    code. Never raises: a malformed code is simply a wrong code."""
    digits = "".join(ch for ch in str(value or "") if not ch.isspace() and ch != "-")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        return ""
    return digits


def mask_email(email):
    """``jane.doe@example.com`` -> ``j•••e@example.com``."""
    email = (email or "").strip()
    if "@" not in email:
        return "•••" if email else ""
    local, _, domain = email.rpartition("@")
    if len(local) <= 2:
        shown = local[:1] + "•••"
    else:
        shown = local[0] + "•••" + local[-1]
    return f"{shown}@{domain}"


def mask_phone(number):
    """``+33612345678`` -> ``+33•••••5678`` (country code and last 4 digits only)."""
    number = (number or "").strip()
    digits = [ch for ch in number if ch.isdigit()]
    if len(digits) <= 4:
        return "•" * len(digits)
    prefix = "+" + "".join(digits[:2]) if number.startswith("+") else ""
    hidden = len(digits) - 4 - (2 if prefix else 0)
    return prefix + "•" * max(hidden, 1) + "".join(digits[-4:])
