"""The inventory as a person browses it: sorted, with a total, first and last pages in one seek.

The API pages forward by id only; a console also sorts by number, jumps to the last page and
shows how many numbers match. Both sort keys are unique columns (id, e164), so a page is one
index range whichever end it starts from.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from callplane.core.context import Actor
from callplane.core.errors import InvalidInput
from callplane.core.pagination import decode_cursor, encode_cursor
from callplane.numbers.models import NumberCount, PhoneNumber
from callplane.numbers.search import Reading
from callplane.numbers.service import NumberFilters, agents_of, filtered

SORTS = ("number", "-number", "created", "-created")
# The whole inventory, a country, a status: those totals are read, exact, from the counts the
# database keeps (NumberCount). Other filters (a search, an agent, assigned or not) are counted
# row by row, and that counting stops here unless asked for the exact figure: past it a page
# says "more than 500". Each match counted is a row read (a search's index finds candidates,
# the row says whose they are), so an exact count of 8,000 matches in a million numbers costs
# several times the page itself; the first 500 cost a fraction of a page of a small inventory.
COUNT_LIMIT = 500
Sort = Literal["number", "-number", "created", "-created"]


@dataclass(frozen=True, slots=True)
class Window:
    """Where a page starts: after or before a key, or at the first or the last page."""

    after: str | None = None
    before: str | None = None
    last: bool = False


@dataclass(frozen=True, slots=True)
class Listed:
    """A number as a list shows it: who answers it, and its own columns (those of _LISTED).

    A page reads these columns alone, as plain rows: built as ORM objects with every column
    (and their assignments as well), 50 numbers cost more than finding them among a million.
    """

    inbound_agent_id: uuid.UUID | None
    outbound_agents: int  # how many agents may call from it
    id: uuid.UUID
    e164: str
    friendly_name: str | None
    country_code: str | None
    number_type: str
    status: str
    valid: bool
    provider: str | None
    source: str


# The columns of a Listed after the two read from the assignments, in its order.
_LISTED = (
    PhoneNumber.id,
    PhoneNumber.e164,
    PhoneNumber.friendly_name,
    PhoneNumber.country_code,
    PhoneNumber.number_type,
    PhoneNumber.status,
    PhoneNumber.valid,
    PhoneNumber.provider,
    PhoneNumber.source,
)


@dataclass(frozen=True, slots=True)
class Browse:
    """One page, the keys of its neighbours, and how many numbers match (counted up to a cap)."""

    items: list[Listed]
    total: int  # when not exact, the count's limit + 1: "more than the limit"
    total_is_exact: bool
    next_key: str | None  # the ``after`` of the next page
    previous_key: str | None  # the ``before`` of the previous page


def browse_numbers(
    session: Session,
    actor: Actor,
    filters: NumberFilters,
    *,
    sort: Sort,
    window: Window,
    limit: int,
    count_limit: int | None = COUNT_LIMIT,
) -> Browse:
    """A page; a total not kept is counted up to ``count_limit`` matches (None: all of them)."""
    total = _kept_total(session, actor, filters)
    exact = total is not None
    if total is None:
        reading: Reading = "all" if count_limit is None else "few"
        matches = filtered(session, actor, filters, reading=reading)
        matches = matches.with_only_columns(PhoneNumber.id)
        if count_limit is not None:
            # Written into the statement: PostgreSQL plans a statement the driver has prepared
            # (from its sixth run) once for any values, and for "LIMIT $1" it assumes a tenth
            # of the rows; at 1,000 numbers it then scanned the table instead of the index.
            matches = matches.limit(literal(count_limit + 1, literal_execute=True))
        total = int(session.scalar(select(func.count()).select_from(matches.subquery())) or 0)
        exact = count_limit is None or total <= count_limit
    by_number = sort.lstrip("-") == "number"
    # A search with many matches is paged by walking the id index in order (search.containing);
    # in number order the walk would visit every workspace's numbers (e164 is unique across
    # them), so there the search's candidates are read and sorted: at a million numbers, 30 ms
    # for a term in 0.8% of them, where the walk takes 400. More matches than the count's limit
    # are many: the page walks without asking the index how many there are.
    many = total > COUNT_LIMIT and filters.q is not None
    page_reading: Reading = "all" if by_number else "walk" if many else "pages"
    query = filtered(session, actor, filters, reading=page_reading)
    column: Any = PhoneNumber.e164 if by_number else PhoneNumber.id
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
    query = query.with_only_columns(*_LISTED).order_by(order).limit(limit + 1)
    rows = list(session.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = (more and not backwards) or (backwards and window.before is not None)
    has_previous = (more and backwards) or window.after is not None
    items = _listed(session, rows)
    return Browse(
        items,
        total,
        exact,
        _render_key(sort, items[-1]) if items and has_next else None,
        _render_key(sort, items[0]) if items and has_previous else None,
    )


def _listed(session: Session, rows: Sequence[Any]) -> list[Listed]:
    agents = agents_of(session, [r.id for r in rows])
    return [Listed(agents.inbound.get(r.id), len(agents.outbound.get(r.id, ())), *r) for r in rows]


def _kept_total(session: Session, actor: Actor, filters: NumberFilters) -> int | None:
    """The exact total from the kept counts, when the filters are ones they are kept by."""
    kept_by = {"country_code", "status"}
    if any(getattr(filters, f.name) is not None for f in fields(filters) if f.name not in kept_by):
        return None
    query = select(func.coalesce(func.sum(NumberCount.total), 0)).where(
        NumberCount.workspace_id == actor.workspace_id
    )
    if filters.country_code:
        query = query.where(NumberCount.country_code == filters.country_code.upper())
    if filters.status:
        query = query.where(NumberCount.status == filters.status)
    return int(session.scalar(query) or 0)


def _key(sort: str, text: str) -> Any:
    if sort.lstrip("-") == "number":
        if not text.startswith("+") or not text[1:].isdigit() or len(text) > 16:
            raise InvalidInput(
                "invalid_cursor", "page: not a page of this list", {"field": "after"}
            )
        return text
    return decode_cursor(text)


def _render_key(sort: str, number: Listed) -> str:
    return number.e164 if sort.lstrip("-") == "number" else encode_cursor(number.id)
