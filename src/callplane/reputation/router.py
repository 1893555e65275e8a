"""Caller-ID health endpoints: outcomes in, each number's state and figures out, the policy."""

from __future__ import annotations

from fastapi import APIRouter

from callplane.core.envelope import Envelope
from callplane.core.http import CurrentActor, DbSession, RoutingActor, ok
from callplane.reputation import service
from callplane.reputation.schemas import (
    CallerIdOut,
    HealthOut,
    OutcomeIn,
    OutcomeOut,
    PolicyOut,
    PolicyUpdate,
)

router = APIRouter(tags=["caller-id health"])


@router.post("/v1/routing/outbound/{selection_id}/outcome")
def report_outcome(
    selection_id: str, body: OutcomeIn, actor: RoutingActor, session: DbSession
) -> Envelope[OutcomeOut]:
    """How the selected call went, once per selection: the same outcome again is a replay
    (`replayed: true`), a different one `409 outcome_already_reported`. Any key that may select
    may report, like the selection itself."""
    report = service.report_outcome(
        session, actor, selection_id, body.outcome, body.duration_seconds
    )
    return ok(OutcomeOut.of(report), actor)


@router.get("/v1/numbers/{number}/health")
def number_health(number: str, actor: CurrentActor, session: DbSession) -> Envelope[HealthOut]:
    """The number's caller-ID state, the figures behind it, and its caps."""
    return ok(HealthOut.of(service.number_health(session, actor, number)), actor)


@router.post("/v1/numbers/{number}/health/pause")
def pause_number(number: str, actor: CurrentActor, session: DbSession) -> Envelope[HealthOut]:
    """Stop using the number as caller ID until it is resumed (a paused one stays paused)."""
    return ok(HealthOut.of(service.pause(session, actor, number)), actor)


@router.post("/v1/numbers/{number}/health/resume")
def resume_number(number: str, actor: CurrentActor, session: DbSession) -> Envelope[HealthOut]:
    """Lift a pause, or end a bench early on probation; `409 number_not_paused` otherwise."""
    return ok(HealthOut.of(service.resume(session, actor, number)), actor)


@router.get("/v1/agents/{agent_id}/caller-ids")
def agent_caller_ids(
    agent_id: str, actor: CurrentActor, session: DbSession
) -> Envelope[list[CallerIdOut]]:
    """The agent's outbound numbers with each one's state, figures and caps."""
    pool = service.agent_caller_ids(session, actor, agent_id)
    return ok(
        [
            CallerIdOut(
                **HealthOut.of(h).model_dump(),
                friendly_name=h.number.friendly_name,
                country_code=h.number.country_code,
                status=h.number.status,
            )
            for h in pool
        ],
        actor,
    )


@router.get("/v1/workspace/caller-id-policy")
def caller_id_policy(actor: CurrentActor, session: DbSession) -> Envelope[PolicyOut]:
    """The workspace's caller-ID health thresholds, warming ramp and sticky window."""
    return ok(PolicyOut.of(service.policy_of(session, actor.workspace_id)), actor)


@router.patch("/v1/workspace/caller-id-policy")
def update_caller_id_policy(
    body: PolicyUpdate, actor: CurrentActor, session: DbSession
) -> Envelope[PolicyOut]:
    """Change some of the policy; the others keep their values."""
    return ok(PolicyOut.of(service.update_policy(session, actor, body.changes())), actor)
