"""How values read on a page: numbers as people write them, times in UTC, ids shortened."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import phonenumbers
from jinja2 import Environment


@lru_cache(maxsize=65_536)
def international(e164: str | None) -> str:
    """'+16286666348' as '+1 628-666-6348'; a number phonenumbers cannot place stays E.164.

    Memoised: a page formats each of its numbers twice or more, and pages repeat.
    """
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@lru_cache(maxsize=65_536)
def national(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def cents(value: int | None) -> str:
    return f"${(value or 0) / 100:,.2f}"


def install(env: Environment) -> None:
    filters: dict[str, Any] = {
        "international": international,
        "national": national,
        "when": when,
        "cents": cents,
    }
    env.filters.update(filters)
