"""Phone numbers to E.164 with ``phonenumbers`` (provider payloads, participant mobiles)."""

import phonenumbers

from .errors import PhoneInvalid


def to_e164(number, default_region=None):
    """Return ``number`` as E.164 (``+4670...``).

    :param number: what a person typed (spaces, dots, dashes, national or international form)
    :param default_region: ISO 3166 alpha-2 country used when the number has no ``+`` prefix
    :raise PhoneInvalid: ``phone_empty``, ``phone_unparseable`` or ``phone_invalid``
    """
    raw = (number or "").strip()
    if not raw:
        raise PhoneInvalid("empty phone number", code="phone_empty")
    region = (default_region or "").upper() or None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneInvalid(f"unparseable phone number: {exc}", code="phone_unparseable") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneInvalid("not a valid phone number", code="phone_invalid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile_capable(e164):
    """True if an E.164 number may receive SMS (mobile, or fixed-or-mobile where the numbering
    plan cannot tell)."""
    parsed = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PAGER,
        phonenumbers.PhoneNumberType.VOIP,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    )
