"""The assignment endpoints: an agent's numbers, and assigning a number to an agent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callplane.agents.schemas import AgentOut
from callplane.assignments import service
from callplane.assignments.schemas import AssignRequest, AttachOut, AttachRequest, UnassignRequest
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers.schemas import NumberOut

agents_router = APIRouter(prefix="/v1/agents", tags=["agents"], route_class=IdempotentRoute)
numbers_router = APIRouter(prefix="/v1/numbers", tags=["numbers"], route_class=IdempotentRoute)


@agents_router.get("/{agent_id}/numbers")
def list_agent_numbers(
    agent_id: str,
    actor: CurrentActor,
    session: DbSession,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[NumberOut]:
    size = clamp_limit(limit)
    page = service.numbers_of(session, actor, agent_id, cursor=cursor, limit=size)
    return paged([NumberOut.of(v) for v in page.items], page.next_cursor, size, actor)


@agents_router.put("/{agent_id}/numbers", dependencies=[IDEMPOTENCY_KEY])
def attach_numbers(
    agent_id: str, body: AttachRequest, actor: CurrentActor, session: DbSession
) -> Envelope[AttachOut]:
    """Attach outbound numbers: atomic, idempotent, duplicates folded, at most 1,000."""
    result = service.attach_outbound(session, actor, agent_id, body.references())
    return ok(AttachOut.of(result), actor)


@agents_router.delete("/{agent_id}/numbers/{number}")
def detach_number(
    agent_id: str, number: str, actor: CurrentActor, session: DbSession
) -> Envelope[AgentOut]:
    """Detach one number (given as id, E.164 or slug); the agent's primary is cleared with it."""
    return ok(AgentOut.of(service.detach(session, actor, agent_id, number)), actor)


@numbers_router.post("/assign", dependencies=[IDEMPOTENCY_KEY])
def assign_number(
    body: AssignRequest, actor: CurrentActor, session: DbSession
) -> Envelope[NumberOut]:
    result = service.assign(
        session, actor, body.number_id, body.agent_id, body.assignment_type, replace=body.replace
    )
    return ok(NumberOut.of(result), actor)


@numbers_router.post("/unassign", dependencies=[IDEMPOTENCY_KEY])
def unassign_number(
    body: UnassignRequest, actor: CurrentActor, session: DbSession
) -> Envelope[NumberOut]:
    result = service.unassign(session, actor, body.number_id, body.assignment_type, body.agent_id)
    return ok(NumberOut.of(result.number), actor)
