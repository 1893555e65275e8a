"""Agents: who answers a number (inbound) or calls from it (outbound)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Uuid, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from callplane.agents.models import Agent
from callplane.assignments.models import IS_PRIMARY, Assignment
from callplane.core import ids
from callplane.core.conditional import NO_PRECONDITIONS, Preconditions, entity_tag
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict, InvalidInput, not_found
from callplane.core.pagination import OffsetPage, Page, keyset_page, offset_page
from callplane.core.tenancy import scoped, scoped_once
from callplane.core.versioning import bump_table
from callplane.events import service as events

EDITABLE_FIELDS = (
    "outbound_strategy",
    "when_all_benched",
    "allowed_outbound_countries",
    "stream_url",
    "returns",
    "tools",
    "name",
    "persona",
    "instructions",
    "voice",
    "language",
    "webhook_url",
    "voicemail_action",
)


@dataclass(frozen=True, slots=True)
class AgentView:
    agent: Agent
    primary_number_id: uuid.UUID | None


# get_agent's statements, built once (every assign starts here), by the lock they take.
_BY_ID = scoped_once(Agent).where(Agent.id == bindparam("agent_id", type_=Uuid()))
_LOCKED = _BY_ID.with_for_update()
_SHARED = _BY_ID.with_for_update(read=True)


def get_agent(
    session: Session, actor: Actor, ref: str, *, lock: bool = False, shared: bool = False
) -> Agent:
    """``lock``: FOR UPDATE, or with ``shared`` FOR SHARE (PostgreSQL; SQLite has one writer)."""
    agent_id = ids.parse("agent", ref)
    statement = (_SHARED if shared else _LOCKED) if lock else _BY_ID
    values = {"workspace_id": actor.workspace_id, "agent_id": agent_id}
    agent = session.scalar(statement, values) if agent_id else None
    if agent is None:
        raise not_found("agent", ref)
    return agent


def get_active_agent(session: Session, actor: Actor, ref: str, *, shared: bool = False) -> Agent:
    """The agent, locked for the rest of the transaction, refusing an archived one.

    ``shared``: for a change that only needs the agent to stay as it is (not archived, same
    type) until it commits, such as giving it a number. Such changes then run side by side
    instead of one at a time behind each other's COMMIT, while archiving or editing the agent
    (FOR UPDATE) still waits for them, and they for it.
    """
    agent = get_agent(session, actor, ref, lock=True, shared=shared)
    if agent.archived_at is not None:
        raise Conflict(
            "agent_archived",
            f"agent '{ref}' is archived and takes no new numbers or changes",
            {"agent_id": ids.render("agent", agent.id)},
        )
    return agent


def view(session: Session, agent: Agent) -> AgentView:
    return AgentView(agent, primary_number_of(session, agent.id))


def primary_number_of(session: Session, agent_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(Assignment.number_id).where(Assignment.agent_id == agent_id, IS_PRIMARY)
    )


def create_agent(session: Session, actor: Actor, fields: dict[str, Any]) -> AgentView:
    agent = Agent(
        id=ids.new_uuid(), workspace_id=actor.workspace_id, created_by_key_id=actor.key_id, **fields
    )
    session.add(agent)
    session.flush()
    events.record(
        session,
        actor,
        "agent.created",
        [ids.render("agent", agent.id)],
        after=snapshot(agent, None),
    )
    return AgentView(agent, None)


def list_agents(
    session: Session,
    actor: Actor,
    *,
    type_: str | None,
    include_archived: bool,
    cursor: str | None,
    limit: int,
) -> Page[AgentView]:
    query = scoped(Agent, actor.workspace_id)
    if type_:
        query = query.where(Agent.type == type_)
    if not include_archived:
        query = query.where(Agent.archived_at.is_(None))
    page = keyset_page(session, query, Agent.id, cursor, limit)
    return Page(_views(session, page.items), page.next_cursor)


def list_agents_by_offset(
    session: Session,
    actor: Actor,
    *,
    type_: str | None = None,
    name: str | None = None,
    include_archived: bool = False,
    offset: int,
    limit: int,
) -> OffsetPage[AgentView]:
    """Agents paged by offset with a total, ``name`` a case-insensitive substring (vendor lists)."""
    query = scoped(Agent, actor.workspace_id)
    if type_:
        query = query.where(Agent.type == type_)
    if name:
        pattern = "%" + name.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(Agent.name.ilike(pattern, escape="\\"))
    if not include_archived:
        query = query.where(Agent.archived_at.is_(None))
    page = offset_page(session, query, Agent.id, offset, limit)
    return OffsetPage(_views(session, page.items), page.total)


def _views(session: Session, rows: list[Agent]) -> list[AgentView]:
    """Agents with their primary numbers, loaded in one query for the whole list."""
    primaries = {
        agent_id: number_id
        for agent_id, number_id in session.execute(
            select(Assignment.agent_id, Assignment.number_id).where(
                Assignment.agent_id.in_([a.id for a in rows]), IS_PRIMARY
            )
        )
    }
    return [AgentView(a, primaries.get(a.id)) for a in rows]


def update_agent(
    session: Session,
    actor: Actor,
    ref: str,
    changes: dict[str, Any],
    preconditions: Preconditions = NO_PRECONDITIONS,
) -> AgentView:
    """Apply a partial update; ``primary_number_id`` must name one of the agent's own numbers."""
    agent = get_active_agent(session, actor, ref)
    preconditions.check(entity_tag(agent.id, agent.version))
    before = snapshot(agent, primary_number_of(session, agent.id))
    if "type" in changes and changes["type"] != agent.type and _has_numbers(session, agent.id):
        raise Conflict(
            "agent_has_numbers",
            "an agent's type can change only while it holds no numbers; detach them first",
            {"agent_id": ids.render("agent", agent.id)},
        )
    for field in (*EDITABLE_FIELDS, "type"):
        if field in changes:
            setattr(agent, field, changes[field])
    if "metadata" in changes:
        agent.meta = changes["metadata"]
    if "primary_number_id" in changes:
        _set_primary(session, agent, changes["primary_number_id"])
    agent.updated_at = utcnow()
    session.flush()
    result = view(session, agent)
    events.record(
        session,
        actor,
        "agent.updated",
        [ids.render("agent", agent.id)],
        before=before,
        after=snapshot(agent, result.primary_number_id),
    )
    return result


def archive_agent(
    session: Session, actor: Actor, ref: str, preconditions: Preconditions = NO_PRECONDITIONS
) -> AgentView:
    """Archive the agent and release every number it holds, in one transaction.

    Releasing frees its inbound numbers for another agent at once; calls to them meanwhile
    take the number's fallback path.
    """
    agent = get_agent(session, actor, ref, lock=True)
    preconditions.check(entity_tag(agent.id, agent.version))
    if agent.archived_at is not None:
        return AgentView(agent, None)
    released = list(
        session.scalars(select(Assignment.number_id).where(Assignment.agent_id == agent.id))
    )
    before = snapshot(agent, primary_number_of(session, agent.id))
    session.execute(delete(Assignment).where(Assignment.agent_id == agent.id))
    bump_table(session, "phone_numbers", released)  # each number's view lists its agents
    agent.archived_at = utcnow()
    agent.updated_at = agent.archived_at
    session.flush()
    events.record(
        session,
        actor,
        "agent.archived",
        [ids.render("agent", agent.id), *(ids.render("number", n) for n in released)],
        before={**before, "number_ids": [ids.render("number", n) for n in released]},
        after=snapshot(agent, None),
    )
    return AgentView(agent, None)


def _has_numbers(session: Session, agent_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(exists().where(Assignment.agent_id == agent_id))))


def _set_primary(session: Session, agent: Agent, number_ref: str | None) -> None:
    session.execute(
        update(Assignment)
        .where(Assignment.agent_id == agent.id, IS_PRIMARY)
        .values(is_primary=False)
    )
    if number_ref is None:
        return
    number_id = ids.parse("number", number_ref)
    held = (
        session.execute(
            update(Assignment)
            .where(Assignment.agent_id == agent.id, Assignment.number_id == number_id)
            .values(is_primary=True)
        )
        if number_id
        else None
    )
    if held is None or held.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidInput(
            "primary_number_not_attached",
            f"primary_number_id: '{number_ref}' is not one of this agent's numbers",
            {"field": "primary_number_id", "value": number_ref},
        )


def snapshot(agent: Agent, primary_number_id: uuid.UUID | None) -> dict[str, Any]:
    """The audit-log picture of an agent."""
    return {
        "name": agent.name,
        "type": agent.type,
        "voicemail_action": agent.voicemail_action,
        "primary_number_id": ids.render("number", primary_number_id) if primary_number_id else None,
        "archived": agent.archived_at is not None,
    }


def number_counts(session: Session, agent_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many numbers each agent holds, in one grouped query for a whole list."""
    rows = session.execute(
        select(Assignment.agent_id, func.count())
        .where(Assignment.agent_id.in_(agent_ids))
        .group_by(Assignment.agent_id)
    )
    return {agent_id: int(count) for agent_id, count in rows}
