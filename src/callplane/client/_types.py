"""The typed results of the client: what the native API's ``data`` holds, as pydantic models.

They mirror the server's response schemas field for field (a test keeps them in step) but
ignore fields they do not know, so an older client keeps working against a newer server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Agent",
    "AttachResult",
    "AvailableNumber",
    "CallOutcome",
    "CallerId",
    "CallerIdCaps",
    "CallerIdPolicy",
    "CallerIdSelection",
    "Event",
    "EventType",
    "InboundResolution",
    "IssuedWebhookEndpoint",
    "Number",
    "NumberHealth",
    "NumbersSummary",
    "OutcomeFigures",
    "ProviderImport",
    "Release",
    "ResolvedAgent",
    "ResolvedNumber",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
]

Direction = Literal["inbound", "outbound"]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Number(Model):
    """A phone number of the inventory, with who answers it and who calls from it."""

    id: str
    workspace_id: str
    e164: str
    slug: str
    friendly_name: str | None
    country_code: str | None
    number_type: str
    valid: bool
    status: str
    source: str
    provider: str | None
    monthly_cost_cents: int
    purchased_at: dt.datetime | None
    verified_by: Literal["provider", "operator"] | None
    inbound_agent_id: str | None
    outbound_agent_ids: list[str]
    fallback_action: str
    fallback_destination: str | None
    allowed_inbound_countries: list[str] | None
    max_calls_per_hour: int | None
    max_calls_per_day: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # For If-Match (servers before versions send neither).
    version: int | None = None
    etag: str | None = None


class Agent(Model):
    id: str
    workspace_id: str
    name: str
    type: Direction
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    webhook_url: str | None
    voicemail_action: str
    primary_number_id: str | None
    archived_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    metadata: dict[str, Any]
    returns: dict[str, Any]
    tools: list[dict[str, Any]] | None
    outbound_strategy: str
    allowed_outbound_countries: list[str] | None
    stream_url: str | None
    when_all_benched: str
    version: int | None = None
    etag: str | None = None


class AttachResult(Model):
    """The agent after an outbound attach, the numbers named, and how many were new."""

    agent: Agent
    numbers: list[Number]
    newly_attached: int


class Event(Model):
    """One entry of the audit log: what changed, before and after, and which request did it."""

    id: str
    type: str
    actor_key_id: str | None
    request_id: str | None
    resource_ids: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: dt.datetime


class NumbersSummary(Model):
    total: int
    monthly_cost_cents: int
    by_status: dict[str, int]
    by_country: dict[str, int]
    by_type: dict[str, int]
    by_provider: dict[str, int]
    by_assignment: dict[str, int]


class AvailableNumber(Model):
    """A number a provider offers for sale."""

    e164: str
    country_code: str | None
    locality: str | None
    region: str | None
    monthly_cost_cents: int | None


class ProviderImport(Model):
    """What importing a provider account's own numbers did."""

    imported: list[Number]
    already_in_workspace: list[str]
    in_other_workspace: list[str]
    verified: list[str]


class Release(Model):
    """The release of a deleted purchased number at its provider."""

    id: str
    number_id: str
    e164: str
    provider: str
    status: Literal["pending", "released", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    released_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Workspace(Model):
    id: str
    name: str
    twilio_account_sid: str | None
    twilio_auth_token_set: bool
    twilio_auth_token_hint: str | None
    default_stream_url: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ResolvedNumber(Model):
    id: str
    e164: str
    status: str


class ResolvedAgent(Model):
    """The part of an agent the media plane needs to take a call."""

    id: str
    name: str
    type: Direction
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    webhook_url: str | None
    voicemail_action: str


class InboundResolution(Model):
    """Who answers a call to a number: ``action`` connect, forward or reject, and why."""

    action: str
    reason: str
    number: ResolvedNumber
    agent: ResolvedAgent | None
    stream_url: str | None
    destination: str | None


class CallerIdSelection(Model):
    """The number an agent's outbound call goes out from, by which strategy, and its use."""

    selection_id: str
    number: Number
    strategy: str
    reason: str
    health_state: str
    calls_last_hour: int
    calls_last_day: int
    status_callback_url: str  # give it to Twilio as the call's StatusCallback


class OutcomeFigures(Model):
    """A number's outcomes over one span: attempts exclude failed calls."""

    attempts: int
    answered: int
    answer_rate: float | None
    short_calls: int
    short_call_rate: float | None


class CallerIdCaps(Model):
    max_calls_per_hour: int | None
    max_calls_per_day: int | None
    warming_cap: int | None
    calls_last_hour: int
    calls_last_day: int


class NumberHealth(Model):
    """A number's caller-ID state (healthy, watch, benched, paused, warming) and its figures."""

    number_id: str
    e164: str
    state: str
    reason: str | None
    changed_at: dt.datetime | None
    benched_until: dt.datetime | None
    warming_since: dt.datetime | None
    last_outcomes: OutcomeFigures
    last_24h: OutcomeFigures
    last_7d: OutcomeFigures
    min_sample: int
    caps: CallerIdCaps


class CallerId(NumberHealth):
    """One number of an agent's caller-ID pool."""

    friendly_name: str | None
    country_code: str | None
    status: str


class CallOutcome(Model):
    """An outcome as recorded (``replayed``: it had been reported already), and the health after."""

    selection_id: str
    outcome: str
    duration_seconds: int | None
    reported_at: dt.datetime
    replayed: bool
    health: NumberHealth


class CallerIdPolicy(Model):
    """A workspace's caller-ID health thresholds, warming ramp and sticky window."""

    min_sample: int
    window_outcomes: int
    watch_below: float
    bench_below: float
    recover_margin: float
    short_call_seconds: int
    cooldown_hours: float
    warming_daily_caps: list[int]
    sticky_window_hours: float


class WebhookEndpoint(Model):
    """Where the workspace's events are posted; the secret shows only as a hint."""

    id: str
    workspace_id: str
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: Literal["manual", "failing"] | None
    secret_hint: str | None
    previous_secret_expires_at: dt.datetime | None
    failing_since: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class IssuedWebhookEndpoint(WebhookEndpoint):
    """An endpoint just created or rotated, with its signing secret (shown this once)."""

    secret: str


class WebhookDelivery(Model):
    """One event sent (or being sent) to one endpoint, and how its attempts went."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    response_status: int | None
    response_body: str | None
    latency_ms: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    last_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class EventType(Model):
    type: str
    description: str
