"""The inventory as a person browses it: sorted, with a total, first and last pages in one seek.

The API pages forward by id only; a console also sorts by number, jumps to the last page and
shows how many numbers match. Both sort keys are unique columns (id, e164), so a page is one
index range whichever end it starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callplane.core.context import Actor
from callplane.core.errors import InvalidInput
from callplane.core.pagination import decode_cursor, encode_cursor
from callplane.numbers.models import PhoneNumber
from callplane.numbers.service import NumberFilters, NumberView, filtered, views

SORTS = ("number", "-number", "created", "-created")
# Counting stops here: past it a page says "more than 10,000". An exact count of a million
# matches reads a million index entries on every page view; a capped one costs what a page of
# 10,000 rows costs, so a page of a huge inventory stays as fast as a page of a small one.
COUNT_LIMIT = 10_000
Sort = Literal["number", "-number", "created", "-created"]


@dataclass(frozen=True, slots=True)
class Window:
    """Where a page starts: after or before a key, or at the first or the last page."""

    after: str | None = None
    before: str | None = None
    last: bool = False


@dataclass(frozen=True, slots=True)
class Browse:
    """One page, the keys of its neighbours, and how many numbers match (counted up to a cap)."""

    items: list[NumberView]
    total: int  # exact up to COUNT_LIMIT; COUNT_LIMIT + 1 means "more than COUNT_LIMIT"
    next_key: str | None  # the ``after`` of the next page
    previous_key: str | None  # the ``before`` of the previous page

    @property
    def total_is_exact(self) -> bool:
        return self.total <= COUNT_LIMIT


def browse_numbers(
    session: Session,
    actor: Actor,
    filters: NumberFilters,
    *,
    sort: Sort,
    window: Window,
    limit: int,
) -> Browse:
    query = filtered(actor, filters)
    capped = query.with_only_columns(PhoneNumber.id).limit(COUNT_LIMIT + 1).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    column: Any = PhoneNumber.e164 if sort.lstrip("-") == "number" else PhoneNumber.id
    descending = sort.startswith("-")
    backwards = window.last or window.before is not None
    if window.after is not None:
        key = _key(sort, window.after)
        query = query.where(column < key if descending else column > key)
    elif window.before is not None:
        key = _key(sort, window.before)
        query = query.where(column > key if descending else column < key)
    forward_order = column.desc() if descending else column.asc()
    backward_order = column.asc() if descending else column.desc()
    order = backward_order if backwards else forward_order
    rows = list(session.scalars(query.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and window.before is not None)
    has_previous = (more and backwards) or window.after is not None
    return Browse(
        views(session, rows),
        total,
        _render_key(sort, rows[-1]) if rows and has_next else None,
        _render_key(sort, rows[0]) if rows and has_previous else None,
    )


def _key(sort: str, text: str) -> Any:
    if sort.lstrip("-") == "number":
        if not text.startswith("+") or not text[1:].isdigit() or len(text) > 16:
            raise InvalidInput(
                "invalid_cursor", "page: not a page of this list", {"field": "after"}
            )
        return text
    return decode_cursor(text)


def _render_key(sort: str, number: PhoneNumber) -> str:
    return number.e164 if sort.lstrip("-") == "number" else encode_cursor(number.id)
