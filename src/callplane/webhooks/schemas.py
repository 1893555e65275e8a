"""Request and response bodies of /v1/webhook-endpoints; a secret appears only when issued."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from callplane.core import crypto, ids
from callplane.core.schemas import Input, WebhookUrl, iso
from callplane.events.catalog import ALL
from callplane.webhooks.models import WebhookDelivery, WebhookEndpoint

EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
MAX_OVERLAP_SECONDS = 7 * 24 * 3600


class EndpointCreate(Input):
    url: WebhookUrl
    event_types: EventTypes = [ALL]
    description: Description | None = None
    enabled: bool = True


class EndpointUpdate(Input):
    """A partial update: only the fields sent change; ``description: null`` clears it."""

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> EndpointUpdate:
        for name in ("url", "event_types", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class RotateSecret(Input):
    """How long the current secret keeps signing beside the new one (0: stop at once)."""

    overlap_seconds: Annotated[int, Field(ge=0, le=MAX_OVERLAP_SECONDS)] = 24 * 3600

    @property
    def overlap(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.overlap_seconds)


class EndpointOut(BaseModel):
    id: str
    workspace_id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: Literal["manual", "failing"] | None
    secret_hint: str | None
    previous_secret_expires_at: str | None
    failing_since: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, e: WebhookEndpoint) -> EndpointOut:
        overlap_ends = e.previous_secret_expires_at if e.previous_secret else None
        return cls(
            id=ids.render("webhook_endpoint", e.id),
            workspace_id=ids.render("workspace", e.workspace_id),
            url=e.url,
            description=e.description,
            event_types=e.event_types,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            secret_hint=crypto.hint(e.secret),
            previous_secret_expires_at=iso(overlap_ends),
            failing_since=iso(e.failing_since),
            created_at=iso(e.created_at) or "",
            updated_at=iso(e.updated_at) or "",
        )


class EndpointWithSecret(EndpointOut):
    """The endpoint and its new signing secret, shown this once and never again."""

    secret: str

    @classmethod
    def issued(cls, endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
        return cls(**EndpointOut.of(endpoint).model_dump(), secret=secret)


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    response_body: str | None
    latency_ms: int | None
    last_error: str | None
    next_attempt_at: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    created_at: str

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryOut:
        return cls(
            id=ids.render("webhook_delivery", d.id),
            endpoint_id=ids.render("webhook_endpoint", d.endpoint_id),
            event_id=ids.render("event", d.event_id),
            event_type=d.event_type,
            status=d.status,
            attempts=d.attempts,
            response_status=d.response_status,
            response_body=d.response_body,
            latency_ms=d.latency_ms,
            last_error=d.last_error,
            next_attempt_at=iso(d.next_attempt_at) if d.status == "pending" else None,
            last_attempt_at=iso(d.last_attempt_at),
            delivered_at=iso(d.delivered_at),
            created_at=iso(d.created_at) or "",
        )


class RedeliveryOut(BaseModel):
    requeued: int


class EventTypeOut(BaseModel):
    type: str
    description: str
