"""Call routing: which agent answers a dialed number, and which number an agent calls from."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from callplane.core import ids
from callplane.core.errors import Conflict
from callplane.core.phone import ParsedNumber, parse_e164


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """What a caller-ID selection needs to know about the agent before it picks a number."""

    id: uuid.UUID
    type: str
    archived: bool
    outbound_strategy: str
    allowed_outbound_countries: list[str] | None
    when_all_benched: str
    warming_daily_caps: tuple[int, ...]  # the workspace's caller-ID policy
    sticky_window: dt.timedelta


@dataclass(frozen=True, slots=True)
class AgentRoute:
    id: uuid.UUID
    name: str
    type: str
    persona: str | None
    instructions: str | None
    voice: str | None
    language: str | None
    webhook_url: str | None
    voicemail_action: str
    stream_url: str | None
    archived: bool


@dataclass(frozen=True, slots=True)
class InboundRoute:
    """Everything a resolution needs about one number, loaded in one go and cacheable."""

    workspace_id: uuid.UUID
    number_id: uuid.UUID
    e164: str
    status: str
    allowed_inbound_countries: tuple[str, ...] | None
    fallback_action: str
    fallback_destination: str | None
    agent: AgentRoute | None


@dataclass(frozen=True, slots=True)
class Resolution:
    route: InboundRoute
    action: str  # connect | forward | reject
    reason: str
    agent: AgentRoute | None = None
    stream_url: str | None = None
    destination: str | None = None


@lru_cache(maxsize=65_536)
def caller_country(caller: str | None) -> str | None:
    """The country of a caller id, or None when it is withheld or not a phone number."""
    if not caller or not caller.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(caller, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )


def decide(route: InboundRoute, caller_region: str | None) -> Resolution:
    """The routing rule, pure: connect to the agent, or the number's fallback, with a reason.

    It depends on the caller only through its country (``caller_country``), so its answers can
    be memoised per route and country. A caller from a country the number does not accept is
    rejected (never forwarded); a caller whose country cannot be told counts as not allowed
    when the number has a country list.
    """
    allowed = route.allowed_inbound_countries
    if allowed is not None and caller_region not in allowed:
        return Resolution(route, "reject", "country_not_allowed")
    if route.status != "active":
        return fallback(route, "number_suspended")
    if route.agent is None:
        return fallback(route, "no_inbound_agent")
    if route.agent.archived:
        return fallback(route, "agent_archived")
    # Connect even without a stream URL: a media plane that brings its own still needs the agent.
    return Resolution(route, "connect", "assigned", route.agent, route.agent.stream_url)


def fallback(route: InboundRoute, reason: str) -> Resolution:
    if route.fallback_action == "forward" and route.fallback_destination:
        return Resolution(route, "forward", reason, destination=route.fallback_destination)
    return Resolution(route, "reject", reason)


def check_caller(agent: AgentFacts, ref: str) -> None:
    """Only an active outbound agent places calls."""
    if agent.archived:
        raise Conflict(
            "agent_archived",
            f"agent '{ref}' is archived and takes no new numbers or changes",
            {"agent_id": ids.render("agent", agent.id)},
        )
    if agent.type != "outbound":
        raise Conflict(
            "agent_type_mismatch",
            f"agent '{ref}' is an inbound agent and places no calls",
            {"agent_id": ids.render("agent", agent.id)},
        )


def check_destination(agent: AgentFacts, to: str) -> ParsedNumber:
    """The destination, parsed, if the agent may call its country."""
    destination = parse_e164(to, "to")
    allowed = agent.allowed_outbound_countries
    if allowed is not None and destination.country_code not in allowed:
        raise Conflict(
            "destination_country_not_allowed",
            f"to: agent may call {', '.join(allowed) or 'no country'}, "
            f"not {destination.country_code}",
            {"field": "to", "country_code": destination.country_code, "allowed": allowed},
        )
    return destination
