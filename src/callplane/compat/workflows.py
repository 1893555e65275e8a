"""Use cases the vendor APIs share, composed of service calls in the request's one transaction.

Vendors bundle steps the native API keeps apart (create an agent *with* its numbers and a
primary, attach *and* make primary). These sequence the services; every rule is still the
services' own, and a refusal at any step rolls the whole request back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from callplane.agents import service as agents
from callplane.agents.service import AgentView
from callplane.assignments import service as assignments
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.errors import not_found
from callplane.numbers.references import get_number


def create_agent_with_numbers(
    session: Session,
    actor: Actor,
    fields: dict[str, Any],
    number_refs: Sequence[str] = (),
    primary_ref: str | None = None,
) -> AgentView:
    """A new agent holding ``number_refs`` in its direction, ``primary_ref`` its caller ID."""
    created = agents.create_agent(session, actor, fields)
    agent_ref = ids.render("agent", created.agent.id)
    assignments.give_numbers(session, actor, agent_ref, number_refs)
    if primary_ref is not None:
        return make_primary(session, actor, agent_ref, primary_ref)
    return agents.view(session, created.agent)


def attach_number(
    session: Session, actor: Actor, agent_ref: str, number_ref: str, *, primary: bool
) -> AgentView:
    """Attach one number in the agent's direction, optionally making it the primary."""
    attached = assignments.attach(session, actor, agent_ref, number_ref)
    return make_primary(session, actor, agent_ref, number_ref) if primary else attached


def make_primary(session: Session, actor: Actor, agent_ref: str, number_ref: str) -> AgentView:
    """Set the primary by any reference (id, E.164 or slug); the agent must hold the number."""
    if ids.parse("number", number_ref) is None:
        number_ref = ids.render("number", get_number(session, actor, number_ref).id)
    return agents.update_agent(session, actor, agent_ref, {"primary_number_id": number_ref})


def live_agent(session: Session, actor: Actor, agent_ref: str, *, lock: bool = False) -> AgentView:
    """The agent for vendors that delete rather than archive: an archived one is gone.

    ``lock`` holds the agent for the rest of the transaction, for a read-merge-write of it.
    """
    agent = agents.get_agent(session, actor, agent_ref, lock=lock)
    if agent.archived_at is not None:
        raise not_found("agent", agent_ref)
    return agents.view(session, agent)
