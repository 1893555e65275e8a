"""CallingBox v1: agents with their full ``numbers`` list, bare UUID ids, attach and detach.

CallingBox has no users; ``user_id`` is the API key that created the agent and ``org_id`` the
workspace.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from callplane.agents import service as agents
from callplane.agents.service import AgentView
from callplane.core.error_handlers import Problem
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input, iso
from callplane.numbers import assignments
from callplane.numbers import service as numbers
from callplane.numbers.service import NumberView

PREFIX = "/compat/callingbox/v1"
router = APIRouter(prefix=PREFIX, tags=["compat: CallingBox v1"])


class CallingBoxNumber(BaseModel):
    id: str
    e164: str
    friendly_name: str | None
    country_code: str | None
    number_type: str
    status: str
    monthly_cost_cents: int
    purchased_at: str | None
    inbound_agent_id: str | None
    outbound_agent_ids: list[str]

    @classmethod
    def of(cls, v: NumberView) -> CallingBoxNumber:
        n = v.number
        return cls(
            id=str(n.id),
            e164=n.e164,
            friendly_name=n.friendly_name,
            country_code=n.country_code,
            number_type=n.number_type,
            status=n.status,
            monthly_cost_cents=n.monthly_cost_cents,
            purchased_at=iso(n.purchased_at),
            inbound_agent_id=str(v.inbound_agent_id) if v.inbound_agent_id else None,
            outbound_agent_ids=[str(a) for a in v.outbound_agent_ids],
        )


class CallingBoxAgent(BaseModel):
    id: str
    org_id: str
    user_id: str | None
    name: str
    type: str
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    returns: dict[str, Any]
    tools: list[dict[str, Any]] | None
    webhook_url: str | None
    voicemail_action: str
    primary_number_id: str | None
    archived_at: str | None
    created_at: str
    updated_at: str
    numbers: list[CallingBoxNumber]


class AttachNumber(Input):
    number_id: str


def render_error(_request: Request, problem: Problem) -> JSONResponse:
    body = {"error": {"code": problem.code, "message": problem.message, "details": problem.details}}
    return JSONResponse(body, status_code=problem.status, headers=problem.headers)


def _agent(session: Session, view: AgentView) -> CallingBoxAgent:
    a = view.agent
    return CallingBoxAgent(
        id=str(a.id),
        org_id=str(a.workspace_id),
        user_id=str(a.created_by_key_id) if a.created_by_key_id else None,
        name=a.name,
        type=a.type,
        persona=a.persona,
        instructions=a.instructions,
        voice=a.voice,
        language=a.language,
        returns=a.returns,
        tools=a.tools,
        webhook_url=a.webhook_url,
        voicemail_action=a.voicemail_action,
        primary_number_id=str(view.primary_number_id) if view.primary_number_id else None,
        archived_at=iso(a.archived_at),
        created_at=iso(a.created_at) or "",
        updated_at=iso(a.updated_at) or "",
        numbers=[CallingBoxNumber.of(v) for v in numbers.agent_numbers(session, a.id)],
    )


@router.get("/agents/{id}")
def get_agent(id: str, actor: CurrentActor, session: DbSession) -> CallingBoxAgent:
    """The agent with every number attached to it."""
    return _agent(session, agents.view(session, agents.get_agent(session, actor, id)))


@router.post("/agents/{id}/numbers")
def attach_number(
    id: str, body: AttachNumber, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Attach a number in the agent's direction: inbound agents answer it, outbound call from it."""
    return _agent(session, assignments.attach(session, actor, id, body.number_id))


@router.delete("/agents/{id}/numbers/{number_id}")
def detach_number(
    id: str, number_id: str, actor: CurrentActor, session: DbSession
) -> CallingBoxAgent:
    """Detach a number; the agent's ``primary_number_id`` is cleared when it was that number."""
    return _agent(session, assignments.detach(session, actor, id, number_id))
