"""Release jobs (the durable promise to cancel a subscription) and the sandbox's own ledger."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.db import Base, Timestamped, utcnow, uuid_pk

RELEASE_STATUSES = ("pending", "released", "failed")


class ReleaseJob(Timestamped, Base):
    """One number to release at its provider, written in the transaction that deleted it.

    The number row is gone by then, so the job copies what the provider needs (E.164 and the
    provider's own reference). ``next_attempt_at`` doubles as a lease: a worker that claims the
    job pushes it forward, so a worker that dies mid-way leaves a job that becomes due again,
    and ``lease_id`` lets only the current holder record the outcome.
    """

    __tablename__ = "release_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'released', 'failed')", name="status"),
        Index("ix_release_jobs_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_release_jobs_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number_id: Mapped[uuid.UUID]
    e164: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_id: Mapped[uuid.UUID | None]
    released_at: Mapped[dt.datetime | None]


class SandboxNumber(Base):
    """What the embedded sandbox provider has sold: it plays the provider's side of the books.

    One row per E.164 ever bought; ``releases`` counts the owned -> released transitions, so a
    test (or a curious user) can see that a number was released exactly once.
    """

    __tablename__ = "sandbox_numbers"
    __table_args__ = (CheckConstraint("status IN ('owned', 'released')", name="status"),)

    e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    monthly_cost_cents: Mapped[int]
    releases: Mapped[int] = mapped_column(default=0)
    purchased_at: Mapped[dt.datetime]
    released_at: Mapped[dt.datetime | None]


INTENT_STATUSES = ("pending", "completed", "adopted", "abandoned")


class PurchaseIntent(Timestamped, Base):
    """A purchase about to be made at a provider, committed before the provider is called.

    The provider call cannot join the database transaction: a process killed between the
    provider's "bought" and the commit of the inventory row would leave a paid number nobody
    knows about. The intent is that knowledge. The request that bought the number marks it
    ``completed`` in the transaction that adds the number; a crashed or failed request leaves it
    ``pending``, and recovery (callplane.providers.recovery) later asks the provider: owned
    means the number is ``adopted`` into the inventory as purchased (so deleting it releases
    it), not owned means the purchase never happened or was undone (``abandoned``).
    """

    __tablename__ = "purchase_intents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'completed', 'adopted', 'abandoned')", name="status"
        ),
        Index("ix_purchase_intents_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    request_id: Mapped[str | None] = mapped_column(String(128))
