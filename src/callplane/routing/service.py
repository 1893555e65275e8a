"""Call routing: which agent answers a dialed number, and which number an agent calls from."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from callplane.agents.service import get_active_agent
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict
from callplane.core.phone import parse_e164
from callplane.numbers.models import Assignment, PhoneNumber
from callplane.numbers.service import NumberView, view
from callplane.routing.models import CallerIdSelection

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SELECTION_RETENTION = dt.timedelta(days=7)


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


@dataclass(frozen=True, slots=True)
class Selection:
    number: NumberView
    strategy: str
    reason: str
    calls_last_hour: int
    calls_last_day: int


@dataclass(frozen=True, slots=True)
class _Usage:
    hour: int = 0
    day: int = 0
    last: dt.datetime | None = None


def select_caller_id(session: Session, actor: Actor, agent_ref: str, to: str) -> Selection:
    """Pick the number an outbound call goes out from, honouring caps exactly.

    The agent's candidate numbers are locked (in id order, so concurrent selections queue
    rather than deadlock) before their usage is counted: two servers on one database cannot
    both see the last free slot of a number.
    """
    agent = get_active_agent(session, actor, agent_ref)
    if agent.type != "outbound":
        raise Conflict(
            "agent_type_mismatch",
            f"agent '{agent_ref}' is an inbound agent and places no calls",
            {"agent_id": ids.render("agent", agent.id)},
        )
    destination = parse_e164(to, "to")
    allowed = agent.allowed_outbound_countries
    if allowed is not None and destination.country_code not in allowed:
        raise Conflict(
            "destination_country_not_allowed",
            f"to: agent may call {', '.join(allowed) or 'no country'}, "
            f"not {destination.country_code}",
            {"field": "to", "country_code": destination.country_code, "allowed": allowed},
        )
    candidates = list(
        session.scalars(
            select(PhoneNumber)
            .join(Assignment, Assignment.number_id == PhoneNumber.id)
            .where(Assignment.agent_id == agent.id, PhoneNumber.status == "active")
            .order_by(PhoneNumber.id)
            .with_for_update(of=PhoneNumber)
        )
    )
    if not candidates:
        raise Conflict(
            "no_caller_id_available",
            "the agent has no active outbound number",
            {"agent_id": ids.render("agent", agent.id), "retry_after": None},
        )
    now = utcnow()
    usage = _usage(session, [c.id for c in candidates], now)
    free = [c for c in candidates if _under_caps(c, usage.get(c.id, _Usage()))]
    if not free:
        raise Conflict(
            "no_caller_id_available",
            "every number of this agent has reached its call cap",
            {
                "agent_id": ids.render("agent", agent.id),
                "retry_after": _seconds_until_free(session, candidates, usage, now),
            },
        )
    primary = session.scalar(
        select(Assignment.number_id).where(Assignment.agent_id == agent.id, Assignment.is_primary)
    )
    chosen, reason = _choose(agent.outbound_strategy, free, usage, primary, destination.e164)
    session.execute(
        insert(CallerIdSelection).values(
            id=ids.new_uuid(),
            workspace_id=actor.workspace_id,
            number_id=chosen.id,
            agent_id=agent.id,
            to_e164=destination.e164,
            selected_at=now,
        )
    )
    # Keep the log bounded: a week of history per number, pruned as the number is used.
    session.execute(
        delete(CallerIdSelection).where(
            CallerIdSelection.number_id == chosen.id,
            CallerIdSelection.selected_at < now - SELECTION_RETENTION,
        )
    )
    used = usage.get(chosen.id, _Usage())
    return Selection(
        view(session, chosen), agent.outbound_strategy, reason, used.hour + 1, used.day + 1
    )


def _usage(
    session: Session, number_ids: list[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, _Usage]:
    hour_ago = now - HOUR
    rows = session.execute(
        select(
            CallerIdSelection.number_id,
            func.count().filter(CallerIdSelection.selected_at > hour_ago),
            func.count(),
            func.max(CallerIdSelection.selected_at),
        )
        .where(
            CallerIdSelection.number_id.in_(number_ids), CallerIdSelection.selected_at > now - DAY
        )
        .group_by(CallerIdSelection.number_id)
    )
    return {number_id: _Usage(hour, day, _aware(last)) for number_id, hour, day, last in rows}


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type; SQLite returns naive UTC text for max()."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _under_caps(number: PhoneNumber, used: _Usage) -> bool:
    return (number.max_calls_per_hour is None or used.hour < number.max_calls_per_hour) and (
        number.max_calls_per_day is None or used.day < number.max_calls_per_day
    )


def _choose(
    strategy: str,
    free: list[PhoneNumber],
    usage: dict[uuid.UUID, _Usage],
    primary: uuid.UUID | None,
    to: str,
) -> tuple[PhoneNumber, str]:
    never = dt.datetime.min.replace(tzinfo=dt.UTC)

    def least_recently_used(numbers: list[PhoneNumber]) -> PhoneNumber:
        return min(numbers, key=lambda n: (usage.get(n.id, _Usage()).last or never, n.id))

    if strategy == "primary":
        chosen = next((n for n in free if n.id == primary), None)
        if chosen is not None:
            return chosen, "primary"
        return least_recently_used(free), "primary_unavailable"
    if strategy == "local_presence":
        region = caller_country(to)
        if to.startswith("+1"):
            same_area = [n for n in free if n.e164[:5] == to[:5]]
            if same_area:
                return least_recently_used(same_area), "same_area_code"
        same_country = [n for n in free if n.country_code == region]
        if same_country:
            return least_recently_used(same_country), "same_country"
        return least_recently_used(free), "any_country"
    return least_recently_used(free), "least_recently_used"


def _seconds_until_free(
    session: Session,
    candidates: list[PhoneNumber],
    usage: dict[uuid.UUID, _Usage],
    now: dt.datetime,
) -> int:
    """When the first capped number gets a slot back, as whole seconds from now."""
    waits: list[float] = []
    for number in candidates:
        used = usage.get(number.id, _Usage())
        wait = 0.0
        for cap, count, window in (
            (number.max_calls_per_hour, used.hour, HOUR),
            (number.max_calls_per_day, used.day, DAY),
        ):
            if cap is None or count < cap:
                continue
            oldest_blocking = session.scalar(
                select(CallerIdSelection.selected_at)
                .where(
                    CallerIdSelection.number_id == number.id,
                    CallerIdSelection.selected_at > now - window,
                )
                .order_by(CallerIdSelection.selected_at)
                .offset(count - cap)
                .limit(1)
            )
            if oldest_blocking is not None:
                wait = max(wait, (oldest_blocking + window - now).total_seconds())
        waits.append(wait)
    return max(1, int(min(waits)) + 1)
