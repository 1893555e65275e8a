"""The assignment endpoints: an agent's numbers, and assigning a number to an agent."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from callplane.agents.schemas import AgentOut
from callplane.assignments import hot_path, service
from callplane.assignments.schemas import AssignRequest, AttachOut, AttachRequest, UnassignRequest
from callplane.core import ids
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.errors import DomainError
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers import hot_path as numbers_hot_path
from callplane.numbers.references import parse_ref
from callplane.numbers.router import QuickRoute, answer_with
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


class QuickAssign(QuickRoute):
    """``POST /v1/numbers/assign`` of a number to an active agent of that direction that does
    not have it, when no other agent answers it (inbound). Handed on: a body the schema or the
    reference rules refuse, an agent or number not found, archived or of the other type, a
    number the agent has already or that another agent answers (the service replaces it or
    refuses), and a number changed meanwhile."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if (got := await self._json_body(request, send)) is None:
            return
        body, again = got
        asked = _asked(AssignRequest, body)
        read = await self._authenticated(request, **_read_params(asked))
        if not isinstance(asked, AssignRequest) or asked.replace:
            await self._hand_on(scope, again, send)
            return
        found = hot_path.found_of(read.row)
        direction = asked.assignment_type
        current = [a for a in found.assignments if a.direction == direction]
        agent_id = found.agent_id
        if (
            agent_id is None
            or found.agent_archived
            or found.agent_type != direction
            or found.number is None
            or any(a.agent_id == agent_id for a in current)
            or (direction == "inbound" and current)
        ):
            await self._hand_on(scope, again, send)
            return
        subscribers = numbers_hot_path.subscribers_of(read.row)
        changed = await hot_path.assign(
            self._pool, read.actor, found, agent_id, direction, subscribers
        )
        if changed is None:
            await self._hand_on(scope, again, send)
            return
        await answer_with(read, 200, changed, scope, receive, send)


class QuickUnassign(QuickRoute):
    """``POST /v1/numbers/unassign`` of every agent of one direction, none of which holds the
    number as its primary. Handed on: a body the schema or the reference rules refuse, one
    agent named, a number not found or without agents of that direction, a primary number
    (the agent's version counts up too), and a number changed meanwhile."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if (got := await self._json_body(request, send)) is None:
            return
        body, again = got
        asked = _asked(UnassignRequest, body)
        read = await self._authenticated(request, **_read_params(asked))
        if not isinstance(asked, UnassignRequest) or asked.agent_id is not None:
            await self._hand_on(scope, again, send)
            return
        found = hot_path.found_of(read.row)
        direction = asked.assignment_type
        removed = [a for a in found.assignments if a.direction == direction]
        if found.number is None or not removed or any(a.is_primary for a in removed):
            await self._hand_on(scope, again, send)
            return
        subscribers = numbers_hot_path.subscribers_of(read.row)
        changed = await hot_path.unassign(self._pool, read.actor, found, direction, subscribers)
        if changed is None:
            await self._hand_on(scope, again, send)
            return
        await answer_with(read, 200, changed, scope, receive, send)


Asked = TypeVar("Asked", AssignRequest, UnassignRequest)


def _asked(schema: type[Asked], body: bytes) -> Asked | None:
    """The body, or None when the schema or the number's reference is refused (the route says
    why)."""
    try:
        asked = schema.model_validate_json(body)
        parse_ref(asked.number_id, "number_id")
    except (ValidationError, DomainError):
        return None
    return asked


def _read_params(asked: AssignRequest | UnassignRequest | None) -> dict[str, Any]:
    """hot_path.READ_SQL's statement and values for the references asked (none: the key alone)."""
    ref = parse_ref(asked.number_id, "number_id") if asked is not None else None
    by = "id" if ref is None or ref.number_id is not None else "e164"
    agent = getattr(asked, "agent_id", None)
    return {
        "statement": hot_path.READ_SQL[by],
        "ref": ref and (ref.number_id or ref.e164),
        "agent_id": ids.parse("agent", agent) if agent else None,
    }


QUICK_ROUTES: list[tuple[type[QuickRoute], APIRouter, str, str]] = [
    (QuickAssign, numbers_router, numbers_router.prefix + "/assign", "POST"),
    (QuickUnassign, numbers_router, numbers_router.prefix + "/unassign", "POST"),
]
