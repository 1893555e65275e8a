"""How healthy a caller ID is, judged from its call outcomes: pure rules, no database, no HTTP.

A number that dials too much gets labelled by carriers ("Spam Likely"); the first visible sign
is its answer rate collapsing, and answered calls that end within seconds. The service feeds
these rules the figures it counts and applies the verdict; the selector reads only the verdict
(the state on the number's row) and the warming cap computed here.

States: ``healthy`` and ``watch`` are selected; ``benched`` is not, until its cool-down ends and
it returns on probation (as ``watch``, judged afresh); ``paused`` is manual and only a person
lifts it; ``warming`` is a number new to the workspace whose daily cap still ramps up.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

OUTCOMES = ("answered", "no_answer", "busy", "failed", "voicemail", "rejected")
STATES = ("healthy", "watch", "benched", "paused", "warming")
SELECTABLE = ("healthy", "watch", "warming")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Policy:
    """A workspace's thresholds; the defaults are the documented ones (docs/caller-id-health.md)."""

    min_sample: int = 30  # outcomes before a number is judged at all
    window_outcomes: int = 60  # the judgement looks at this many latest outcomes
    watch_below: float = 0.15  # answer rate under which a number is watched
    bench_below: float = 0.07  # answer rate under which it is benched
    recover_margin: float = 0.05  # a watched number is healthy again at watch_below + this
    short_call_seconds: int = 6  # an answered call shorter than this counts as not answered
    cooldown_hours: float = 48.0  # a benched number rests this long, then returns on probation
    warming_daily_caps: tuple[int, ...] = (20, 40, 80, 160)  # day 1, 2, … of a new number
    sticky_window_hours: float = 0.0  # a destination keeps its number this long; 0: off


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Tally:
    """Outcomes of one span: attempts exclude ``failed`` (the network's fault, not the number's)."""

    attempts: int = 0
    answered: int = 0
    short_calls: int = 0

    @property
    def answer_rate(self) -> float | None:
        """Answered and not short, per attempt; None before the first attempt."""
        return (self.answered - self.short_calls) / self.attempts if self.attempts else None

    @property
    def short_call_rate(self) -> float | None:
        return self.short_calls / self.answered if self.answered else None

    def add(self, outcome: str, duration_seconds: int | None, policy: Policy) -> Tally:
        if outcome == "failed":
            return self
        answered = outcome == "answered"
        short = (
            answered
            and duration_seconds is not None
            and duration_seconds < (policy.short_call_seconds)
        )
        return Tally(
            self.attempts + 1, self.answered + int(answered), self.short_calls + int(short)
        )


def tally(outcomes: list[tuple[str, int | None]], policy: Policy) -> Tally:
    total = Tally()
    for outcome, duration in outcomes:
        total = total.add(outcome, duration, policy)
    return total


@dataclass(frozen=True, slots=True)
class Standing:
    """What the number's row says now: its state, since when and why, and its timers."""

    state: str
    reason: str | None
    changed_at: dt.datetime | None
    benched_until: dt.datetime | None
    warming_since: dt.datetime | None
    max_calls_per_day: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str
    reason: str | None
    benched_until: dt.datetime | None = None
    # True when the outcomes judged so far stop counting (after a bench, or a manual change).
    fresh_start: bool = False
    answer_rate: float | None = field(default=None)


def warming_cap(
    schedule: tuple[int, ...], since: dt.datetime | None, now: dt.datetime, own_cap: int | None
) -> tuple[int, dt.datetime] | None:
    """Today's ramped daily cap of a warming number, and when it next grows; None: warm already.

    Day ``d`` (counted from ``since``) allows ``schedule[d]`` calls in the sliding day; warming
    ends after the schedule, or on the first day whose cap reaches the number's own cap.
    """
    if since is None:
        return None
    day = max(0, math.floor((now - since) / DAY))
    if day >= len(schedule):
        return None
    cap = schedule[day]
    if own_cap is not None and cap >= own_cap:
        return None
    return cap, since + (day + 1) * DAY


def initial_health(policy: Policy, now: dt.datetime) -> dict[str, object]:
    """A number new to the workspace warms up, unless the policy has no ramp."""
    if not policy.warming_daily_caps:
        return {"health_state": "healthy", "health_reason": None, "health_changed_at": now}
    return {
        "health_state": "warming",
        "health_reason": "new_number",
        "health_changed_at": now,
        "warming_since": now,
    }


def is_warming(standing: Standing, policy: Policy, now: dt.datetime) -> bool:
    return (
        warming_cap(
            policy.warming_daily_caps, standing.warming_since, now, standing.max_calls_per_day
        )
        is not None
    )


def judge(standing: Standing, recent: Tally, policy: Policy, now: dt.datetime) -> Verdict:
    """The number's state after its latest outcomes (``recent``: the judged window).

    Hysteresis: a watched number needs ``watch_below + recover_margin`` to be healthy again, and
    a benched one is not judged until its cool-down ends; it then starts afresh on probation.
    """
    state = standing.state
    rate = recent.answer_rate
    if state == "paused":
        return _keep(standing, rate)
    if state == "benched":
        if standing.benched_until is not None and now < standing.benched_until:
            return _keep(standing, rate)
        return Verdict("watch", "probation_after_cooldown", fresh_start=True)
    judged = recent.attempts >= policy.min_sample and rate is not None
    if judged and rate is not None and rate < policy.bench_below:
        until = now + dt.timedelta(hours=policy.cooldown_hours)
        return Verdict("benched", "answer_rate_below_bench_threshold", until, answer_rate=rate)
    if is_warming(standing, policy, now):
        return Verdict("warming", standing.reason or "new_number", answer_rate=rate)
    if state == "warming":
        state, standing = "healthy", _replace_reason(standing, "warming_complete")
    if not judged or rate is None:
        return _keep(standing, rate, state)
    if rate < policy.watch_below:
        if state == "watch":
            return _keep(standing, rate)
        return Verdict("watch", "answer_rate_below_watch_threshold", answer_rate=rate)
    if state == "watch" and rate < policy.watch_below + policy.recover_margin:
        return _keep(standing, rate)  # hysteresis: not yet clearly recovered
    if state == "watch":
        return Verdict("healthy", "answer_rate_recovered", answer_rate=rate)
    return _keep(standing, rate, state)


def pause(standing: Standing) -> Verdict | None:
    """A person benches the number until they resume it; None when it is paused already."""
    if standing.state == "paused":
        return None
    return Verdict("paused", "paused_by_operator")


def resume(standing: Standing, policy: Policy, now: dt.datetime) -> Verdict | None:
    """A paused or benched number returns, afresh; None when there is nothing to lift."""
    if standing.state not in ("paused", "benched"):
        return None
    if is_warming(standing, policy, now):
        return Verdict("warming", "resumed_by_operator", fresh_start=True)
    if standing.state == "benched":
        return Verdict("watch", "probation_by_operator", fresh_start=True)
    return Verdict("healthy", "resumed_by_operator", fresh_start=True)


def _keep(standing: Standing, rate: float | None, state: str | None = None) -> Verdict:
    return Verdict(
        state or standing.state, standing.reason, standing.benched_until, answer_rate=rate
    )


def _replace_reason(standing: Standing, reason: str) -> Standing:
    return Standing(
        "healthy",
        reason,
        standing.changed_at,
        None,
        standing.warming_since,
        standing.max_calls_per_day,
    )
