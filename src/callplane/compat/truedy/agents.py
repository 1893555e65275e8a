"""Truedy public v1 agents: list (status and name filters), inspect, create and update.

A Truedy agent is a callplane agent: ``system_prompt`` is the instructions, ``voice_id`` the
voice, ``description`` the persona, ``language_hint`` the language; the other settings (model,
greeting, temperature, tools, …) are kept under the agent's ``metadata.truedy``. Truedy agents
have no direction, callplane agents do: ``type`` (``inbound`` by default) is accepted on create.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from callplane.agents import service as agents
from callplane.agents.schemas import AgentType
from callplane.compat import workflows
from callplane.compat.truedy.idempotency import TRUEDY_IDEMPOTENCY_KEY
from callplane.compat.truedy.shapes import VENDOR_KEY, TruedyAgent, agent_of
from callplane.core.envelope import Meta, meta
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input, Language, LongText, Name
from callplane.idempotency.http import IdempotentRoute

router = APIRouter(prefix="/agents", route_class=IdempotentRoute)

KEPT = ("model", "greeting", "temperature", "recording_enabled", "tools", "knowledge_bases")


class AgentFields(Input):
    # Truedy documents more agent settings than callplane acts on; unknown ones are ignored
    # rather than refused, so a migrating client's requests keep working.
    model_config = ConfigDict(extra="ignore", strict=True)

    name: Name | None = None
    description: LongText | None = None
    voice_id: Name | None = None
    system_prompt: LongText | None = None
    model: Annotated[str, Field(max_length=100)] | None = None
    greeting: LongText | None = None
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    recording_enabled: bool | None = None
    language_hint: Language | None = None
    tools: Annotated[list[str], Field(max_length=50)] | None = None
    knowledge_bases: Annotated[list[str], Field(max_length=1)] | None = None

    def columns(self) -> dict[str, Any]:
        """The fields sent; ``null`` leaves a field as it is (Truedy's update fields are all
        nullable)."""
        mapped = {
            "name": self.name,
            "persona": self.description,
            "voice": self.voice_id,
            "instructions": self.system_prompt,
            "language": self.language_hint,
        }
        return {column: value for column, value in mapped.items() if value is not None}

    def kept(self, before: dict[str, Any]) -> dict[str, Any]:
        sent = {name: getattr(self, name) for name in KEPT if getattr(self, name) is not None}
        return {**before, **sent}


class AgentCreate(AgentFields):
    name: Name
    voice_id: Name
    system_prompt: LongText
    type: AgentType = "inbound"


class AgentResponse(BaseModel):
    data: TruedyAgent
    meta: Meta


class ListPagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool


class AgentList(BaseModel):
    data: list[TruedyAgent]
    pagination: ListPagination
    meta: Meta


@router.get("")
def list_agents(
    actor: CurrentActor,
    session: DbSession,
    status: Literal["active", "draft", "creating", "failed"] | None = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AgentList:
    """Live agents, ``name`` a case-insensitive substring. callplane agents are active from
    creation: the other statuses list nothing."""
    if status not in (None, "active"):
        items, total = [], 0
    else:
        page = agents.list_agents_by_offset(session, actor, name=name, offset=offset, limit=limit)
        items, total = [agent_of(session, v) for v in page.items], page.total
    return AgentList(
        data=items,
        pagination=ListPagination(
            total=total, limit=limit, offset=offset, has_more=offset + limit < total
        ),
        meta=meta(actor.request_id or ""),
    )


@router.get("/{agent_id}")
def get_agent(agent_id: str, actor: CurrentActor, session: DbSession) -> AgentResponse:
    """One agent with its inbound and outbound numbers."""
    found = workflows.live_agent(session, actor, agent_id)
    return AgentResponse(data=agent_of(session, found), meta=meta(actor.request_id or ""))


@router.post("", status_code=201, dependencies=[TRUEDY_IDEMPOTENCY_KEY])
def create_agent(body: AgentCreate, actor: CurrentActor, session: DbSession) -> AgentResponse:
    """Create an agent; a retry with the same ``X-Idempotency-Key`` gets the first answer."""
    fields = {**body.columns(), "type": body.type, "meta": {VENDOR_KEY: body.kept({})}}
    created = agents.create_agent(session, actor, fields)
    return AgentResponse(data=agent_of(session, created), meta=meta(actor.request_id or ""))


@router.put("/{agent_id}")
def update_agent(
    agent_id: str, body: AgentFields, actor: CurrentActor, session: DbSession
) -> AgentResponse:
    """Change the fields sent with a value; the agent's numbers stay as they are."""
    current = workflows.live_agent(session, actor, agent_id, lock=True).agent
    kept = {**current.meta, VENDOR_KEY: body.kept(current.meta.get(VENDOR_KEY, {}))}
    updated = agents.update_agent(session, actor, agent_id, {**body.columns(), "metadata": kept})
    return AgentResponse(data=agent_of(session, updated), meta=meta(actor.request_id or ""))
