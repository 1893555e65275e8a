from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, JSONType, utcnow


class DashboardSession(Base):
    """A signed-in browser. Only a hash of the cookie's token is kept, as for API keys.

    The session remembers which key signed in, never the key itself: revoking that key (or
    deleting its workspace) ends the session at the browser's next request.
    """

    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class ImportJob(Base):
    """A CSV import started from the dashboard: its progress, and its report once done.

    Kept in the database, not in the memory of the server that runs it, so that any server
    of the installation shows its progress and hands out its rejected rows.
    """

    __tablename__ = "import_jobs"
    __table_args__ = (CheckConstraint("state IN ('running', 'done', 'failed')", name="state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    done: Mapped[int]
    total: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The engine's report (callplane.client._bulk_import.ImportReport) as a dict, rejected
    # rows included, written once when the job ends.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
