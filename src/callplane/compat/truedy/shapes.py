"""Truedy's number and agent objects, with ``num_``/``agt_`` ids as the seed shows them.

Truedy documents no number object; the fields here are inferred from what its other
responses name (``phone_number``, ``id``) plus the assignments every surface shows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from callplane.agents.service import AgentView
from callplane.core import ids
from callplane.core.schemas import iso
from callplane.numbers import service as numbers
from callplane.numbers.service import NumberView

VENDOR_KEY = "truedy"
DEFAULT_MODEL = "ultravox-v0.7"
DEFAULT_TEMPERATURE = 0.3


class TruedyNumber(BaseModel):
    id: str
    phone_number: str
    friendly_name: str | None
    country_code: str | None
    number_type: str
    provider: str | None
    status: str
    inbound_agent_id: str | None
    outbound_agent_ids: list[str]
    created_at: str

    @classmethod
    def of(cls, v: NumberView) -> TruedyNumber:
        n = v.number
        return cls(
            id=ids.render("number", n.id),
            phone_number=n.e164,
            friendly_name=n.friendly_name,
            country_code=n.country_code,
            number_type=n.number_type,
            provider=n.provider,
            status=n.status,
            inbound_agent_id=ids.render("agent", v.inbound_agent_id)
            if v.inbound_agent_id
            else None,
            outbound_agent_ids=[ids.render("agent", a) for a in v.outbound_agent_ids],
            created_at=iso(n.created_at) or "",
        )


class AgentNumber(BaseModel):
    id: str
    phone_number: str


class TruedyAgent(BaseModel):
    id: str
    name: str
    description: str | None
    voice_id: str | None
    system_prompt: str | None
    model: str
    status: str
    type: str
    greeting: str | None
    temperature: float
    recording_enabled: bool
    language_hint: str | None
    tools: list[Any]
    inbound_phone_numbers: list[AgentNumber]
    outbound_phone_numbers: list[AgentNumber]
    created_at: str
    updated_at: str


def agent_of(session: Session, v: AgentView) -> TruedyAgent:
    a = v.agent
    kept: dict[str, Any] = a.meta.get(VENDOR_KEY, {})
    held = numbers.agent_numbers(session, a.id)
    inbound = [n for n in held if n.inbound_agent_id == a.id]
    outbound = [n for n in held if a.id in n.outbound_agent_ids]
    return TruedyAgent(
        id=ids.render("agent", a.id),
        name=a.name,
        description=a.persona,
        voice_id=a.voice,
        system_prompt=a.instructions,
        model=kept.get("model", DEFAULT_MODEL),
        status="active" if a.archived_at is None else "archived",
        type=a.type,
        greeting=kept.get("greeting"),
        temperature=kept.get("temperature", DEFAULT_TEMPERATURE),
        recording_enabled=bool(kept.get("recording_enabled", False)),
        language_hint=a.language,
        tools=kept.get("tools", []),
        inbound_phone_numbers=[_number(n) for n in inbound],
        outbound_phone_numbers=[_number(n) for n in outbound],
        created_at=iso(a.created_at) or "",
        updated_at=iso(a.updated_at) or "",
    )


def _number(v: NumberView) -> AgentNumber:
    return AgentNumber(id=ids.render("number", v.number.id), phone_number=v.number.e164)
