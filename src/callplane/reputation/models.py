from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, JSONType, Timestamped


class CallerIdPolicy(Timestamped, Base):
    """A workspace's caller-ID health thresholds; without a row, the defaults of ``Policy``."""

    __tablename__ = "caller_id_policies"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    min_sample: Mapped[int]
    window_outcomes: Mapped[int]
    watch_below: Mapped[float]
    bench_below: Mapped[float]
    recover_margin: Mapped[float]
    short_call_seconds: Mapped[int]
    cooldown_hours: Mapped[float]
    warming_daily_caps: Mapped[list[int]] = mapped_column(JSONType)
    sticky_window_hours: Mapped[float]
