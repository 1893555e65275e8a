"""Form values to the API's own request models: the same validation, worded for people.

An HTML form sends only strings; these helpers turn "" into "not set", digits into numbers
and "US, CA" into a list, and hand the result to the pydantic model the native API uses.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from callplane.core.errors import InvalidInput
from callplane.dashboard.humane import explain_validation

M = TypeVar("M", bound=BaseModel)
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")


def text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def phone(value: str | None) -> str | None:
    """'+1 (628) 666-6348' as '+16286666348': people type separators, E.164 has none."""
    value = text(value)
    if value is not None and value.startswith("+"):
        return _PHONE_SEPARATORS.sub("", value)
    return value


def whole_number(value: str | None) -> int | str | None:
    """Digits become an int; anything else stays text for the model to refuse in words."""
    value = (value or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 12 else value


def code_list(value: str | None) -> list[str] | None:
    """'US, ca' as ['US', 'CA']; an empty field means no list (no restriction)."""
    items = [c.upper() for c in _LIST_SEPARATORS.split(value or "") if c]
    return items or None


def parse(model: type[M], values: dict[str, Any]) -> M:
    """Validate with the API's model; a refusal is an InvalidInput in human words."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput("invalid_form", explain_validation(exc.errors())) from exc
