"""The assignment endpoints: an agent's numbers, and assigning a number to an agent."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from callplane.agents.schemas import AgentOut
from callplane.assignments import hot_path, service
from callplane.assignments.schemas import AssignRequest, AttachOut, AttachRequest, UnassignRequest
from callplane.core import ids
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers import hot_path as numbers_hot_path
from callplane.numbers.router import QuickRoute, Read, answer_with
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


Asked = TypeVar("Asked", AssignRequest, UnassignRequest)


class _QuickAssignment(QuickRoute):
    """What assign and unassign share: their body, and one read of key, agent and number."""

    async def _asked_and_read(
        self, schema: type[Asked], scope: Scope, receive: Receive, send: Send
    ) -> tuple[Asked, hot_path.Found, Read, Receive] | None:
        """The body, what the read found, the read, and the ``receive`` that replays the body; None
        when the request went to the route: not usual, or a body the schema or the reference rules
        refuse (the key is checked and counted first, as the route would)."""
        request = Request(scope, receive)
        if (got := await self._json_body(request, send)) is None:
            return None
        raw, again = got
        try:
            body: Asked | None = schema.model_validate_json(raw)
        except ValidationError:
            body = None
        key = numbers_hot_path.ref_key(body.number_id, "number_id") if body is not None else None
        by, value = key or ("id", None)
        agent = getattr(body, "agent_id", None)
        read = await self._authenticated(
            request,
            hot_path.READ_SQL[by],
            ref=value,
            agent_id=ids.parse("agent", agent) if agent else None,
        )
        if body is None or key is None:
            await self._hand_on(scope, again, send)
            return None
        return body, hot_path.found_of(read.row), read, again


class QuickAssign(_QuickAssignment):
    """``POST /v1/numbers/assign`` of a number to an active agent of that direction that does
    not have it, when no other agent answers it (inbound). Handed on: a body the schema or the
    reference rules refuse, ``replace``, and what ``hot_path.Found.assignable`` is not (the
    service decides it), and a number changed meanwhile."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (asked := await self._asked_and_read(AssignRequest, scope, receive, send)) is None:
            return
        body, found, read, again = asked
        direction = body.assignment_type
        if body.replace or found.agent_id is None or not found.assignable(direction):
            await self._hand_on(scope, again, send)
            return
        subscribers = numbers_hot_path.subscribers_of(read.row)
        changed = await hot_path.assign(
            self._pool, read.actor, found, found.agent_id, direction, subscribers
        )
        if changed is None:
            await self._hand_on(scope, again, send)
            return
        await answer_with(read, 200, changed, scope, receive, send)


class QuickUnassign(_QuickAssignment):
    """``POST /v1/numbers/unassign`` of every agent of one direction. Handed on: a body the
    schema or the reference rules refuse, one agent named, what
    ``hot_path.Found.unassignable`` is not, and a number changed meanwhile."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (asked := await self._asked_and_read(UnassignRequest, scope, receive, send)) is None:
            return
        body, found, read, again = asked
        direction = body.assignment_type
        if body.agent_id is not None or not found.unassignable(direction):
            await self._hand_on(scope, again, send)
            return
        subscribers = numbers_hot_path.subscribers_of(read.row)
        changed = await hot_path.unassign(self._pool, read.actor, found, direction, subscribers)
        if changed is None:
            await self._hand_on(scope, again, send)
            return
        await answer_with(read, 200, changed, scope, receive, send)


QUICK_ROUTES: list[tuple[type[QuickRoute], APIRouter, str, str]] = [
    (QuickAssign, numbers_router, numbers_router.prefix + "/assign", "POST"),
    (QuickUnassign, numbers_router, numbers_router.prefix + "/unassign", "POST"),
]
