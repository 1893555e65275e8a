"""Keyset pagination on time-ordered ids: page N costs what page 1 costs."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from callplane.core.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def keyset_page(
    session: Session,
    query: Select[T],
    id_column: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> Page[T]:
    """One page of ``query`` after ``cursor``, by id: an index seek, whatever the depth."""
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(id_column < after if newest_first else id_column > after)
    order = id_column.desc() if newest_first else id_column
    rows = list(session.scalars(query.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last_id: uuid.UUID | None = getattr(rows[-1], "id", None) if rows else None
    return Page(rows, encode_cursor(last_id) if more and last_id else None)


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


@dataclass(frozen=True, slots=True)
class OffsetPage(Generic[T]):
    """A page of a list paged by offset, with the total the vendor APIs report beside it."""

    items: list[T]
    total: int


def offset_page(
    session: Session,
    query: Select[T],
    id_column: InstrumentedAttribute[uuid.UUID],
    offset: int,
    limit: int,
) -> OffsetPage[T]:
    """Offset paging, for the compatible APIs whose clients send ``limit``/``offset``.

    Deep pages cost a scan of what they skip; the native API pages by keyset instead.
    """
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if offset >= total:  # nothing to read; and PostgreSQL refuses an offset past a bigint
        return OffsetPage([], total)
    rows = list(session.scalars(query.order_by(id_column).offset(offset).limit(limit)))
    return OffsetPage(rows, total)
