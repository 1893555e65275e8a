from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, utcnow, uuid_pk


class CallerIdSelection(Base):
    """One outbound caller-ID choice: the usage that caps count, its record, and its outcome."""

    __tablename__ = "caller_id_selections"
    __table_args__ = (
        Index("ix_caller_id_selections_number_id_selected_at", "number_id", "selected_at"),
        # A number's figures (its latest outcomes), and a destination's sticky number.
        Index("ix_caller_id_selections_number_id_outcome_at", "number_id", "outcome_at"),
        Index(
            "ix_caller_id_selections_agent_id_to_e164_selected_at",
            "agent_id",
            "to_e164",
            "selected_at",
        ),
        CheckConstraint(
            "outcome IN ('answered', 'no_answer', 'busy', 'failed', 'voicemail', 'rejected')",
            name="outcome",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("phone_numbers.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    to_e164: Mapped[str] = mapped_column(String(16))
    selected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The number's health state when it was taken (read under the row lock: what the rules saw).
    health_state: Mapped[str | None] = mapped_column(String(16))
    # How the call went, reported once (callplane.reputation): the figures health is judged on.
    outcome: Mapped[str | None] = mapped_column(String(16))
    duration_seconds: Mapped[int | None]
    outcome_at: Mapped[dt.datetime | None]
