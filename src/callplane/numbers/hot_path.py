"""A number's create on PostgreSQL, on the event loop: one read and one statement, no ORM.

``POST /v1/numbers`` is the write a platform makes most (every number it buys or imports).
Through FastAPI's dependencies, a worker thread and the ORM it cost 3.2-4.1 ms of the server's
CPU, where the database spent under one (docs/benchmarks.md, writes). Here the key, the
workspace's caller-ID policy and its webhook endpoints come back from one read, and the number,
its audit event and the event's deliveries are inserted by one statement in autocommit: one
transaction, as in ``service.import_number``, written in two round trips on the event loop's
own connections (``core.hotdb``).

Nothing is decided twice. The rows are the service's: ``service.new_number_row``,
``events.service.event_row`` and ``webhooks.outbox.delivery_rows`` make them, and this module
only writes them (each as JSON, turned into the table's row type by PostgreSQL, so that a
column is named in one place: the dict that makes it). The insert is the service's too (``ON
CONFLICT (e164) DO NOTHING``): when it inserts nothing, the E.164 is held, and the caller hands
the request to the service, which says by whom (``numbers.router.QuickCreate``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.hotdb import HotPool, Row, uuid_of
from callplane.core.phone import ParsedNumber
from callplane.events.service import event_row
from callplane.numbers.models import PhoneNumber
from callplane.numbers.service import NumberInput, NumberView, new_number_row, snapshot
from callplane.reputation.service import POLICY_FIELDS, policy_from
from callplane.webhooks.models import WebhookDelivery
from callplane.webhooks.outbox import Subscribers, delivery_rows
from callplane.workspaces.authenticator import KEY_COLUMNS, KEY_COLUMNS_SQL

CREATED_EVENT = "number.imported"
_POLICY_COLUMNS = ", ".join(f"p.{name}" for name in POLICY_FIELDS)
# The key; whether the workspace has a caller-ID policy, and its columns; its enabled webhook
# endpoints with the event types each wants. No row: the key is not valid.
READ_SQL = f"""
SELECT {KEY_COLUMNS_SQL}, p.workspace_id IS NOT NULL, {_POLICY_COLUMNS},
  (SELECT coalesce(jsonb_agg(jsonb_build_array(e.id, e.event_types)), '[]'::jsonb)
   FROM webhook_endpoints e WHERE e.workspace_id = k.workspace_id AND e.enabled)
FROM api_keys k
LEFT JOIN caller_id_policies p ON p.workspace_id = k.workspace_id
WHERE k.key_hash = %(key_hash)s
"""  # noqa: S608 - constant fragments; values are bound parameters
_NUMBER_COLUMNS = tuple(c.name for c in PhoneNumber.__table__.columns)
# Every column: what delivery_rows leaves out has no default but NULL.
_DELIVERY_COLUMNS = tuple(c.name for c in WebhookDelivery.__table__.columns)


@dataclass(frozen=True, slots=True)
class Workspace:
    """What a create needs to know of the key's workspace, read with the key."""

    policy_row: dict[str, Any] | None
    subscribers: Subscribers


def workspace_of(row: Row) -> Workspace:
    """The workspace part of a READ_SQL row (its first KEY_COLUMNS are the key's)."""
    has_policy = row[KEY_COLUMNS]
    policy_values = row[KEY_COLUMNS + 1 : KEY_COLUMNS + 1 + len(POLICY_FIELDS)]
    endpoints = row[KEY_COLUMNS + 1 + len(POLICY_FIELDS)]
    return Workspace(
        dict(zip(POLICY_FIELDS, policy_values, strict=True)) if has_policy else None,
        [(uuid_of(endpoint_id), list(types)) for endpoint_id, types in endpoints],
    )


async def insert_number(
    pool: HotPool, actor: Actor, parsed: ParsedNumber, data: NumberInput, workspace: Workspace
) -> NumberView | None:
    """The number created, with its event and deliveries; None when its E.164 is held."""
    number_row = new_number_row(actor, parsed, data, utcnow(), policy_from(workspace.policy_row))
    picture = snapshot(NumberView(PhoneNumber(**number_row)))
    event, event_values = event_row(
        actor, CREATED_EVENT, [ids.render("number", number_row["id"])], after=picture
    )
    deliveries = delivery_rows(event, workspace.subscribers)
    statement = _insert_statement(tuple(number_row), tuple(event_values))
    inserted = await pool.one(
        statement,
        {
            "number": _json(number_row),
            "event": _json(event_values),
            "deliveries": _json(deliveries),
        },
    )
    if inserted is None:
        return None
    return NumberView(PhoneNumber(**dict(zip(_NUMBER_COLUMNS, inserted, strict=True))))


@functools.cache
def _insert_statement(number_keys: tuple[str, ...], event_keys: tuple[str, ...]) -> str:
    """The statement for rows with these keys, built once (the keys are the same every time).

    The event and its deliveries are inserted only with the number (``WHERE EXISTS``): a held
    E.164 leaves no trace. A data-modifying WITH runs whole, as one statement and transaction.
    """
    return f"""
WITH n AS (
  INSERT INTO phone_numbers ({_names(number_keys)})
  SELECT {_names(number_keys)} FROM jsonb_populate_record(NULL::phone_numbers, %(number)s::jsonb)
  ON CONFLICT (e164) DO NOTHING
  RETURNING {_names(_NUMBER_COLUMNS)}
), e AS (
  INSERT INTO events ({_names(event_keys)})
  SELECT {_names(event_keys)} FROM jsonb_populate_record(NULL::events, %(event)s::jsonb)
  WHERE EXISTS (SELECT FROM n)
), d AS (
  INSERT INTO webhook_deliveries ({_names(_DELIVERY_COLUMNS)})
  SELECT {_names(_DELIVERY_COLUMNS)}
  FROM jsonb_populate_recordset(NULL::webhook_deliveries, %(deliveries)s::jsonb)
  WHERE EXISTS (SELECT FROM n)
)
SELECT * FROM n
"""  # noqa: S608 - column names from the tables; values are bound parameters


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _json(value: Any) -> str:
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
