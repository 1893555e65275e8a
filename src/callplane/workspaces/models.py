from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.crypto import EncryptedText
from callplane.core.db import Base, Timestamped, uuid_pk


class Workspace(Timestamped, Base):
    __tablename__ = "workspaces"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    # Telephony settings. The auth token is a secret: write-only through the API, stored sealed
    # (callplane.core.crypto), never rendered in a response, an event or a log line.
    twilio_account_sid: Mapped[str | None] = mapped_column(String(64))
    twilio_auth_token: Mapped[str | None] = mapped_column(EncryptedText)
    default_stream_url: Mapped[str | None] = mapped_column(String(2048))


KEY_SCOPES = ("full", "read")


class ApiKey(Base):
    """Only an HMAC of the key is kept; ``key_prefix`` lets a person recognise it in a list.

    ``scope`` is ``full`` (everything) or ``read`` (reads and the routing questions, the media
    plane's key: it cannot change anything, provider credentials least of all). ``expires_at``
    is optional; ``last_used_at`` is recorded at most once a minute (see key_usage).
    """

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('full', 'read')", name="scope"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
