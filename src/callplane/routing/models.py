from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, utcnow, uuid_pk


class CallerIdSelection(Base):
    """One outbound caller-ID choice: the usage that per-number caps count, and its record."""

    __tablename__ = "caller_id_selections"
    __table_args__ = (
        Index("ix_caller_id_selections_number_id_selected_at", "number_id", "selected_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("phone_numbers.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    to_e164: Mapped[str] = mapped_column(String(16))
    selected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
