from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from callplane.core import ids
from callplane.core.schemas import Input, iso
from callplane.reputation.health import Policy, Tally
from callplane.reputation.service import Health, OutcomeReport

Outcome = Literal["answered", "no_answer", "busy", "failed", "voicemail", "rejected"]
HealthState = Literal["healthy", "watch", "benched", "paused", "warming"]
Rate = Annotated[float, Field(ge=0, le=1)]


class OutcomeIn(Input):
    outcome: Outcome
    duration_seconds: Annotated[int, Field(ge=0, le=86_400)] | None = None


class TallyOut(BaseModel):
    attempts: int
    answered: int
    answer_rate: float | None
    short_calls: int
    short_call_rate: float | None

    @classmethod
    def of(cls, t: Tally) -> TallyOut:
        return cls(
            attempts=t.attempts,
            answered=t.answered,
            answer_rate=_rounded(t.answer_rate),
            short_calls=t.short_calls,
            short_call_rate=_rounded(t.short_call_rate),
        )


class CapsOut(BaseModel):
    max_calls_per_hour: int | None
    max_calls_per_day: int | None
    warming_cap: int | None  # today's ramped day cap while warming
    calls_last_hour: int
    calls_last_day: int


class HealthOut(BaseModel):
    number_id: str
    e164: str
    state: HealthState
    reason: str | None
    changed_at: str | None
    benched_until: str | None
    warming_since: str | None
    last_outcomes: TallyOut  # the judged window: latest outcomes since the last fresh start
    last_24h: TallyOut
    last_7d: TallyOut
    min_sample: int
    caps: CapsOut

    @classmethod
    def of(cls, h: Health) -> HealthOut:
        n, f = h.number, h.figures
        return cls(
            number_id=ids.render("number", n.id),
            e164=n.e164,
            state=n.health_state,
            reason=n.health_reason,
            changed_at=iso(n.health_changed_at),
            benched_until=iso(n.benched_until),
            warming_since=iso(n.warming_since) if h.warming_cap is not None else None,
            last_outcomes=TallyOut.of(f.recent),
            last_24h=TallyOut.of(f.day),
            last_7d=TallyOut.of(f.week),
            min_sample=h.policy.min_sample,
            caps=CapsOut(
                max_calls_per_hour=n.max_calls_per_hour,
                max_calls_per_day=n.max_calls_per_day,
                warming_cap=h.warming_cap,
                calls_last_hour=h.calls_last_hour,
                calls_last_day=h.calls_last_day,
            ),
        )


class OutcomeOut(BaseModel):
    selection_id: str
    outcome: Outcome
    duration_seconds: int | None
    reported_at: str
    replayed: bool
    health: HealthOut

    @classmethod
    def of(cls, r: OutcomeReport) -> OutcomeOut:
        s = r.selection
        return cls(
            selection_id=ids.render("selection", s.id),
            outcome=s.outcome,
            duration_seconds=s.duration_seconds,
            reported_at=iso(s.outcome_at) or "",
            replayed=r.replayed,
            health=HealthOut.of(r.health),
        )


class CallerIdOut(HealthOut):
    friendly_name: str | None
    country_code: str | None
    status: str


class PolicyOut(BaseModel):
    min_sample: int
    window_outcomes: int
    watch_below: float
    bench_below: float
    recover_margin: float
    short_call_seconds: int
    cooldown_hours: float
    warming_daily_caps: list[int]
    sticky_window_hours: float

    @classmethod
    def of(cls, p: Policy) -> PolicyOut:
        return cls(
            min_sample=p.min_sample,
            window_outcomes=p.window_outcomes,
            watch_below=p.watch_below,
            bench_below=p.bench_below,
            recover_margin=p.recover_margin,
            short_call_seconds=p.short_call_seconds,
            cooldown_hours=p.cooldown_hours,
            warming_daily_caps=list(p.warming_daily_caps),
            sticky_window_hours=p.sticky_window_hours,
        )


class PolicyUpdate(Input):
    """A partial update; every field is required to stay set (no nulls)."""

    min_sample: Annotated[int, Field(ge=1, le=500)] | None = None
    window_outcomes: Annotated[int, Field(ge=1, le=500)] | None = None
    watch_below: Rate | None = None
    bench_below: Rate | None = None
    recover_margin: Annotated[float, Field(ge=0, le=0.5)] | None = None
    short_call_seconds: Annotated[int, Field(ge=0, le=600)] | None = None
    cooldown_hours: Annotated[float, Field(gt=0, le=24 * 30)] | None = None
    # Day 1, 2, … caps of a new number; [] turns warming off.
    warming_daily_caps: (
        Annotated[list[Annotated[int, Field(ge=1, le=100_000)]], Field(max_length=30)] | None
    ) = None
    # At most two days: calls without an outcome are kept that long (routing/selection.py).
    sticky_window_hours: Annotated[float, Field(ge=0, le=48)] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> PolicyUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
