"""Prefixed, time-ordered identifiers.

Ids are UUIDv7 so that ordering by id is ordering by creation: keyset pagination on the primary
key then needs no second column. Each surface renders them its own way (``num_<uuid>`` natively
and for Truedy, the bare UUID for CallingBox), so parsing accepts both.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

PREFIXES = {
    "workspace": "ws",
    "agent": "agt",
    "number": "num",
    "api_key": "key",
    "event": "evt",
    "release": "rel",
    "selection": "sel",
    "webhook_endpoint": "we",
    "webhook_delivery": "whd",
}


_lock = threading.Lock()
_last = 0
_RANDOM_TAIL = (1 << 62) - 1


def new_uuid() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Within one process ids are strictly increasing even inside one millisecond (the random
    tail is incremented, RFC 9562 method 2), so a batch keeps its order when sorted by id.
    """
    global _last
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    with _lock:
        if value <= _last and (_last & _RANDOM_TAIL) != _RANDOM_TAIL:
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)


def first_uuid_at(millis: int) -> uuid.UUID:
    """The smallest UUIDv7 of that Unix millisecond: ``id >= it`` means "created since then"."""
    return uuid.UUID(int=(millis & ((1 << 48) - 1)) << 80)


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
