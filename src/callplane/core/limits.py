"""Request-size limits that every surface shares: batches, bodies, headers and JSON nesting."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from itertools import accumulate, count

from callplane.core.errors import InvalidInput

MAX_BATCH = 1000


def check_batch_size(count: int, field: str) -> None:
    if count > MAX_BATCH:
        raise InvalidInput(
            "batch_too_large",
            f"{field}: at most {MAX_BATCH} items per request, got {count}",
            {"field": field, "limit": MAX_BATCH, "count": count},
        )


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """What one request may cost before the application looks at it (see docs/security.md)."""

    max_body_bytes: int = 2 * 1024 * 1024
    # Request line and header section together; no legitimate client comes close.
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100
    # Deeper JSON serves no field of any surface and makes recursive code (parsers, validators,
    # serialisers) fail; the deepest real document (agent metadata) needs a handful of levels.
    max_json_depth: int = 32
    # The whole body must arrive within this long after the headers: a slow client is cut off
    # instead of holding a coroutine, a buffer and (were it admitted) a database slot.
    body_timeout_seconds: float = 10.0


# A JSON string with its escapes (to the end of the body when it is never closed).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
# Opening brackets step 2, closing ones 0: the running sum minus the count so far is the depth.
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when ``body``, read as JSON, nests arrays and objects deeper than ``limit``.

    Checked on the raw bytes before any parser recurses into them, and in C-level iteration
    (about 0.1 s for the worst 2 MB body, the order of parsing it; a Python loop would hold the
    event loop ten times as long). Brackets inside strings do not count; malformed JSON is left
    to the parser, which answers it with its own error.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    steps = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET).translate(_STEPS)
    deepest: int = max(map(operator.sub, accumulate(steps), count(1)))
    return deepest > limit
