"""The audit log: every mutation records one event in the transaction that made it.

The event is written with a Core INSERT at once, not added to the ORM session for its flush:
every write records one, and the unit of work cost more Python than the statement
(docs/benchmarks.md, writes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String, cast, insert
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.pagination import Page, keyset_page
from callplane.core.tenancy import scoped
from callplane.events.models import Event
from callplane.webhooks import outbox

_INSERT = insert(Event.__table__)  # type: ignore[arg-type]


def record(
    session: Session,
    actor: Actor,
    type_: str,
    resource_ids: list[str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write the event in the change's transaction, and queue it for the webhooks that want it."""
    event, row = event_row(actor, type_, resource_ids, before=before, after=after)
    session.execute(_INSERT, row)
    outbox.enqueue(session, event)


def event_row(
    actor: Actor,
    type_: str,
    resource_ids: list[str],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> tuple[outbox.Recorded, dict[str, Any]]:
    """The event and its row, for a write that inserts it in a statement of its own making
    (a number's create on the event loop, ``numbers.hot_path``)."""
    event = outbox.Recorded(ids.new_uuid(), actor.workspace_id, type_, resource_ids, utcnow())
    return event, {
        "id": event.id,
        "created_at": event.created_at,
        "workspace_id": event.workspace_id,
        "type": type_,
        "actor_key_id": actor.key_id,
        "request_id": actor.request_id,
        "resource_ids": resource_ids,
        "before": before,
        "after": after,
    }


def list_events(
    session: Session, actor: Actor, *, type_: str | None, cursor: str | None, limit: int
) -> Page[Event]:
    query = scoped(Event, actor.workspace_id)
    if type_:
        query = query.where(Event.type == type_)
    return keyset_page(session, query, Event.id, cursor, limit, newest_first=True)


def search_events(
    session: Session,
    actor: Actor,
    *,
    type_: str | None = None,
    resource_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None,
    limit: int,
) -> Page[Event]:
    """The audit log filtered by type, by a resource it names, and by a time range."""
    query = scoped(Event, actor.workspace_id)
    if type_:
        query = query.where(Event.type == type_)
    if resource_id:
        escaped = resource_id.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        query = query.where(cast(Event.resource_ids, String).like(f'%"{escaped}"%', escape="\\"))
    if since is not None:
        query = query.where(Event.created_at >= since)
    if until is not None:
        query = query.where(Event.created_at < until)
    return keyset_page(session, query, Event.id, cursor, limit, newest_first=True)
