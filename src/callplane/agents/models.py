from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, JSONType, Timestamped, uuid_pk
from callplane.core.versioning import Versioned

AGENT_TYPES = ("inbound", "outbound")
VOICEMAIL_ACTIONS = ("hangup", "leave_message")


class Agent(Versioned, Timestamped, Base):
    __tablename__ = "agents"
    __table_args__ = (
        # Target of the assignments' composite key: an assignment's direction is its agent's type,
        # and agent and number share one workspace, enforced by the database itself.
        UniqueConstraint("workspace_id", "id", "type", name="uq_agents_workspace_id_type"),
        CheckConstraint("type IN ('inbound', 'outbound')", name="type"),
        CheckConstraint("voicemail_action IN ('hangup', 'leave_message')", name="voicemail_action"),
        CheckConstraint(
            "outbound_strategy IN ('primary', 'local_presence', 'rotate')", name="outbound_strategy"
        ),
        CheckConstraint("when_all_benched IN ('refuse', 'least_bad')", name="when_all_benched"),
        Index("ix_agents_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    persona: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    voice: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(35))
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    voicemail_action: Mapped[str] = mapped_column(String(16), default="hangup")
    archived_at: Mapped[dt.datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    # Structured-extraction schema and in-call tools, as CallingBox agents carry them.
    returns: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    created_by_key_id: Mapped[uuid.UUID | None]
    # Call routing: how outbound calls pick a caller ID, where inbound media streams go.
    outbound_strategy: Mapped[str] = mapped_column(
        String(16), default="primary", server_default="primary"
    )
    allowed_outbound_countries: Mapped[list[str] | None] = mapped_column(JSONType)
    # When every caller ID is benched: refuse the call, or use the least bad number and say so.
    when_all_benched: Mapped[str] = mapped_column(
        String(16), default="refuse", server_default="refuse"
    )
    stream_url: Mapped[str | None] = mapped_column(String(2048))
