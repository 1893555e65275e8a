"""Assignments: which agent answers a number (inbound) and which agents call from it (outbound).

The rules that need both an agent and a number live here, above the agents and numbers
services, so neither of those imports the other.

Lock order is always agent, then numbers (by id), so concurrent requests queue instead of
deadlocking (giving an agent numbers shares the agent's lock: those run side by side); the
partial unique indexes turn any race the locks miss into a 409, never a second inbound agent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from callplane.agents.models import Agent
from callplane.agents.service import AgentView, get_active_agent, get_agent
from callplane.agents.service import view as agent_view
from callplane.assignments.models import Assignment
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict, InvalidInput, NotFound
from callplane.core.pagination import Page
from callplane.core.versioning import bump, bump_row
from callplane.events import service as events
from callplane.numbers.models import PhoneNumber
from callplane.numbers.references import (
    NumberRef,
    find_numbers,
    get_number,
    missing_error,
    parse_ref,
    parse_refs,
)
from callplane.numbers.service import (
    NumberFilters,
    NumberView,
    assignments_of,
    list_numbers,
    view_with,
    views,
)

# Core: the ORM's unit of work cost more than the statement (docs/benchmarks.md, writes).
_INSERT = insert(Assignment.__table__)  # type: ignore[arg-type]
ASSIGNED = "number.assigned"
UNASSIGNED = "number.unassigned"


@dataclass(frozen=True, slots=True)
class UnassignResult:
    number: NumberView
    removed_agent_ids: list[uuid.UUID]
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class AttachResult:
    agent: AgentView
    numbers: list[NumberView]
    newly_attached: int


def attach_outbound(
    session: Session, actor: Actor, agent_ref: str, refs: Sequence[NumberRef]
) -> AttachResult:
    """Attach many numbers at once: idempotent, duplicates folded, all or nothing (rule 4)."""
    agent = get_active_agent(session, actor, agent_ref, shared=True)
    _require_type(agent, "outbound")
    numbers = require_numbers(session, actor, refs, lock=True)
    held = set(
        session.scalars(
            select(Assignment.number_id).where(
                Assignment.agent_id == agent.id, Assignment.number_id.in_([n.id for n in numbers])
            )
        )
    )
    new = [n for n in numbers if n.id not in held]
    if new:
        now = utcnow()
        session.execute(
            insert(Assignment),
            [
                {
                    "number_id": n.id,
                    "agent_id": agent.id,
                    "workspace_id": actor.workspace_id,
                    "direction": "outbound",
                    "is_primary": False,
                    "created_at": now,
                }
                for n in new
            ],
        )
        bump(session, PhoneNumber, [n.id for n in new])
        events.record(
            session,
            actor,
            "number.attached",
            [ids.render("agent", agent.id), *(ids.render("number", n.id) for n in new)],
            after={
                "agent_id": ids.render("agent", agent.id),
                "direction": "outbound",
                "number_ids": [ids.render("number", n.id) for n in new],
            },
        )
    return AttachResult(agent_view(session, agent), views(session, numbers), len(new))


def give_numbers(session: Session, actor: Actor, agent_ref: str, refs: Sequence[str]) -> None:
    """Attach numbers in the agent's direction, all or none: every missing one is reported."""
    if not refs:
        return
    require_numbers(session, actor, parse_refs([("number_ids", list(refs))]))
    for ref in dict.fromkeys(refs):
        attach(session, actor, agent_ref, ref)


def require_numbers(
    session: Session, actor: Actor, refs: Sequence[NumberRef], *, lock: bool = False
) -> list[PhoneNumber]:
    """The numbers ``refs`` name, each once; a 404 listing every reference that names none."""
    found = find_numbers(session, actor, refs, lock=lock)
    missing = [r for r in refs if r not in found]
    if missing:
        raise missing_error(missing)
    return list({n.id: n for n in found.values()}.values())


def numbers_of(
    session: Session, actor: Actor, agent_ref: str, *, cursor: str | None, limit: int
) -> Page[NumberView]:
    """The numbers an agent holds, in either direction; a 404 for an agent not in the workspace."""
    agent = get_agent(session, actor, agent_ref)
    filters = NumberFilters(agent_id=ids.render("agent", agent.id))
    return list_numbers(session, actor, filters, cursor=cursor, limit=limit)


def attach(session: Session, actor: Actor, agent_ref: str, number_ref: str) -> AgentView:
    """Give one number to an agent in the agent's own direction (inbound agents answer it)."""
    agent = get_agent(session, actor, agent_ref)
    if agent.type == "inbound":
        assign(session, actor, number_ref, agent_ref, "inbound")
        return agent_view(session, agent)
    return attach_outbound(session, actor, agent_ref, [parse_ref(number_ref, "number_id")]).agent


def detach(session: Session, actor: Actor, agent_ref: str, number_ref: str) -> AgentView:
    """Remove every assignment the agent has of the number; its primary goes with it (rule 6-7)."""
    agent = get_agent(session, actor, agent_ref, lock=True)
    number = get_number(session, actor, number_ref, lock=True)
    removed = session.scalar(
        select(Assignment).where(Assignment.agent_id == agent.id, Assignment.number_id == number.id)
    )
    if removed is None:
        raise NotFound(
            "number_not_attached",
            f"number '{number_ref}' is not attached to agent '{agent_ref}'",
            {
                "agent_id": ids.render("agent", agent.id),
                "number_id": ids.render("number", number.id),
            },
        )
    _record_removal(session, actor, "number.detached", number, [removed])
    session.execute(
        delete(Assignment).where(Assignment.agent_id == agent.id, Assignment.number_id == number.id)
    )
    _count_removal(session, number, [removed])
    return agent_view(session, agent)


def assign(
    session: Session,
    actor: Actor,
    number_ref: str,
    agent_ref: str,
    direction: str,
    *,
    replace: bool = False,
) -> NumberView:
    """Give a number to an agent in one direction; a second inbound agent needs ``replace``."""
    agent = get_active_agent(session, actor, agent_ref, shared=True)
    _require_type(agent, direction)
    number = get_number(session, actor, number_ref, lock=True)
    assignments = assignments_of(session, number.id)
    current = [a for a in assignments if a.direction == direction]
    if any(a.agent_id == agent.id for a in current):
        return view_with(number, assignments)
    if direction == "inbound" and current:
        holder = current[0]
        if not replace:
            raise Conflict(
                "number_already_assigned",
                f"number '{number_ref}' already has inbound agent "
                f"'{ids.render('agent', holder.agent_id)}'; send replace=true to move it",
                {
                    "number_id": ids.render("number", number.id),
                    "agent_id": ids.render("agent", holder.agent_id),
                },
            )
        _record_removal(session, actor, UNASSIGNED, number, [holder])
        session.execute(
            delete(Assignment).where(
                Assignment.number_id == number.id, Assignment.agent_id == holder.agent_id
            )
        )
        _count_removal(session, number, [holder])
        assignments.remove(holder)
    now = utcnow()
    # The number's view (its agents) changed: a new version, and its time, in one UPDATE.
    bump_row(session, number, updated_at=now)
    added = Assignment(
        number_id=number.id,
        agent_id=agent.id,
        workspace_id=actor.workspace_id,
        direction=direction,
        is_primary=False,
        created_at=now,
    )
    session.execute(_INSERT, [assignment_row(added)])
    resource_ids, after = assigned_event(number.id, agent.id, direction)
    events.record(session, actor, ASSIGNED, resource_ids, after=after)
    return view_with(number, [*assignments, added])


def assigned_event(
    number_id: uuid.UUID, agent_id: uuid.UUID, direction: str
) -> tuple[list[str], dict[str, Any]]:
    """The resources and the picture of a ``number.assigned`` event."""
    number, agent = ids.render("number", number_id), ids.render("agent", agent_id)
    return [number, agent], {"agent_id": agent, "direction": direction, "number_ids": [number]}


def unassign(
    session: Session,
    actor: Actor,
    number_ref: str,
    direction: str,
    agent_ref: str | None = None,
) -> UnassignResult:
    """Remove a number's assignments in one direction (of one agent, when named)."""
    number = get_number(session, actor, number_ref, lock=True)
    assignments = assignments_of(session, number.id)
    removed = [a for a in assignments if a.direction == direction]
    if agent_ref is not None:
        agent_id = get_agent(session, actor, agent_ref).id
        removed = [a for a in removed if a.agent_id == agent_id]
    if not removed:
        raise NotFound(
            "number_not_assigned",
            f"number '{number_ref}' has no {direction} assignment"
            + (f" to agent '{agent_ref}'" if agent_ref else ""),
            {"number_id": ids.render("number", number.id), "assignment_type": direction},
        )
    _record_removal(session, actor, UNASSIGNED, number, removed)
    session.execute(
        delete(Assignment).where(
            Assignment.number_id == number.id,
            Assignment.agent_id.in_([a.agent_id for a in removed]),
        )
    )
    _count_removal(session, number, removed)
    kept = [a for a in assignments if a not in removed]
    return UnassignResult(view_with(number, kept), [a.agent_id for a in removed], utcnow())


def _require_type(agent: Agent, direction: str) -> None:
    if direction not in ("inbound", "outbound"):
        raise InvalidInput(
            "invalid_assignment_type",
            "assignment_type: must be 'inbound' or 'outbound'",
            {"field": "assignment_type", "value": direction},
        )
    if agent.type != direction:
        raise Conflict(
            "agent_type_mismatch",
            f"agent '{ids.render('agent', agent.id)}' is an {agent.type} agent and cannot take "
            f"a number {direction}",
            {
                "agent_id": ids.render("agent", agent.id),
                "agent_type": agent.type,
                "assignment_type": direction,
            },
        )


def _count_removal(session: Session, number: PhoneNumber, removed: list[Assignment]) -> None:
    """New versions for what removing these assignments changes: the number, and the agents
    whose primary number it was (an agent's view names its primary, not its other numbers)."""
    bump(session, PhoneNumber, [number.id])
    bump(session, Agent, [a.agent_id for a in removed if a.is_primary])


def _record_removal(
    session: Session, actor: Actor, type_: str, number: PhoneNumber, removed: list[Assignment]
) -> None:
    resource_ids, before = removal_event(number, removed)
    events.record(session, actor, type_, resource_ids, before=before)


def removal_event(
    number: PhoneNumber, removed: Sequence[Assignment]
) -> tuple[list[str], dict[str, Any]]:
    """The resources and the picture of an event that removes these assignments."""
    agents = [ids.render("agent", a.agent_id) for a in removed]
    return [ids.render("number", number.id), *agents], {
        "number_id": ids.render("number", number.id),
        "e164": number.e164,
        "assignments": [
            {
                "agent_id": ids.render("agent", a.agent_id),
                "direction": a.direction,
                "primary": a.is_primary,
            }
            for a in removed
        ],
    }


def assignment_row(assignment: Assignment) -> dict[str, object]:
    return {
        "number_id": assignment.number_id,
        "agent_id": assignment.agent_id,
        "workspace_id": assignment.workspace_id,
        "direction": assignment.direction,
        "is_primary": assignment.is_primary,
        "created_at": assignment.created_at,
    }
