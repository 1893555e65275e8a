"""CallingBox's Number and Agent objects: bare UUID ids, ``org_id`` the workspace.

CallingBox has no users; ``user_id`` is the API key that created the agent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from callplane.agents.service import AgentView
from callplane.core.schemas import iso
from callplane.numbers import service as numbers
from callplane.numbers.service import NumberView


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


class CallingBoxAgentSummary(BaseModel):
    """The agent as lists show it (CallingBox embeds ``numbers`` only in detail and mutations)."""

    id: str
    org_id: str
    user_id: str | None
    name: str
    type: str
    persona: str | None
    instructions: str | None
    voice: str
    language: str | None
    returns: dict[str, Any]
    tools: list[dict[str, Any]] | None
    webhook_url: str | None
    voicemail_action: str
    primary_number_id: str | None
    archived_at: str | None
    created_at: str
    updated_at: str

    @classmethod
    def fields_of(cls, view: AgentView) -> dict[str, Any]:
        a = view.agent
        return {
            "id": str(a.id),
            "org_id": str(a.workspace_id),
            "user_id": str(a.created_by_key_id) if a.created_by_key_id else None,
            "name": a.name,
            "type": a.type,
            "persona": a.persona,
            "instructions": a.instructions,
            # CallingBox types ``voice`` as a string; agents made elsewhere may have none.
            "voice": a.voice or "",
            "language": a.language,
            "returns": a.returns,
            "tools": a.tools,
            "webhook_url": a.webhook_url,
            "voicemail_action": a.voicemail_action,
            "primary_number_id": str(view.primary_number_id) if view.primary_number_id else None,
            "archived_at": iso(a.archived_at),
            "created_at": iso(a.created_at) or "",
            "updated_at": iso(a.updated_at) or "",
        }

    @classmethod
    def of(cls, view: AgentView) -> CallingBoxAgentSummary:
        return cls(**cls.fields_of(view))


class CallingBoxAgent(CallingBoxAgentSummary):
    numbers: list[CallingBoxNumber]


def agent_detail(session: Session, view: AgentView) -> CallingBoxAgent:
    """The agent with every number attached to it."""
    held = numbers.agent_numbers(session, view.agent.id)
    return CallingBoxAgent(
        **CallingBoxAgentSummary.fields_of(view), numbers=[CallingBoxNumber.of(v) for v in held]
    )
