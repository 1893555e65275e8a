from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from callplane.agents import service
from callplane.agents.schemas import AgentCreate, AgentOut, AgentUpdate
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged

router = APIRouter(prefix="/v1/agents", tags=["agents"])


@router.post("", status_code=201)
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


@router.get("/{agent_id}")
def get_agent(agent_id: str, actor: CurrentActor, session: DbSession) -> Envelope[AgentOut]:
    return ok(
        AgentOut.of(service.view(session, service.get_agent(session, actor, agent_id))), actor
    )


@router.patch("/{agent_id}")
def update_agent(
    agent_id: str, body: AgentUpdate, actor: CurrentActor, session: DbSession
) -> Envelope[AgentOut]:
    return ok(AgentOut.of(service.update_agent(session, actor, agent_id, body.changes())), actor)


@router.delete("/{agent_id}")
def archive_agent(agent_id: str, actor: CurrentActor, session: DbSession) -> Envelope[AgentOut]:
    """Archive the agent: it keeps its history, releases its numbers and takes no new ones."""
    return ok(AgentOut.of(service.archive_agent(session, actor, agent_id)), actor)
