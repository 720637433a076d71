"""Phone numbers as Vonage writes them: E.164 digits without the ``+`` (``442038297050``).

Parsing and classification are the ``phonenumbers`` library's (libphonenumber's metadata).
"""

from __future__ import annotations

import phonenumbers

from vcall._errors import InvalidInput

# libphonenumber type → the Numbers API's ``type``.
_TYPES = {
    "MOBILE": "mobile-lvn",
    "TOLL_FREE": "landline-toll-free",
}


def normalise(text: str) -> str:
    """``+44 20 3829 7050``, ``0044 20…`` or ``442038297050`` → ``442038297050``.

    Raises :class:`~vcall._errors.InvalidInput` for anything that is not a possible international number.
    """
    raw = text.strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif not raw.startswith("+"):
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise InvalidInput(
            f"{text!r} is not a phone number in international format (e.g. +44 20 3829 7050)"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def describe(msisdn: str) -> tuple[str, str]:
    """The ISO country and Numbers API type of ``msisdn`` (``("GB", "landline")``).

    Raises :class:`~vcall._errors.InvalidInput` when ``msisdn`` cannot be a phone number.
    """
    try:
        parsed = phonenumbers.parse("+" + msisdn, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(f"{msisdn!r} is not a phone number") from None
    # Unassigned ranges (e.g. Ofcom's drama numbers) have no region: use the country code's.
    country = phonenumbers.region_code_for_number(
        parsed
    ) or phonenumbers.region_code_for_country_code(parsed.country_code)
    kind = phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(parsed))
    return country, _TYPES.get(kind, "landline")


def sample_numbers(country: str, count: int) -> list[str]:
    """``count`` numbers of ``country`` shaped like real ones (libphonenumber's example
    landline with its last digits varied), or ``[]`` for an unknown country code."""
    example = phonenumbers.example_number_for_type(
        country.upper(), phonenumbers.PhoneNumberType.FIXED_LINE
    )
    if example is None:
        return []
    digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
    stem = digits[:-3]
    return [f"{stem}{(int(digits[-3:]) + i) % 1000:03d}" for i in range(1, count + 1)]


def pretty(msisdn: str) -> str:
    """``442038297050`` → ``+44 20 3829 7050`` (as written in its country)."""
    try:
        parsed = phonenumbers.parse("+" + msisdn, None)
    except phonenumbers.NumberParseException:
        return msisdn
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
