"""A number's create and delete on PostgreSQL, on the event loop: one read, one statement, no ORM.

Creating and deleting numbers are the writes a platform makes most (every number it buys,
imports or gives back). Through FastAPI's dependencies, a worker thread and the ORM each cost
3.2-4.6 ms of the server's CPU, where the database spent under one (docs/benchmarks.md,
writes). Here the key, and what the write needs of the workspace (its caller-ID policy, its
webhook endpoints, the number to delete) come back from one read, and the change, its audit
event and the event's deliveries are made by one statement in autocommit: one transaction, as
in the service, written in two round trips on the event loop's own connections
(``core.hotdb``).

Nothing is decided twice. The rows are the service's: ``service.new_number_row``,
``events.service.event_row`` and ``webhooks.outbox.delivery_rows`` make them, and this module
only writes them (each as JSON, turned into the table's row type by PostgreSQL, so that a
column is named in one place: the dict that makes it). Whatever the usual case is not (a held
E.164; a number with agents, bought from a provider, or changed since it was read) the
statement leaves untouched, and the caller hands the request to the service
(``numbers.router.QuickCreate``, ``QuickDelete``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import DomainError
from callplane.core.hotdb import HotPool, Row, uuid_of
from callplane.core.phone import ParsedNumber
from callplane.events.service import event_row
from callplane.numbers.models import PhoneNumber
from callplane.numbers.references import parse_ref
from callplane.numbers.service import NumberInput, NumberView, new_number_row, snapshot
from callplane.providers import releases
from callplane.reputation.service import POLICY_FIELDS, policy_from
from callplane.webhooks.models import WebhookDelivery
from callplane.webhooks.outbox import Recorded, Subscribers, delivery_rows
from callplane.workspaces.authenticator import KEY_COLUMNS, KEY_COLUMNS_SQL

CREATED_EVENT = "number.imported"
DELETED_EVENT = "number.deleted"
_POLICY_COLUMNS = ", ".join(f"p.{name}" for name in POLICY_FIELDS)
NUMBER_COLUMNS = tuple(c.name for c in PhoneNumber.__table__.columns)
# The workspace's enabled webhook endpoints, with the event types each wants.
SUBSCRIBERS_SQL = """(
  SELECT coalesce(jsonb_agg(jsonb_build_array(e.id, e.event_types)), '[]'::jsonb)
  FROM webhook_endpoints e WHERE e.workspace_id = k.workspace_id AND e.enabled)"""
# The key; whether the workspace has a caller-ID policy, and its columns; its subscribers.
# No row: the key is not valid.
CREATE_READ_SQL = f"""
SELECT {KEY_COLUMNS_SQL}, {SUBSCRIBERS_SQL}, p.workspace_id IS NOT NULL, {_POLICY_COLUMNS}
FROM api_keys k
LEFT JOIN caller_id_policies p ON p.workspace_id = k.workspace_id
WHERE k.key_hash = %(key_hash)s
"""  # noqa: S608 - constant fragments; values are bound parameters


def _delete_read(by: str) -> str:
    """The key; its subscribers; the number of its workspace whose ``by`` is given (NULLs
    when there is none) and whether any agent holds it."""
    return f"""
SELECT {KEY_COLUMNS_SQL}, {SUBSCRIBERS_SQL},
  EXISTS (SELECT FROM assignments s WHERE s.number_id = n.id),
  {", ".join(f"n.{c}" for c in NUMBER_COLUMNS)}
FROM api_keys k
LEFT JOIN phone_numbers n ON n.workspace_id = k.workspace_id AND n.{by} = %(ref)s
WHERE k.key_hash = %(key_hash)s
"""  # noqa: S608 - constant fragments; values are bound parameters


DELETE_READ_SQL = {"id": _delete_read("id"), "e164": _delete_read("e164")}
_UNSET = dict.fromkeys(NUMBER_COLUMNS)  # a column new_number_row leaves out is NULL or defaulted
# Every column: what delivery_rows leaves out has no default but NULL.
_DELIVERY_COLUMNS = tuple(c.name for c in WebhookDelivery.__table__.columns)


def subscribers_of(row: Row) -> Subscribers:
    """The webhook endpoints of a read's row (the column after the key's)."""
    return [(uuid_of(endpoint_id), list(types)) for endpoint_id, types in row[KEY_COLUMNS]]


def policy_row_of(row: Row) -> dict[str, Any] | None:
    """The caller-ID policy's columns of a CREATE_READ_SQL row; None: the defaults."""
    start = KEY_COLUMNS + 2
    if not row[KEY_COLUMNS + 1]:
        return None
    return dict(zip(POLICY_FIELDS, row[start : start + len(POLICY_FIELDS)], strict=True))


def ref_key(text: str, field: str) -> tuple[str, Any] | None:
    """How a read finds the number ``text`` names: (the column, its value); None when the
    reference rules refuse it (the route says why)."""
    try:
        ref = parse_ref(text, field)
    except DomainError:
        return None
    return ("id", ref.number_id) if ref.number_id is not None else ("e164", ref.e164)


@dataclass(frozen=True, slots=True)
class Found:
    """The number a DELETE_READ_SQL row names, and whether an agent holds it."""

    view: NumberView
    held_by_agents: bool

    @property
    def deletable(self) -> bool:
        """The usual delete: no agent to detach (and no primary to clear), no subscription
        to cancel at a provider (``releases``); anything else is the service's to do."""
        return not self.held_by_agents and not releases.releasable(self.view.number)


def found_of(row: Row) -> Found | None:
    start = KEY_COLUMNS + 2
    if row[start] is None:  # its id: no such number in the workspace
        return None
    return Found(view_of(dict(zip(NUMBER_COLUMNS, row[start:], strict=True))), row[KEY_COLUMNS + 1])


async def insert_number(
    pool: HotPool,
    actor: Actor,
    parsed: ParsedNumber,
    data: NumberInput,
    policy_row: dict[str, Any] | None,
    subscribers: Subscribers,
) -> NumberView | None:
    """The number created, with its event and deliveries; None when its E.164 is held."""
    number_row = new_number_row(actor, parsed, data, utcnow(), policy_from(policy_row))
    number_id = ids.render("number", number_row["id"])
    picture = snapshot(view_of({**_UNSET, **number_row}))
    event, event_values = event_row(actor, CREATED_EVENT, [number_id], after=picture)
    statement = audited(_insert(tuple(number_row)), tuple(event_values))
    params = {"number": as_json(number_row), **event_params(event, event_values, subscribers)}
    inserted = await pool.one(statement, params)
    if inserted is None:
        return None
    return view_of(dict(zip(NUMBER_COLUMNS, inserted, strict=True)))


async def delete_number(
    pool: HotPool, actor: Actor, removed: NumberView, subscribers: Subscribers
) -> bool:
    """Delete a number no agent holds, unless it changed since ``removed`` was read (its
    version) or an agent took it meanwhile; with its event and deliveries. Whether it did."""
    number = removed.number
    event, event_values = event_row(
        actor, DELETED_EVENT, [ids.render("number", number.id)], before=snapshot(removed)
    )
    statement = audited(_DELETE, tuple(event_values))
    params = {
        "id": number.id,
        "version": number.version,
        **event_params(event, event_values, subscribers),
    }
    return await pool.one(statement, params) is not None


def view_of(columns: dict[str, Any]) -> NumberView:
    """A number's view of its columns as read, without an ORM object: the view is only read
    (the answer, the audit picture), and building a mapped instance, attribute by attribute
    through the ORM's instrumentation, cost a tenth of the request."""
    return NumberView(cast(PhoneNumber, SimpleNamespace(**columns)))


def _insert(number_keys: tuple[str, ...]) -> str:
    return f"""
  INSERT INTO phone_numbers ({names(number_keys)})
  SELECT {names(number_keys)} FROM jsonb_populate_record(NULL::phone_numbers, %(number)s::jsonb)
  ON CONFLICT (e164) DO NOTHING
  RETURNING {names(NUMBER_COLUMNS)}"""  # noqa: S608 - column names; values are parameters


_DELETE = """
  DELETE FROM phone_numbers WHERE id = %(id)s AND version = %(version)s
  AND NOT EXISTS (SELECT FROM assignments s WHERE s.number_id = %(id)s)
  RETURNING id"""


@functools.cache
def audited(change: str, event_keys: tuple[str, ...], lead: str = "", follow: str = "") -> str:
    """``change`` (``n``) with its event and the event's deliveries, built once per shape;
    ``lead`` and ``follow``: more of the WITH, before and after ``n`` (each ending in a comma).

    The event and its deliveries are written only when ``change`` changed a row (``WHERE
    EXISTS``): a write left undone leaves no trace. A data-modifying WITH runs whole, as one
    statement and transaction.
    """
    return f"""
WITH {lead} n AS ({change}
), {follow} e AS (
  INSERT INTO events ({names(event_keys)})
  SELECT {names(event_keys)} FROM jsonb_populate_record(NULL::events, %(event)s::jsonb)
  WHERE EXISTS (SELECT FROM n)
), d AS (
  INSERT INTO webhook_deliveries ({names(_DELIVERY_COLUMNS)})
  SELECT {names(_DELIVERY_COLUMNS)}
  FROM jsonb_populate_recordset(NULL::webhook_deliveries, %(deliveries)s::jsonb)
  WHERE EXISTS (SELECT FROM n)
)
SELECT * FROM n
"""  # noqa: S608 - column names from the tables; values are bound parameters


def event_params(
    event: Recorded, values: dict[str, Any], subscribers: Subscribers
) -> dict[str, str]:
    return {"event": as_json(values), "deliveries": as_json(delivery_rows(event, subscribers))}


def names(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def as_json(value: Any) -> str:
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
