"""Keyset pagination on time-ordered ids: page N costs what page 1 costs."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from callplane.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(
            "invalid_cursor", "cursor: not a cursor returned by this API", {"field": "cursor"}
        ) from exc
