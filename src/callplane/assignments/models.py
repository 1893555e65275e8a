"""The assignments table: one agent's hold on one number, in the agent's direction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from callplane.core.db import Base, utcnow

# "This assignment is its agent's primary number", written as the predicate of the partial
# index uq_assignments_one_primary_per_agent: SQLite uses a partial index only for a query term
# that matches its predicate, and SQLAlchemy writes the boolean column as ``is_primary = 1``
# there, which made finding an agent's primary number read all of the agent's assignments.
IS_PRIMARY: ColumnElement[Any] = literal_column("assignments.is_primary")


class Assignment(Base):
    """One agent's hold on one number; its direction is always the agent's type.

    The database carries the invariants so two servers racing cannot break them: at most one
    inbound agent per number (partial unique index), at most one primary number per agent, agent
    and number in the same workspace, and no assignment outliving its number (cascade).
    """

    __tablename__ = "assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "number_id"],
            ["phone_numbers.workspace_id", "phone_numbers.id"],
            ondelete="CASCADE",
            name="fk_assignments_number",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "agent_id", "direction"],
            ["agents.workspace_id", "agents.id", "agents.type"],
            name="fk_assignments_agent",
        ),
        CheckConstraint("direction IN ('inbound', 'outbound')", name="direction"),
        Index(
            "uq_assignments_one_inbound_per_number",
            "number_id",
            unique=True,
            sqlite_where=text("direction = 'inbound'"),
            postgresql_where=text("direction = 'inbound'"),
        ),
        Index(
            "uq_assignments_one_primary_per_agent",
            "agent_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
        Index("ix_assignments_agent_id_number_id", "agent_id", "number_id"),
    )

    number_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    workspace_id: Mapped[uuid.UUID]
    direction: Mapped[str] = mapped_column(String(16))
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
