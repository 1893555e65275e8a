"""The keyword arguments of creates and updates, as TypedDicts so a type checker checks them.

An update sends only the keys given: a key left out stays as it is, ``None`` clears it.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "AgentChanges",
    "AgentFields",
    "NewNumber",
    "NumberChanges",
    "WebhookEndpointChanges",
    "WorkspaceChanges",
]


class AgentFields(TypedDict, total=False):
    persona: str
    instructions: str
    voice: str
    language: str
    webhook_url: str
    voicemail_action: Literal["hangup", "leave_message"]
    metadata: dict[str, Any]
    returns: dict[str, Any]
    tools: list[dict[str, Any]]
    outbound_strategy: Literal["primary", "local_presence", "rotate"]
    allowed_outbound_countries: list[str]
    stream_url: str
    when_all_benched: Literal["refuse", "least_bad"]


class AgentChanges(TypedDict, total=False):
    name: str
    type: Literal["inbound", "outbound"]
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    webhook_url: str | None
    voicemail_action: Literal["hangup", "leave_message"]
    metadata: dict[str, Any]
    returns: dict[str, Any]
    tools: list[dict[str, Any]] | None
    outbound_strategy: Literal["primary", "local_presence", "rotate"]
    allowed_outbound_countries: list[str] | None
    stream_url: str | None
    primary_number_id: str | None
    when_all_benched: Literal["refuse", "least_bad"]


class NewNumber(TypedDict, total=False):
    """One item of ``numbers.create_batch``; ``e164`` is required."""

    e164: str
    friendly_name: str
    monthly_cost_cents: int


class NumberChanges(TypedDict, total=False):
    friendly_name: str | None
    status: Literal["active", "suspended"]
    monthly_cost_cents: int
    fallback_action: Literal["reject", "forward"]
    fallback_destination: str | None
    allowed_inbound_countries: list[str] | None
    max_calls_per_hour: int | None
    max_calls_per_day: int | None


class WorkspaceChanges(TypedDict, total=False):
    name: str
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    default_stream_url: str | None


class CallerIdPolicyChanges(TypedDict, total=False):
    min_sample: int
    window_outcomes: int
    watch_below: float
    bench_below: float
    recover_margin: float
    short_call_seconds: int
    cooldown_hours: float
    warming_daily_caps: list[int]
    sticky_window_hours: float


class WebhookEndpointChanges(TypedDict, total=False):
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
