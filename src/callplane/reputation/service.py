"""Caller-ID health: outcomes come in, the rules (``health.py``) judge, the number's row obeys.

Each change runs in the request's transaction with the number's row locked (``FOR UPDATE``), the
same lock a selection takes, so a selection sees a number either before or after a change, never
half of it. Every change of state is an audit event (``number.health_changed``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Uuid, bindparam, case, func, select, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from callplane.agents.service import get_agent
from callplane.assignments.models import Assignment
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, utcnow
from callplane.core.errors import Conflict, InvalidInput, not_found
from callplane.events import service as events
from callplane.numbers.models import PhoneNumber
from callplane.numbers.references import get_number
from callplane.reputation import health
from callplane.reputation.health import Policy, Standing, Tally, Verdict
from callplane.reputation.models import CallerIdPolicy
from callplane.routing.models import CallerIdSelection
from callplane.workspaces.models import Workspace

POLICY_FIELDS = tuple(f.name for f in dataclasses.fields(Policy))
HEALTH_EVENT = "number.health_changed"


@dataclass(frozen=True, slots=True)
class Figures:
    """What a number's health is judged on and shown with."""

    recent: Tally  # the judged window: the latest outcomes since the last fresh start
    day: Tally
    week: Tally


@dataclass(frozen=True, slots=True)
class Health:
    number: PhoneNumber
    figures: Figures
    warming_cap: int | None  # today's ramped daily cap while warming
    policy: Policy
    calls_last_hour: int
    calls_last_day: int


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    selection: CallerIdSelection
    replayed: bool
    health: Health


# The columns alone, by a statement built once: every number's create reads the policy, and
# loading the row as an ORM object cost more than the read.
_POLICY = select(*(getattr(CallerIdPolicy, name) for name in POLICY_FIELDS)).where(
    CallerIdPolicy.workspace_id == bindparam("workspace_id", type_=Uuid())
)


def policy_of(session: Session, workspace_id: uuid.UUID) -> Policy:
    row = session.execute(_POLICY, {"workspace_id": workspace_id}).one_or_none()
    return policy_from(None if row is None else row._asdict())


def policy_from(values: dict[str, Any] | None) -> Policy:
    """The policy of a workspace's row (its POLICY_FIELDS), or the defaults without one."""
    if values is None:
        return Policy()
    return Policy(**{**values, "warming_daily_caps": tuple(values["warming_daily_caps"])})


def update_policy(session: Session, actor: Actor, changes: dict[str, Any]) -> Policy:
    """Change some thresholds; the result must still make sense as a whole.

    The workspace's row is locked first: concurrent changes apply one after the other (none is
    lost), and the first one creates the policy's row.
    """
    session.get(Workspace, actor.workspace_id, with_for_update=True)
    before = policy_of(session, actor.workspace_id)
    if "warming_daily_caps" in changes:
        changes = {**changes, "warming_daily_caps": tuple(changes["warming_daily_caps"])}
    after = dataclasses.replace(before, **changes)
    if after.bench_below > after.watch_below:
        raise InvalidInput(
            "invalid_caller_id_policy",
            "bench_below must not exceed watch_below: a number is watched before it is benched",
            {
                "field": "bench_below",
                "bench_below": after.bench_below,
                "watch_below": after.watch_below,
            },
        )
    if after.min_sample > after.window_outcomes:
        raise InvalidInput(
            "invalid_caller_id_policy",
            "min_sample must not exceed window_outcomes: the window could never hold the sample",
            {"field": "min_sample", "min_sample": after.min_sample},
        )
    row = session.get(CallerIdPolicy, actor.workspace_id)
    if row is None:
        row = CallerIdPolicy(workspace_id=actor.workspace_id)
        session.add(row)
    for name in POLICY_FIELDS:
        value = getattr(after, name)
        setattr(row, name, list(value) if name == "warming_daily_caps" else value)
    if after != before:
        events.record(
            session,
            actor,
            "workspace.caller_id_policy_updated",
            [ids.render("workspace", actor.workspace_id)],
            before=_policy_body(before),
            after=_policy_body(after),
        )
    session.flush()
    if after.warming_daily_caps != before.warming_daily_caps:
        _rejudge_warming(session, actor, after)
    return after


def _rejudge_warming(session: Session, actor: Actor, policy: Policy) -> None:
    """A new ramp applies to the numbers warming now: those it leaves warm are healthy now."""
    now = utcnow()
    warming = session.scalars(
        select(PhoneNumber)
        .where(
            PhoneNumber.workspace_id == actor.workspace_id, PhoneNumber.health_state == "warming"
        )
        .with_for_update()
    ).all()
    for number in warming:
        figures = _figures(session, number, policy, now)
        _apply(
            session,
            actor,
            number,
            health.judge(_standing(number), figures.recent, policy, now),
            now,
        )


def report_outcome(
    session: Session, actor: Actor, ref: str, outcome: str, duration_seconds: int | None
) -> OutcomeReport:
    """Record how a selected call went, once, and judge its number again.

    The same outcome again is a replay (nothing changes); a different one is refused. The
    selection row is locked first, then the number's row: the order every writer here keeps.
    """
    selection_id = ids.parse("selection", ref)
    found = None
    if selection_id is not None:
        found = session.scalar(
            select(CallerIdSelection)
            .where(
                CallerIdSelection.id == selection_id,
                CallerIdSelection.workspace_id == actor.workspace_id,
            )
            .with_for_update()
        )
    if found is None:
        raise not_found("selection", ref)
    if found.outcome is not None:
        if (found.outcome, found.duration_seconds) != (outcome, duration_seconds):
            raise Conflict(
                "outcome_already_reported",
                f"selection '{ref}' has its outcome already: {found.outcome}",
                {
                    "selection_id": ids.render("selection", found.id),
                    "outcome": found.outcome,
                    "duration_seconds": found.duration_seconds,
                },
            )
        number = session.get(PhoneNumber, found.number_id)
        assert number is not None  # the selection's foreign key cascades
        return OutcomeReport(found, True, _health(session, number, utcnow()))
    now = utcnow()
    number = _locked_number(session, found.number_id)
    found.outcome, found.duration_seconds, found.outcome_at = outcome, duration_seconds, now
    session.flush()
    policy = policy_of(session, actor.workspace_id)
    figures = _figures(session, number, policy, now)
    verdict = health.judge(_standing(number), figures.recent, policy, now)
    _apply(session, actor, number, verdict, now)
    return OutcomeReport(found, False, _health(session, number, now, policy, figures))


def number_health(session: Session, actor: Actor, ref: str) -> Health:
    return _health(session, get_number(session, actor, ref), utcnow())


def pause(session: Session, actor: Actor, ref: str) -> Health:
    """Stop selecting the number until a person resumes it."""
    number = get_number(session, actor, ref, lock=True)
    verdict = health.pause(_standing(number))
    now = utcnow()
    if verdict is not None:
        _apply(session, actor, number, verdict, now)
    return _health(session, number, now)


def resume(session: Session, actor: Actor, ref: str) -> Health:
    """Lift a pause, or end a bench early (on probation); anything else is a 409."""
    number = get_number(session, actor, ref, lock=True)
    now = utcnow()
    policy = policy_of(session, actor.workspace_id)
    verdict = health.resume(_standing(number), policy, now)
    if verdict is None:
        raise Conflict(
            "number_not_paused",
            f"number '{ref}' is {number.health_state}: only a paused or benched number resumes",
            {"number_id": ids.render("number", number.id), "state": number.health_state},
        )
    _apply(session, actor, number, verdict, now)
    return _health(session, number, now, policy)


def agent_caller_ids(session: Session, actor: Actor, ref: str) -> list[Health]:
    """The agent's outbound numbers, each with its health, oldest assignment first."""
    agent = get_agent(session, actor, ref)
    numbers = session.scalars(
        select(PhoneNumber)
        .join(Assignment, Assignment.number_id == PhoneNumber.id)
        .where(Assignment.agent_id == agent.id, Assignment.direction == "outbound")
        .order_by(Assignment.created_at, PhoneNumber.id)
    ).all()
    now = utcnow()
    policy = policy_of(session, actor.workspace_id)
    return [_health(session, number, now, policy) for number in numbers]


def apply_due_changes(database: Database) -> int:
    """Write down the time-driven changes that are due (a cool-down over, warming done), with
    their events. The selector already treats such numbers so; this keeps states and the audit
    log true for readers. One short transaction per workspace; the count of changes."""
    with database.transaction() as session:
        workspaces = list(session.scalars(_due(PhoneNumber.workspace_id, utcnow())))
    changed = 0
    for workspace_id in workspaces:
        with database.transaction() as session:
            now = utcnow()
            policy = policy_of(session, workspace_id)
            actor = Actor(workspace_id, None, None)
            numbers = session.scalars(
                select(PhoneNumber)
                .where(
                    PhoneNumber.workspace_id == workspace_id,
                    PhoneNumber.id.in_(_due(PhoneNumber.id, now)),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for number in numbers:
                figures = _figures(session, number, policy, now)
                verdict = health.judge(_standing(number), figures.recent, policy, now)
                changed += _apply(session, actor, number, verdict, now)
    return changed


def _due(column: InstrumentedAttribute[uuid.UUID], now: dt.datetime) -> CompoundSelect[Any]:
    """``column`` of the numbers a time-driven change may be due for (the rules decide,
    ``health.judge``), distinct.

    A union of one range of each partial index (migration 0185): written as one ``OR``, SQLite
    scanned the whole table instead, every minute.
    """
    return union(
        select(column).where(
            PhoneNumber.health_state == "benched", PhoneNumber.benched_until <= now
        ),
        select(column).where(
            PhoneNumber.health_state == "warming",
            PhoneNumber.warming_since <= now - dt.timedelta(days=1),
        ),
    )


def _locked_number(session: Session, number_id: uuid.UUID) -> PhoneNumber:
    number = session.scalar(
        select(PhoneNumber).where(PhoneNumber.id == number_id).with_for_update()
    )
    assert number is not None  # the selection's foreign key cascades
    return number


def _standing(number: PhoneNumber) -> Standing:
    return Standing(
        state=number.health_state,
        reason=number.health_reason,
        changed_at=number.health_changed_at,
        benched_until=number.benched_until,
        warming_since=number.warming_since,
        max_calls_per_day=number.max_calls_per_day,
    )


def _apply(
    session: Session, actor: Actor, number: PhoneNumber, verdict: Verdict, now: dt.datetime
) -> bool:
    """Write the verdict on the row; an event when the state changed. True: it changed."""
    number.health_answer_rate = verdict.answer_rate
    if verdict.fresh_start:
        number.judged_from = now
    changed = verdict.state != number.health_state
    if not changed:
        return False
    before = {"state": number.health_state, "reason": number.health_reason}
    number.health_state = verdict.state
    number.health_reason = verdict.reason
    number.health_changed_at = now
    number.benched_until = verdict.benched_until
    if verdict.state == "healthy":
        number.warming_since = None  # warm for good, whatever the policy says later
    events.record(
        session,
        actor,
        HEALTH_EVENT,
        [ids.render("number", number.id)],
        before=before,
        after={
            "state": verdict.state,
            "reason": verdict.reason,
            "answer_rate": verdict.answer_rate,
            "benched_until": verdict.benched_until.isoformat() if verdict.benched_until else None,
        },
    )
    session.flush()
    return True


def _figures(session: Session, number: PhoneNumber, policy: Policy, now: dt.datetime) -> Figures:
    judged = select(CallerIdSelection.outcome, CallerIdSelection.duration_seconds).where(
        CallerIdSelection.number_id == number.id, CallerIdSelection.outcome.is_not(None)
    )
    if number.judged_from is not None:
        judged = judged.where(CallerIdSelection.outcome_at >= number.judged_from)
    recent = session.execute(
        judged.order_by(CallerIdSelection.outcome_at.desc()).limit(policy.window_outcomes)
    ).all()
    return Figures(
        recent=health.tally([(o or "", d) for o, d in recent], policy),
        day=_span(session, number.id, policy, now - dt.timedelta(days=1)),
        week=_span(session, number.id, policy, now - dt.timedelta(days=7)),
    )


def _span(session: Session, number_id: uuid.UUID, policy: Policy, since: dt.datetime) -> Tally:
    outcome, duration = CallerIdSelection.outcome, CallerIdSelection.duration_seconds
    answered = outcome == "answered"
    short = answered & (duration < policy.short_call_seconds)
    attempts, answers, shorts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
            func.coalesce(func.sum(case((short, 1), else_=0)), 0),
        ).where(
            CallerIdSelection.number_id == number_id,
            CallerIdSelection.outcome_at >= since,
            outcome != "failed",
        )
    ).one()
    return Tally(int(attempts), int(answers), int(shorts))


def _health(
    session: Session,
    number: PhoneNumber,
    now: dt.datetime,
    policy: Policy | None = None,
    figures: Figures | None = None,
) -> Health:
    policy = policy or policy_of(session, number.workspace_id)
    warming = health.warming_cap(
        policy.warming_daily_caps, number.warming_since, now, number.max_calls_per_day
    )
    hour_ago, day_ago = now - dt.timedelta(hours=1), now - dt.timedelta(days=1)
    selected = CallerIdSelection.selected_at
    hour, day = session.execute(
        select(
            func.coalesce(func.sum(case((selected > hour_ago, 1), else_=0)), 0), func.count()
        ).where(CallerIdSelection.number_id == number.id, selected > day_ago)
    ).one()
    return Health(
        number=number,
        figures=figures or _figures(session, number, policy, now),
        warming_cap=warming[0] if warming else None,
        policy=policy,
        calls_last_hour=int(hour),
        calls_last_day=int(day),
    )


def _policy_body(policy: Policy) -> dict[str, Any]:
    body = dataclasses.asdict(policy)
    body["warming_daily_caps"] = list(policy.warming_daily_caps)
    return body
