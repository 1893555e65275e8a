"""CallingBox v1 agents: list, create with numbers, inspect, update, archive, attach, detach and
set the primary number. Detail and mutation responses embed the agent's full ``numbers`` list.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, model_validator

from callplane.agents import service as agents
from callplane.agents.schemas import AgentType, VoicemailAction
from callplane.assignments import service as assignments
from callplane.compat import workflows
from callplane.compat.callingbox.shapes import CallingBoxAgent, CallingBoxAgentSummary, agent_detail
from callplane.core.errors import InvalidInput
from callplane.core.http import CurrentActor, DbSession
from callplane.core.pagination import MAX_LIMIT
from callplane.core.schemas import Input, Language, LongText, Metadata, Name, Tools, WebhookUrl
from callplane.numbers.schemas import Reference

router = APIRouter()


class AgentFields(Input):
    persona: LongText | None = None
    instructions: LongText | None = None
    voice: Name | None = None
    language: Language | None = None
    returns: Metadata | None = None
    tools: Tools | None = None
    webhook_url: WebhookUrl | None = None
    voicemail_action: VoicemailAction | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> AgentFields:
        for name in ("returns", "voicemail_action"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def columns(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set & set(AgentFields.model_fields))


class AgentCreate(AgentFields):
    name: Name
    type: AgentType
    number_ids: list[Reference] = []
    primary_number_id: Reference | None = None


class AgentPatch(AgentFields):
    """CallingBox does not list the PATCH body; the create fields but ``type`` are accepted, and
    ``type`` only when it is the agent's own (it is fixed at creation)."""

    model_config = ConfigDict(extra="ignore", strict=True)

    name: Name | None = None
    type: AgentType | None = None
    primary_number_id: Reference | None = None

    @model_validator(mode="after")
    def _name_stays_set(self) -> AgentPatch:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class AttachBody(Input):
    number_id: Reference
    set_as_primary: bool = False


class PrimaryBody(Input):
    """The field name is not shown in CallingBox's docs: ``number_id`` or ``primary_number_id``."""

    number_id: Reference | None = None
    primary_number_id: Reference | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> PrimaryBody:
        if (self.number_id is None) == (self.primary_number_id is None):
            raise ValueError("send the number as 'number_id'")
        return self


class AgentList(BaseModel):
    data: list[CallingBoxAgentSummary]


@router.get("/agents")
def list_agents(
    actor: CurrentActor, session: DbSession, type: Literal["inbound", "outbound"] | None = None
) -> AgentList:
    """Every live agent of the workspace, ``type`` filtering; CallingBox pages none of its lists."""
    listed: list[CallingBoxAgentSummary] = []
    cursor: str | None = None
    while True:
        page = agents.list_agents(
            session, actor, type_=type, include_archived=False, cursor=cursor, limit=MAX_LIMIT
        )
        listed += [CallingBoxAgentSummary.of(v) for v in page.items]
        if page.next_cursor is None:
            return AgentList(data=listed)
        cursor = page.next_cursor


@router.post("/agents", status_code=201)
def create_agent(body: AgentCreate, actor: CurrentActor, session: DbSession) -> CallingBoxAgent:
    """Create an agent holding ``number_ids`` in its direction, ``primary_number_id`` its caller ID;
    all in one transaction, so a refused number leaves no agent behind."""
    fields = {**body.columns(), "name": body.name, "type": body.type}
    created = workflows.create_agent_with_numbers(
        session, actor, fields, body.number_ids, body.primary_number_id
    )
    return agent_detail(session, created)


@router.get("/agents/{id}")
def get_agent(id: str, actor: CurrentActor, session: DbSession) -> CallingBoxAgent:
    """The agent with every number attached to it."""
    return agent_detail(session, agents.view(session, agents.get_agent(session, actor, id)))


@router.patch("/agents/{id}")
def update_agent(
    id: str, body: AgentPatch, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Change what was sent; ``primary_number_id`` must be one of the agent's numbers."""
    current = agents.get_agent(session, actor, id)
    if body.type is not None and body.type != current.type:
        raise InvalidInput(
            "agent_type_fixed",
            "type: an agent's type is fixed at creation; create another agent",
            {"field": "type", "value": body.type},
        )
    changes = body.columns()
    if body.name is not None:
        changes["name"] = body.name
    primary = body.primary_number_id
    if "primary_number_id" in body.model_fields_set and primary is None:
        changes["primary_number_id"] = None
    updated = agents.update_agent(session, actor, id, changes)
    if primary is not None:
        updated = workflows.make_primary(session, actor, id, primary)
    return agent_detail(session, updated)


@router.delete("/agents/{id}")
def archive_agent(id: str, actor: CurrentActor, session: DbSession) -> CallingBoxAgent:
    """Archive the agent (its calls stay); every number it held is released from it."""
    return agent_detail(session, agents.archive_agent(session, actor, id))


@router.post("/agents/{id}/numbers")
def attach_number(
    id: str, body: AttachBody, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Attach a number in the agent's direction: inbound agents answer it, outbound call from it."""
    attached = workflows.attach_number(
        session, actor, id, body.number_id, primary=body.set_as_primary
    )
    return agent_detail(session, attached)


@router.put("/agents/{id}/primary-number")
def set_primary_number(
    id: str, body: PrimaryBody, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Make an attached number the agent's default caller ID."""
    ref = body.number_id or body.primary_number_id or ""
    return agent_detail(session, workflows.make_primary(session, actor, id, ref))


@router.delete("/agents/{id}/numbers/{number_id}")
def detach_number(
    id: str, number_id: str, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Detach a number; the agent's ``primary_number_id`` is cleared when it was that number."""
    return agent_detail(session, assignments.detach(session, actor, id, number_id))
