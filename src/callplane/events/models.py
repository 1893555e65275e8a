from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, JSONType, utcnow, uuid_pk


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_workspace_id_id", "workspace_id", "id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    actor_key_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(128))
    resource_ids: Mapped[list[str]] = mapped_column(JSONType)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
