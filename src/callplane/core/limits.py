"""Request-size limits that every surface shares."""

from __future__ import annotations

from callplane.core.errors import InvalidInput

MAX_BATCH = 1000


def check_batch_size(count: int, field: str) -> None:
    if count > MAX_BATCH:
        raise InvalidInput(
            "batch_too_large",
            f"{field}: at most {MAX_BATCH} items per request, got {count}",
            {"field": field, "limit": MAX_BATCH, "count": count},
        )
