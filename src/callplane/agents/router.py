from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from callplane.agents import service
from callplane.agents.schemas import AgentCreate, AgentOut, AgentUpdate
from callplane.core import conditional
from callplane.core.conditional import NOT_MODIFIED, IfNoneMatch, PreconditionHeaders
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute

router = APIRouter(prefix="/v1/agents", tags=["agents"], route_class=IdempotentRoute)


@router.post("", status_code=201, dependencies=[IDEMPOTENCY_KEY])
def create_agent(body: AgentCreate, actor: CurrentActor, session: DbSession) -> Envelope[AgentOut]:
    return ok(AgentOut.of(service.create_agent(session, actor, body.fields())), actor)


@router.get("")
def list_agents(
    actor: CurrentActor,
    session: DbSession,
    type: Literal["inbound", "outbound"] | None = None,
    include_archived: bool = False,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[AgentOut]:
    size = clamp_limit(limit)
    page = service.list_agents(
        session, actor, type_=type, include_archived=include_archived, cursor=cursor, limit=size
    )
    return paged([AgentOut.of(v) for v in page.items], page.next_cursor, size, actor)


@router.get("/{agent_id}", responses=NOT_MODIFIED)
def get_agent(
    agent_id: str,
    actor: CurrentActor,
    session: DbSession,
    response: Response,
    if_none_match: IfNoneMatch,
) -> Envelope[AgentOut]:
    """The agent, with its ETag; 304 when ``If-None-Match`` names its current one."""
    found = AgentOut.of(service.view(session, service.get_agent(session, actor, agent_id)))
    conditional.tag(response, found.etag, if_none_match)
    return ok(found, actor)


@router.patch("/{agent_id}")
def update_agent(
    agent_id: str,
    body: AgentUpdate,
    actor: CurrentActor,
    session: DbSession,
    response: Response,
    preconditions: PreconditionHeaders,
) -> Envelope[AgentOut]:
    """Change the agent; with ``If-Match``, only if nobody changed it meanwhile."""
    changed = service.update_agent(session, actor, agent_id, body.changes(), preconditions)
    updated = AgentOut.of(changed)
    conditional.tag(response, updated.etag)
    return ok(updated, actor)


@router.delete("/{agent_id}")
def archive_agent(
    agent_id: str, actor: CurrentActor, session: DbSession, preconditions: PreconditionHeaders
) -> Envelope[AgentOut]:
    """Archive the agent: it keeps its history, releases its numbers and takes no new ones."""
    return ok(AgentOut.of(service.archive_agent(session, actor, agent_id, preconditions)), actor)
