from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from callplane.agents.service import AgentView
from callplane.core import ids
from callplane.core.conditional import entity_tag
from callplane.core.schemas import (
    ETAG_DOC,
    VERSION_DOC,
    CountryList,
    Input,
    Language,
    LongText,
    Metadata,
    Name,
    StreamUrl,
    Tools,
    WebhookUrl,
    iso,
)

AgentType = Literal["inbound", "outbound"]
VoicemailAction = Literal["hangup", "leave_message"]
OutboundStrategy = Literal["primary", "local_presence", "rotate"]
# When every caller ID is benched: refuse the call, or use the least bad number and say so.
WhenAllBenched = Literal["refuse", "least_bad"]


class AgentCreate(Input):
    name: Name
    type: AgentType
    persona: LongText | None = None
    instructions: LongText | None = None
    voice: Name | None = None
    language: Language | None = None
    webhook_url: WebhookUrl | None = None
    voicemail_action: VoicemailAction = "hangup"
    metadata: Metadata = {}
    returns: Metadata = {}
    tools: Tools | None = None
    outbound_strategy: OutboundStrategy = "primary"
    allowed_outbound_countries: CountryList | None = None
    stream_url: StreamUrl | None = None
    when_all_benched: WhenAllBenched = "refuse"

    def fields(self) -> dict[str, Any]:
        values = self.model_dump(exclude={"metadata"})
        return {**values, "meta": self.metadata}


class AgentUpdate(Input):
    """A partial update: only the fields sent change; ``null`` clears a nullable field."""

    name: Name | None = None
    type: AgentType | None = None
    persona: LongText | None = None
    instructions: LongText | None = None
    voice: Name | None = None
    language: Language | None = None
    webhook_url: WebhookUrl | None = None
    voicemail_action: VoicemailAction | None = None
    metadata: Metadata | None = None
    returns: Metadata | None = None
    tools: Tools | None = None
    outbound_strategy: OutboundStrategy | None = None
    allowed_outbound_countries: CountryList | None = None
    stream_url: StreamUrl | None = None
    primary_number_id: str | None = None
    when_all_benched: WhenAllBenched | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> AgentUpdate:
        for name in (
            "name",
            "type",
            "voicemail_action",
            "metadata",
            "returns",
            "outbound_strategy",
            "when_all_benched",
        ):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class AgentOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    type: AgentType
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    webhook_url: str | None
    voicemail_action: VoicemailAction
    primary_number_id: str | None
    archived_at: str | None
    created_at: str
    updated_at: str
    metadata: dict[str, Any]
    returns: dict[str, Any]
    tools: list[dict[str, Any]] | None
    outbound_strategy: OutboundStrategy
    allowed_outbound_countries: list[str] | None
    stream_url: str | None
    when_all_benched: WhenAllBenched
    version: int = Field(description=VERSION_DOC)
    etag: str = Field(description=ETAG_DOC)

    @classmethod
    def of(cls, v: AgentView) -> AgentOut:
        a = v.agent
        return cls(
            id=ids.render("agent", a.id),
            workspace_id=ids.render("workspace", a.workspace_id),
            name=a.name,
            type=a.type,
            persona=a.persona,
            instructions=a.instructions,
            voice=a.voice,
            language=a.language,
            webhook_url=a.webhook_url,
            voicemail_action=a.voicemail_action,
            primary_number_id=ids.render("number", v.primary_number_id)
            if v.primary_number_id
            else None,
            archived_at=iso(a.archived_at),
            created_at=iso(a.created_at) or "",
            updated_at=iso(a.updated_at) or "",
            metadata=a.meta,
            returns=a.returns,
            tools=a.tools,
            outbound_strategy=a.outbound_strategy,
            allowed_outbound_countries=a.allowed_outbound_countries,
            stream_url=a.stream_url,
            when_all_benched=a.when_all_benched,
            version=a.version,
            etag=entity_tag(a.id, a.version),
        )
