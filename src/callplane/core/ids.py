"""Prefixed, time-ordered identifiers.

Ids are UUIDv7 so that ordering by id is ordering by creation: keyset pagination on the primary
key then needs no second column. Each surface renders them its own way (``num_<uuid>`` natively
and for Truedy, the bare UUID for CallingBox), so parsing accepts both.
"""

from __future__ import annotations

import os
import time
import uuid

PREFIXES = {
    "workspace": "ws",
    "agent": "agt",
    "number": "num",
    "api_key": "key",
    "event": "evt",
}


def new_uuid() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def render(kind: str, value: uuid.UUID) -> str:
    return f"{PREFIXES[kind]}_{value}"


def parse(kind: str, text: str) -> uuid.UUID | None:
    """The UUID behind ``<prefix>_<uuid>`` or a bare UUID; None when the text is neither."""
    prefix = PREFIXES[kind] + "_"
    candidate = text[len(prefix) :] if text.startswith(prefix) else text
    if len(candidate) != 36:
        return None
    try:
        return uuid.UUID(candidate)
    except ValueError:
        return None
