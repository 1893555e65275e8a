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

import functools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Uuid, bindparam, column, event, table, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.expression import TableClause


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
    """Count a change to rows of ``model`` made elsewhere (in a table their view includes).

    The rows of them this session has loaded get their new version, read back by the UPDATE:
    what the ORM's synchronisation of an UPDATE did, which cost more than the statement.
    """
    for id_, version, *updated_at in _bumped(session, model.__table__, ids):
        loaded = session.identity_map.get(identity_key(model, id_))
        if loaded is not None:
            set_committed_value(loaded, "version", version)
            if updated_at:  # the column's ``onupdate`` set it: the view shows the new time
                set_committed_value(loaded, "updated_at", updated_at[0])


def bump_row(session: Session, row: Any, **values: Any) -> None:
    """Count a change to one loaded row and set ``values`` on it, in one UPDATE … RETURNING.

    Through the ORM the same change took the hook's UPDATE and a SELECT to read the new
    version back; here the loaded object gets the version and values the row now holds.
    """
    table_ = type(row).__table__
    statement = _row_update(table_, tuple(sorted(values)))
    version = session.connection().execute(statement, {"row_id": row.id, **values}).scalar_one()
    for name, value in {"version": version, **values}.items():
        set_committed_value(row, name, value)


def bump_table(session: Session, name: str, ids: Iterable[uuid.UUID]) -> None:
    """:func:`bump` by table name, for a package that may not import the model: an archived
    agent lets go of numbers, and the agents package does not import the numbers package."""
    _bumped(session, _versioned_table(name), ids)


def _bumped(session: Session, table_: Any, ids: Iterable[uuid.UUID]) -> list[Any]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(session.connection().execute(_bump(table_), {"ids": wanted}))


# Statements built once per table (and per set of columns): building one took longer than
# running it, on every write that changes an assignment.
@functools.cache
def _versioned_table(name: str) -> TableClause:
    return table(name, column("id", Uuid()), column("version"))


@functools.cache
def _bump(table_: Any) -> Any:
    return (
        update(table_)
        .where(table_.c.id.in_(bindparam("ids", expanding=True)))
        .values(version=table_.c.version + 1)
        .returning(table_.c.id, table_.c.version, *_updated_at(table_))
    )


def _updated_at(table_: Any) -> list[Any]:
    return [table_.c.updated_at] if "updated_at" in table_.c else []


@functools.cache
def _row_update(table_: Any, columns: tuple[str, ...]) -> Any:
    return (
        update(table_)
        .where(table_.c.id == bindparam("row_id"))
        .values(version=table_.c.version + 1, **{c: bindparam(c) for c in columns})
        .returning(table_.c.version)
    )
