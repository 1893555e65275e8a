"""Synthflow v2 assistants: create, list, inspect, update and delete agents, attach and detach.

A Synthflow assistant is a callplane agent. Fields callplane has a column for are stored there
(``agent.prompt`` is the instructions, ``agent.voice_id`` the voice, ``description`` the
persona, ``external_webhook_url`` the webhook); the rest of what the client sent is kept under
the agent's ``metadata.synthflow`` and given back as sent. ``phone_number`` binds a number in
the agent's direction: an inbound agent answers it, an outbound agent calls from it (it becomes
the primary caller ID).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from callplane.agents import service as agents
from callplane.agents.service import AgentView
from callplane.assignments import service as assignments
from callplane.compat import workflows
from callplane.compat.synthflow.errors import slug
from callplane.compat.synthflow.model_ids import agent_ref, model_id
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.errors import InvalidInput
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import (
    MAX_METADATA_BYTES,
    Input,
    Language,
    LongText,
    Metadata,
    Name,
    WebhookUrl,
)
from callplane.numbers import service
from callplane.numbers.references import parse_refs
from callplane.numbers.service import NumberView

router = APIRouter()

VENDOR_KEY = "synthflow"


class StatusOk(BaseModel):
    status: str = "ok"


class AgentConfig(Input):
    """Synthflow's ``agent`` object: the fields callplane knows, and any others, kept as sent."""

    model_config = ConfigDict(extra="allow", strict=True)

    prompt: LongText | None = None
    voice_id: Name | None = None
    language: Language | None = None

    @model_validator(mode="after")
    def _small_extras(self) -> AgentConfig:
        if len(json.dumps(self.model_extra or {})) > MAX_METADATA_BYTES:
            raise ValueError(f"agent: its other settings exceed {MAX_METADATA_BYTES} bytes")
        return self


class AssistantFields(Input):
    # Synthflow assistants carry more options than callplane acts on; unknown ones are ignored
    # rather than refused, so a migrating client's requests keep working.
    model_config = ConfigDict(extra="ignore", strict=True)

    name: Name | None = None
    description: LongText | None = None
    phone_number: Annotated[str, Field(max_length=32)] | None = None
    external_webhook_url: WebhookUrl | None = None
    inbound_call_webhook_url: WebhookUrl | None = None
    is_recording: bool | None = None
    max_duration: Metadata | None = None
    voicemail_message: Metadata | None = None
    agent: AgentConfig | None = None

    def columns(self) -> dict[str, Any]:
        """What maps onto the agent's own columns."""
        sent = self.model_fields_set
        fields: dict[str, Any] = {}
        if "name" in sent and self.name is not None:
            fields["name"] = self.name
        if "description" in sent:
            fields["persona"] = self.description
        if "external_webhook_url" in sent:
            fields["webhook_url"] = self.external_webhook_url
        if self.voicemail_message is not None:
            enabled = self.voicemail_message.get("enabled") is True
            fields["voicemail_action"] = "leave_message" if enabled else "hangup"
        if self.agent is not None:
            config = self.agent.model_fields_set
            for source, column in (("prompt", "instructions"), ("voice_id", "voice")):
                if source in config:
                    fields[column] = getattr(self.agent, source)
            if "language" in config:
                fields["language"] = self.agent.language
        return fields

    def kept(self, before: dict[str, Any]) -> dict[str, Any]:
        """The vendor's own fields merged over what was kept before (a partial update)."""
        sent = self.model_fields_set
        kept = dict(before)
        for name in ("inbound_call_webhook_url", "is_recording", "max_duration"):
            if name in sent:
                kept[name] = getattr(self, name)
        if "voicemail_message" in sent:
            kept["voicemail_message"] = self.voicemail_message
        if self.agent is not None:
            extra = self.agent.model_extra or {}
            kept["agent"] = {**kept.get("agent", {}), **extra}
        return kept


class AssistantCreate(AssistantFields):
    type: Literal["outbound", "inbound", "widget"]
    name: Name
    agent: AgentConfig


class ModelId(BaseModel):
    model_id: str


class Details(BaseModel):
    phone: str
    voice: str


class AssistantSaved(BaseModel):
    status: str = "ok"
    response: ModelId
    details: Details


class Answer(BaseModel):
    answer: str


class AssistantDeleted(BaseModel):
    status: str = "ok"
    response: Answer


class AttachedNumber(BaseModel):
    number: str
    sid: str | None
    slug: str


class Assistant(BaseModel):
    model_id: str
    type: str
    name: str
    description: str | None
    phone_number: str
    external_webhook_url: str | None
    inbound_call_webhook_url: str | None
    is_recording: bool
    max_duration: dict[str, Any] | None
    voicemail_message: dict[str, Any] | None
    agent: dict[str, Any]
    attached_phone_numbers: list[AttachedNumber]
    actions: list[Any]
    input_variables: list[Any]


class Pagination(BaseModel):
    total_records: int
    limit: int
    offset: int


class AssistantsPage(BaseModel):
    pagination: Pagination
    assistants: list[Assistant]


class AssistantsResponse(BaseModel):
    status: str = "ok"
    response: AssistantsPage


class AttachBody(Input):
    """The seed's ``oneOf``: E.164 numbers, or slugs."""

    phone_numbers: list[str] | None = None
    phone_number_slugs: list[str] | None = None


@router.post("/assistants")
def create_assistant(
    body: AssistantCreate, actor: CurrentActor, session: DbSession
) -> AssistantSaved:
    """Create an agent; a ``phone_number`` is bound to it in the same transaction."""
    if body.type == "widget":
        raise InvalidInput(
            "unsupported_agent_type",
            "type: callplane agents answer or place phone calls; 'widget' is not supported",
            {"field": "type", "value": body.type},
        )
    fields = {**body.columns(), "type": body.type, "meta": {VENDOR_KEY: body.kept({})}}
    created = agents.create_agent(session, actor, fields)
    return _saved(session, actor, ids.render("agent", created.agent.id), body)


@router.get("/assistants", include_in_schema=False)
@router.get("/assistants/")
def list_assistants(
    actor: CurrentActor,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AssistantsResponse:
    """The workspace's live agents, oldest first."""
    page = agents.list_agents_by_offset(session, actor, offset=offset, limit=limit)
    return AssistantsResponse(
        response=AssistantsPage(
            pagination=Pagination(total_records=page.total, limit=limit, offset=offset),
            assistants=[_assistant(session, v) for v in page.items],
        )
    )


@router.get("/assistants/{model_id}")
def get_assistant(
    model_id: str, actor: CurrentActor, session: DbSession, include_actions: bool = False
) -> AssistantsResponse:
    """One agent, in Synthflow's list wrapper, with every number attached to it."""
    del include_actions  # callplane agents have no Synthflow actions: always an empty list
    found = workflows.live_agent(session, actor, agent_ref(model_id))
    return AssistantsResponse(
        response=AssistantsPage(
            pagination=Pagination(total_records=1, limit=1, offset=0),
            assistants=[_assistant(session, found)],
        )
    )


@router.put("/assistants/{model_id}")
def update_assistant(
    model_id: str, body: AssistantFields, actor: CurrentActor, session: DbSession
) -> AssistantSaved:
    """Change only what was sent; a ``phone_number`` is bound in the agent's direction."""
    ref = agent_ref(model_id)
    current = workflows.live_agent(session, actor, ref, lock=True).agent
    meta = {**current.meta, VENDOR_KEY: body.kept(current.meta.get(VENDOR_KEY, {}))}
    agents.update_agent(session, actor, ref, {**body.columns(), "metadata": meta})
    return _saved(session, actor, ref, body)


@router.delete("/assistants/{model_id}")
def delete_assistant(model_id: str, actor: CurrentActor, session: DbSession) -> AssistantDeleted:
    """Delete (archive) the agent: every number it held is released from it."""
    ref = agent_ref(model_id)
    workflows.live_agent(session, actor, ref)
    agents.archive_agent(session, actor, ref)
    return AssistantDeleted(response=Answer(answer="deleted"))


@router.put("/assistants/{model_id}/phone_numbers")
def attach_phone_numbers(
    model_id: str,
    actor: CurrentActor,
    session: DbSession,
    body: Annotated[AttachBody | None, Body()] = None,
) -> StatusOk:
    """Attach outbound numbers by ``phone_numbers`` (E.164) or ``phone_number_slugs``."""
    groups = [
        (name, values)
        for name, values in (
            ("phone_numbers", body.phone_numbers if body else None),
            ("phone_number_slugs", body.phone_number_slugs if body else None),
        )
        if values is not None
    ]
    if len(groups) != 1:
        raise InvalidInput(
            "invalid_request",
            "send a JSON body with exactly one of 'phone_numbers' (E.164 list) or "
            "'phone_number_slugs' (list of numbers without '+')",
        )
    assignments.attach_outbound(session, actor, agent_ref(model_id), parse_refs(groups))
    return StatusOk()


@router.delete("/assistants/{model_id}/phone_numbers/{phone_number_slug}")
def detach_phone_number(
    model_id: str, phone_number_slug: str, actor: CurrentActor, session: DbSession
) -> StatusOk:
    """Detach one number, named by its slug, from the agent."""
    assignments.detach(session, actor, agent_ref(model_id), slug(phone_number_slug))
    return StatusOk()


def _saved(session: Session, actor: Actor, ref: str, body: AssistantFields) -> AssistantSaved:
    if body.phone_number:
        agent = agents.get_agent(session, actor, ref)
        workflows.attach_number(
            session, actor, ref, body.phone_number, primary=agent.type == "outbound"
        )
    saved = agents.view(session, agents.get_agent(session, actor, ref))
    phone = _phone_number(saved, service.agent_numbers(session, saved.agent.id))
    return AssistantSaved(
        response=ModelId(model_id=model_id(saved.agent.id)),
        details=Details(phone=phone, voice=saved.agent.voice or ""),
    )


def _phone_number(v: AgentView, held: list[NumberView]) -> str:
    """Synthflow's one ``phone_number``: the number an inbound agent answers first, or an
    outbound agent's primary caller ID."""
    if v.agent.type == "inbound":
        answered = [n for n in held if n.inbound_agent_id == v.agent.id]
        return answered[0].number.e164 if answered else ""
    primary = [n for n in held if n.number.id == v.primary_number_id]
    return primary[0].number.e164 if primary else ""


def _assistant(session: Session, v: AgentView) -> Assistant:
    a = v.agent
    kept: dict[str, Any] = a.meta.get(VENDOR_KEY, {})
    held = service.agent_numbers(session, a.id)
    config = {**kept.get("agent", {}), "prompt": a.instructions, "voice_id": a.voice}
    return Assistant(
        model_id=model_id(a.id),
        type=a.type,
        name=a.name,
        description=a.persona,
        phone_number=_phone_number(v, held),
        external_webhook_url=a.webhook_url,
        inbound_call_webhook_url=kept.get("inbound_call_webhook_url"),
        is_recording=bool(kept.get("is_recording", False)),
        max_duration=kept.get("max_duration"),
        voicemail_message=kept.get("voicemail_message"),
        agent={**config, "language": a.language},
        attached_phone_numbers=[
            AttachedNumber(number=n.number.e164, sid=n.number.provider_ref, slug=n.number.e164[1:])
            for n in held
        ],
        actions=[],
        input_variables=[],
    )
