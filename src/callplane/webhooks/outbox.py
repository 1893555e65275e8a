"""The outbox: every recorded event becomes one delivery per subscribed, enabled endpoint.

``callplane.events.service.record`` calls ``enqueue`` in the transaction that records the event,
so a delivery exists exactly when the change it reports committed: nothing is sent for a change
that rolled back, and nothing committed is left unsent. The delivery worker
(``callplane.webhooks.delivery``) reads the rows afterwards.

A transaction that records many events (a batch import) reads the workspace's endpoints once:
they are cached on the session until the transaction ends, and a change to an endpoint drops
the cache (``forget``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Uuid, bindparam, event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from callplane.core import ids
from callplane.events.catalog import ALL
from callplane.webhooks.models import WebhookDelivery, WebhookEndpoint

_CACHE = "callplane.webhook_subscribers"
# Core statements, written at once: the ORM's unit of work cost more than they do.
_INSERT = insert(WebhookDelivery.__table__)  # type: ignore[arg-type]
_SUBSCRIBERS = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
    WebhookEndpoint.enabled,
    WebhookEndpoint.workspace_id == bindparam("workspace_id", type_=Uuid()),
)

Subscribers = list[tuple[uuid.UUID, list[str]]]


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event just written: what its deliveries copy."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    type: str
    resource_ids: list[str]
    created_at: dt.datetime


def enqueue(session: Session, recorded: Recorded) -> None:
    """Queue ``recorded`` for every endpoint that wants its type."""
    rows = delivery_rows(recorded, _subscribers(session, recorded.workspace_id))
    if rows:
        session.execute(_INSERT, rows)


def delivery_rows(recorded: Recorded, subscribers: Subscribers) -> list[dict[str, Any]]:
    """The deliveries of ``recorded``: one per endpoint of ``subscribers`` that wants its type."""
    return [
        {
            "id": ids.new_uuid(),
            "workspace_id": recorded.workspace_id,
            "endpoint_id": endpoint_id,
            "event_id": recorded.id,
            "event_type": recorded.type,
            "resource_key": resource_key(recorded.resource_ids, recorded.id),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": recorded.created_at,
            "scheduled_at": recorded.created_at,
            "created_at": recorded.created_at,
            "updated_at": recorded.created_at,
        }
        for endpoint_id, types in subscribers
        if ALL in types or recorded.type in types
    ]


def resource_key(resource_ids: list[str], event_id: uuid.UUID) -> str:
    """What deliveries are ordered by: the event's first resource, else the event alone."""
    return resource_ids[0][:200] if resource_ids else ids.render("event", event_id)


def forget(session: Session, workspace_id: uuid.UUID) -> None:
    """Drop the cached endpoints of a workspace (after creating or changing one)."""
    session.info.get(_CACHE, {}).pop(workspace_id, None)


def _subscribers(session: Session, workspace_id: uuid.UUID) -> Subscribers:
    cache: dict[uuid.UUID, Subscribers] = session.info.setdefault(_CACHE, {})
    if workspace_id not in cache:
        rows = session.connection().execute(_SUBSCRIBERS, {"workspace_id": workspace_id})
        cache[workspace_id] = [(endpoint_id, list(types)) for endpoint_id, types in rows]
    return cache[workspace_id]


@event.listens_for(Session, "after_transaction_end")
def _end_of_transaction(session: Session, _transaction: SessionTransaction, *_: Any) -> None:
    session.info.pop(_CACHE, None)
