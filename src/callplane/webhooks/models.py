"""Webhook endpoints and their outbox: one delivery row per event and subscribed endpoint."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callplane.core.crypto import EncryptedText
from callplane.core.db import Base, JSONType, Timestamped, uuid_pk

DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpoint(Timestamped, Base):
    """Where a workspace wants its events posted, and the secrets that sign them.

    ``secret`` signs every attempt; after a rotation ``previous_secret`` signs too until
    ``previous_secret_expires_at``, so a receiver can switch secrets without losing a message.
    ``failing_since`` is the first failed attempt since the last success: the endpoint is
    disabled once it has failed for ``CALLPLANE_WEBHOOKS_DISABLE_AFTER_HOURS``.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('manual', 'failing')",
            name="disabled_reason",
        ),
        Index("ix_webhook_endpoints_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    # Catalogued event types (callplane.events.catalog), or ["*"] for every type.
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    secret: Mapped[str | None] = mapped_column(EncryptedText)
    previous_secret: Mapped[str | None] = mapped_column(EncryptedText)
    previous_secret_expires_at: Mapped[dt.datetime | None]
    failing_since: Mapped[dt.datetime | None]
    # Set when the last attempt got no answer at all: no delivery to the endpoint is tried
    # before then (callplane.webhooks.delivery).
    held_until: Mapped[dt.datetime | None]


class WebhookDelivery(Timestamped, Base):
    """One event owed to one endpoint, and how its attempts went.

    ``resource_key`` (the event's first resource) orders deliveries: a worker sends a delivery
    only when no earlier event of the same resource is still pending for the same endpoint.
    A claimed delivery stays ``pending`` with ``next_attempt_at`` one lease ahead under its
    ``lease_id``, so a worker that dies mid-attempt leaves it due again when the lease expires.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_webhook_deliveries_endpoint_order",
            "endpoint_id",
            "resource_key",
            "status",
            "event_id",
        ),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    resource_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    # When this round of attempts began (the event, or a redelivery): retries stop once the
    # retry window (CALLPLANE_WEBHOOKS_RETRY_HOURS) after it has passed.
    scheduled_at: Mapped[dt.datetime]
    lease_id: Mapped[uuid.UUID | None]
    last_attempt_at: Mapped[dt.datetime | None]
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # a short prefix, never all of it
    latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None]
