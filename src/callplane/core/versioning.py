"""A version on rows that clients edit concurrently: every change counts one up, in the database.

The version is what an ETag names (see core/conditional.py). It goes up inside the UPDATE itself
(``SET version = version + 1``), so two servers changing one row each add one and neither can
write back a number it read earlier. Two paths bump it:

- a change to the row's own columns, through the ORM: the ``before_flush`` hook below, which
  every service passes whichever surface (native, compatible, dashboard) called it;
- a change to rows that belong to its representation (a number's assignments): the service
  that changes them calls :func:`bump` for the rows they show in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Uuid, column, event, table, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value


class Versioned:
    """A row whose representation carries a version, counted up on every change."""

    version: Mapped[int] = mapped_column(default=1, server_default="1")


@event.listens_for(Session, "before_flush")
def _count_changes(session: Session, _context: Any, _instances: Any) -> None:
    for row in session.dirty:
        if isinstance(row, Versioned) and session.is_modified(row, include_collections=False):
            model: Any = type(row)
            row.version = model.version + 1


def bump(session: Session, model: Any, ids: Iterable[uuid.UUID]) -> None:
    """Count a change to rows of ``model`` made elsewhere (in a table their view includes)."""
    wanted = sorted(set(ids))
    if wanted:
        session.execute(update(model).where(model.id.in_(wanted)).values(version=model.version + 1))


def bump_row(session: Session, row: Any, **values: Any) -> None:
    """Count a change to one loaded row and set ``values`` on it, in one UPDATE … RETURNING.

    Through the ORM the same change took the hook's UPDATE and a SELECT to read the new
    version back; here the loaded object gets the version and values the row now holds.
    """
    model: Any = type(row)
    table_ = model.__table__
    version = session.execute(
        update(table_)
        .where(table_.c.id == row.id)
        .values(version=table_.c.version + 1, **values)
        .returning(table_.c.version)
    ).scalar_one()
    for name, value in {"version": version, **values}.items():
        set_committed_value(row, name, value)


def bump_table(session: Session, name: str, ids: Iterable[uuid.UUID]) -> None:
    """:func:`bump` by table name, for a package that may not import the model: an archived
    agent lets go of numbers, and the agents package does not import the numbers package."""
    rows = table(name, column("id", Uuid()), column("version"))
    wanted = sorted(set(ids))
    if wanted:
        session.execute(
            update(rows).where(rows.c.id.in_(wanted)).values(version=rows.c.version + 1)
        )
