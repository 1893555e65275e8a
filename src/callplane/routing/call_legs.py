"""Twilio voice requests already answered, so that a replayed request is refused.

Twilio signs a request's URL and parameters but nothing that expires, so a captured request
stays valid forever. Each call leg has its own ``CallSid`` and asks the voice URL once; a second
request with the same ``CallSid`` for the same workspace is a replay. The record lives in the
database (every server sees it) for ``twilio_replay_window_hours``, longer than any call lasts,
and older rows are pruned as new calls come in.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, delete
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, Database, utcnow


class AnsweredCallLeg(Base):
    __tablename__ = "twilio_call_legs"
    __table_args__ = (Index("ix_twilio_call_legs_seen_at", "seen_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def first_request(
    database: Database, workspace_id: uuid.UUID, call_sid: str, window: dt.timedelta
) -> bool:
    """Record the call leg; False when this workspace answered it within ``window`` already."""
    now = utcnow()
    cutoff = now - window
    with database.transaction() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        insert = postgres_insert if postgres else sqlite_insert
        statement = (
            insert(AnsweredCallLeg)
            .values(workspace_id=workspace_id, call_sid=call_sid, seen_at=now)
            .on_conflict_do_update(
                index_elements=[AnsweredCallLeg.workspace_id, AnsweredCallLeg.call_sid],
                set_={"seen_at": now},
                where=AnsweredCallLeg.seen_at < cutoff,
            )
            .returning(AnsweredCallLeg.call_sid)
        )
        recorded = session.execute(statement).first() is not None
        session.execute(delete(AnsweredCallLeg).where(AnsweredCallLeg.seen_at < cutoff))
    return recorded
