"""Phone numbers, parsed once with ``phonenumbers``; country and type are derived, never trusted."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from callplane.core.errors import InvalidInput

_TYPES = {
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
}


# phonenumbers' own wording ("(0) Could not interpret numbers after plus-sign.") is not ours.
_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
        "does not start with a country calling code (the digits after '+', e.g. 1 or 44)"
    ),
    phonenumbers.NumberParseException.NOT_A_NUMBER: "is too short to be a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short for its country",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short for its country",
    phonenumbers.NumberParseException.TOO_LONG: "is too long for its country",
}


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    e164: str
    country_code: str | None
    number_type: str
    valid: bool

    @property
    def slug(self) -> str:
        return self.e164[1:]


@lru_cache(maxsize=65_536)
def _parse_cached(value: str, field: str) -> ParsedNumber:
    return _parse(value, field)


def parse_e164(value: object, field: str) -> ParsedNumber:
    """Parse an E.164 number; a string that is not even a *possible* number is a 422.

    Parsing is pure and costs tens of microseconds, and call routing parses the same few
    numbers over and over: results are memoised (errors are not, they are rare).
    """
    if isinstance(value, str):
        return _parse_cached(value, field)
    return _parse(value, field)


def _parse(value: object, field: str) -> ParsedNumber:
    """Parse an E.164 number; a string that is not even a *possible* number is a 422.

    A possible number that phonenumbers does not know as valid is kept, flagged ``valid=False``:
    test ranges and private plans must still be importable.
    """
    if isinstance(value, str) and value.startswith(" ") and value.strip().isdigit():
        # The classic slip: an unencoded '+' in a query string arrives as a space.
        raise _invalid(value, field, "starts with a space: in a URL, write the '+' as %2B")
    if not isinstance(value, str) or not value.startswith("+"):
        raise _invalid(value, field, "must be an E.164 string starting with '+'")
    digits = value[1:]
    if not digits.isdigit() or not 2 <= len(digits) <= 15:
        raise _invalid(value, field, "must be '+' followed by 2 to 15 digits")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "is not a phone number callplane can read")
        raise _invalid(value, field, reason) from exc
    if not phonenumbers.is_possible_number(number):
        raise _invalid(value, field, "is not a possible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    valid = phonenumbers.is_valid_number(number)
    # An invalid number has no region of its own: take its calling code's main country.
    region = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    )
    number_type = _TYPES.get(phonenumbers.number_type(number), "other") if valid else "other"
    return ParsedNumber(e164, region if region and region != "ZZ" else None, number_type, valid)


def parse_slug(value: str, field: str) -> ParsedNumber:
    """A slug is the E.164 without its '+'."""
    if not value.isdigit():
        raise _invalid(value, field, "a slug is the E.164 number without '+', digits only")
    return parse_e164("+" + value, field)


def _invalid(value: object, field: str, reason: str) -> InvalidInput:
    return InvalidInput(
        "invalid_phone_number",
        f"{field}: {value!r} {reason}",
        {"field": field, "value": value if isinstance(value, str | int) else repr(value)},
    )
