"""Giving a number to an agent, and taking it back, on PostgreSQL, on the event loop.

The usual assign (a number without an agent in that direction, to an active agent of that
type) and the usual unassign (every agent of one direction, none of them holding it as its
primary) in one read and one statement, as ``numbers.hot_path`` does for creates and deletes,
and for the same reason (docs/benchmarks.md, writes). The rows and events are the service's
(``service.assignment_row``, ``assigned_event``, ``removal_event``); the number's version guards
every decision made from the read: any change to its agents counts it up, and a statement
that finds another version changes nothing, so the route decides afresh
(``assignments.router.QuickAssign``, ``QuickUnassign``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from callplane.assignments import service
from callplane.assignments.models import Assignment
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.hotdb import HotPool, Row, uuid_of
from callplane.events.service import event_row
from callplane.numbers import hot_path as numbers
from callplane.numbers.service import NumberView, view_with
from callplane.webhooks.outbox import Subscribers
from callplane.workspaces.authenticator import KEY_COLUMNS, KEY_COLUMNS_SQL


def _read(by: str) -> str:
    """The key; its subscribers; the agent named (NULLs: none of the workspace's); the number
    whose ``by`` is given (NULLs: none) and its assignments in ``assignments_of``'s order."""
    return f"""
SELECT {KEY_COLUMNS_SQL}, {numbers.SUBSCRIBERS_SQL},
  a.id, a.type, a.archived_at,
  (SELECT coalesce(jsonb_agg(jsonb_build_array(s.agent_id, s.direction, s.is_primary)
     ORDER BY s.created_at, s.agent_id), '[]'::jsonb)
   FROM assignments s WHERE s.number_id = n.id),
  {", ".join(f"n.{c}" for c in numbers.NUMBER_COLUMNS)}
FROM api_keys k
LEFT JOIN agents a ON a.workspace_id = k.workspace_id AND a.id = %(agent_id)s
LEFT JOIN phone_numbers n ON n.workspace_id = k.workspace_id AND n.{by} = %(ref)s
WHERE k.key_hash = %(key_hash)s
"""  # noqa: S608 - constant fragments; values are bound parameters


READ_SQL = {"id": _read("id"), "e164": _read("e164")}
_AGENT = KEY_COLUMNS + 1
_NUMBER = _AGENT + 4

# The number's new version: only if it is the version read (and, to assign, the agent is
# still active: FOR SHARE, as the service locks it, so that archiving it waits).
_ASSIGN_LEAD = """ag AS (
  SELECT a.id FROM agents a WHERE a.id = %(agent_id)s AND a.archived_at IS NULL FOR SHARE
),"""
_ASSIGN = """
  UPDATE phone_numbers SET version = version + 1, updated_at = %(now)s
  WHERE id = %(number_id)s AND version = %(version)s AND EXISTS (SELECT FROM ag)
  RETURNING version, updated_at"""
_UNASSIGN = """
  UPDATE phone_numbers SET version = version + 1, updated_at = %(now)s
  WHERE id = %(number_id)s AND version = %(version)s
  RETURNING version, updated_at"""
_UNASSIGN_FOLLOW = """r AS (
  DELETE FROM assignments WHERE number_id = %(number_id)s AND direction = %(direction)s
  AND EXISTS (SELECT FROM n)
),"""


@dataclass(frozen=True, slots=True)
class Found:
    """What a READ_SQL row says: the agent (None: not of the workspace), the number (None: not
    of the workspace) and its assignments."""

    agent_id: uuid.UUID | None
    agent_type: str | None
    agent_archived: bool
    number: NumberView | None
    assignments: list[Assignment]

    def assignable(self, direction: str) -> bool:
        """The usual assign, which the service makes without deciding anything: an active
        agent of that type (``service._require_type``, ``get_active_agent``) that does not
        have the number yet, and, inbound, no other agent answering it (the service refuses
        or, with ``replace``, moves it)."""
        current = [a for a in self.assignments if a.direction == direction]
        return (
            self.agent_id is not None
            and not self.agent_archived
            and self.agent_type == direction
            and self.number is not None
            and all(a.agent_id != self.agent_id for a in current)
            and not (direction == "inbound" and current)
        )

    def unassignable(self, direction: str) -> bool:
        """The usual unassign: agents of that direction to remove, none holding the number as
        its primary (the service then counts the agent's version up too)."""
        removed = [a for a in self.assignments if a.direction == direction]
        return self.number is not None and bool(removed) and not any(a.is_primary for a in removed)


def found_of(row: Row) -> Found:
    number_columns = dict(zip(numbers.NUMBER_COLUMNS, row[_NUMBER:], strict=True))
    held = [
        cast(Assignment, SimpleNamespace(agent_id=uuid_of(a), direction=d, is_primary=p))
        for a, d, p in row[_AGENT + 3]
    ]
    number = None if number_columns["id"] is None else numbers.view_of(number_columns)
    return Found(
        None if row[_AGENT] is None else uuid_of(row[_AGENT]),
        row[_AGENT + 1],
        row[_AGENT + 2] is not None,
        None if number is None else view_with(number.number, held),
        held,
    )


async def assign(
    pool: HotPool,
    actor: Actor,
    found: Found,
    agent_id: uuid.UUID,
    direction: str,
    subscribers: Subscribers,
) -> NumberView | None:
    """Give the number to the agent; None when the number or the agent changed meanwhile."""
    number = _number(found)
    now = utcnow()
    added = Assignment(
        number_id=number.id,
        agent_id=agent_id,
        workspace_id=actor.workspace_id,
        direction=direction,
        is_primary=False,
        created_at=now,
    )
    resource_ids, after = service.assigned_event(number.id, agent_id, direction)
    event, event_values = event_row(actor, service.ASSIGNED, resource_ids, after=after)
    follow = f"""a AS (
  INSERT INTO assignments ({numbers.names(_ASSIGNMENT_COLUMNS)})
  SELECT {numbers.names(_ASSIGNMENT_COLUMNS)}
  FROM jsonb_populate_record(NULL::assignments, %(assignment)s::jsonb)
  WHERE EXISTS (SELECT FROM n)
),"""  # noqa: S608 - column names from the table; values are bound parameters
    statement = numbers.audited(_ASSIGN, tuple(event_values), _ASSIGN_LEAD, follow)
    changed = await pool.one(
        statement,
        {
            "agent_id": agent_id,
            "now": now,
            "number_id": number.id,
            "version": number.version,
            "assignment": numbers.as_json(service.assignment_row(added)),
            **numbers.event_params(event, event_values, subscribers),
        },
    )
    if changed is None:
        return None
    return view_with(_changed(number, changed), [*found.assignments, added])


async def unassign(
    pool: HotPool, actor: Actor, found: Found, direction: str, subscribers: Subscribers
) -> NumberView | None:
    """Take the number from its agents of ``direction``; None when it changed meanwhile."""
    number = _number(found)
    removed = [a for a in found.assignments if a.direction == direction]
    resource_ids, before = service.removal_event(number, removed)
    event, event_values = event_row(actor, service.UNASSIGNED, resource_ids, before=before)
    statement = numbers.audited(_UNASSIGN, tuple(event_values), "", _UNASSIGN_FOLLOW)
    changed = await pool.one(
        statement,
        {
            "now": utcnow(),
            "number_id": number.id,
            "version": number.version,
            "direction": direction,
            **numbers.event_params(event, event_values, subscribers),
        },
    )
    if changed is None:
        return None
    kept = [a for a in found.assignments if a.direction != direction]
    return view_with(_changed(number, changed), kept)


_ASSIGNMENT_COLUMNS = tuple(c.name for c in Assignment.__table__.columns)


def _number(found: Found) -> Any:
    if found.number is None:
        raise ValueError("no number to change")
    return found.number.number


def _changed(number: Any, row: Row) -> Any:
    """The number as read, with the version and time of its change."""
    version, updated_at = row
    return SimpleNamespace(**{**vars(number), "version": version, "updated_at": updated_at})
