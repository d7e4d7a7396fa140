"""Phone numbers as residents write them → E.164, with Indonesia (+62) as the default region."""

from __future__ import annotations

import phonenumbers

from ktpel.office.notify.errors import InvalidPhone


def normalise(raw: str, *, region: str = "ID") -> str:
    """Return the E.164 form of `raw` (e.g. '0812-3456-7890' → '+6281234567890'); raise InvalidPhone."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise InvalidPhone(text[:32])
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(text) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(text)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def takes_sms_guess(e164: str) -> bool:
    """Whether a number is a mobile (SMS-capable); landlines (e.g. +62 21 …) are not."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
