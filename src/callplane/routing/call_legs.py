"""Twilio voice requests already answered, so that a replayed request is refused.

Twilio signs a request's URL and parameters but nothing that expires, so a captured request
stays valid forever. Each call leg has its own ``CallSid`` and asks the voice URL once; a second
request with the same ``CallSid`` for the same workspace is a replay. The record lives in the
database (every server sees it) for ``twilio_replay_window_hours``, longer than any call lasts.

Every call writes its record, so that is one statement on the hot pool (``core/hotdb.py``): an
insert that, on a conflict, takes over only a record older than the window, and answers
whether it wrote. Older records are deleted apart from the calls, every few minutes; until
then the statement itself treats them as gone.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, delete, select, tuple_
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, Database, utcnow
from callplane.core.hotdb import HotPool

PRUNE_BATCH = 1000


class AnsweredCallLeg(Base):
    __tablename__ = "twilio_call_legs"
    __table_args__ = (Index("ix_twilio_call_legs_seen_at", "seen_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# A row comes back when the leg is new here, or its record is older than the window.
RECORD_SQL = """
INSERT INTO twilio_call_legs (workspace_id, call_sid, seen_at)
VALUES (:workspace_id, :call_sid, :now)
ON CONFLICT (workspace_id, call_sid) DO UPDATE SET seen_at = excluded.seen_at
WHERE twilio_call_legs.seen_at < :cutoff
RETURNING call_sid
"""


class CallLegs:
    """The replay record of the voice webhook, for one server."""

    def __init__(self, pool: HotPool, database: Database, window: dt.timedelta) -> None:
        self.pool = pool
        self.database = database
        self.window = window
        self._record_sql = pool.statement(RECORD_SQL)

    async def first_request(self, workspace_id: uuid.UUID, call_sid: str) -> bool:
        """Record the call leg; False when this workspace answered it within the window."""
        now = utcnow()
        row = await self.pool.write(
            self._record_sql,
            {
                "workspace_id": self.pool.uuid(workspace_id),
                "call_sid": call_sid,
                "now": self.pool.timestamp(now),
                "cutoff": self.pool.timestamp(now - self.window),
            },
        )
        return row is not None

    def prune(self) -> int:
        """Delete the records older than the window, a batch per short transaction.

        Short transactions: on SQLite a delete holds the one write lock every request needs.
        """
        cutoff = utcnow() - self.window
        key = tuple_(AnsweredCallLeg.workspace_id, AnsweredCallLeg.call_sid)
        stale = (
            select(AnsweredCallLeg.workspace_id, AnsweredCallLeg.call_sid)
            .where(AnsweredCallLeg.seen_at < cutoff)
            .limit(PRUNE_BATCH)
        )
        pruned = 0
        while True:
            with self.database.transaction() as session:
                deleted = session.execute(delete(AnsweredCallLeg).where(key.in_(stale)))
            count: int = deleted.rowcount  # type: ignore[attr-defined]
            pruned += count
            if count < PRUNE_BATCH:
                return pruned
