"""The caller-ID health rules on their own: no database, no HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from callplane.reputation import health
from callplane.reputation.health import Policy, Standing, Tally

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
POLICY = Policy(min_sample=10, watch_below=0.25, bench_below=0.12, recover_margin=0.05)


def _standing(state: str = "healthy", **fields: object) -> Standing:
    values: dict[str, object] = {
        "state": state,
        "reason": None,
        "changed_at": None,
        "benched_until": None,
        "warming_since": None,
        "max_calls_per_day": None,
        **fields,
    }
    return Standing(**values)  # type: ignore[arg-type]


def _rate(answered: int, attempts: int) -> Tally:
    return Tally(attempts=attempts, answered=answered)


def test_failed_calls_do_not_count_and_short_calls_are_not_answers() -> None:
    policy = Policy(short_call_seconds=6)
    outcomes = [("answered", 30), ("answered", 3), ("failed", None), ("no_answer", None)]
    tally = health.tally(outcomes, policy)
    assert (tally.attempts, tally.answered, tally.short_calls) == (3, 2, 1)
    assert tally.answer_rate == pytest.approx(1 / 3)
    assert tally.short_call_rate == 0.5
    assert Tally().answer_rate is None


def test_no_judgement_before_the_minimum_sample() -> None:
    verdict = health.judge(_standing(), _rate(0, 9), POLICY, NOW)
    assert (verdict.state, verdict.reason) == ("healthy", None)


def test_thresholds_watch_then_bench() -> None:
    watch = health.judge(_standing(), _rate(2, 10), POLICY, NOW)
    assert (watch.state, watch.reason) == ("watch", "answer_rate_below_watch_threshold")
    benched = health.judge(_standing("watch"), _rate(1, 10), POLICY, NOW)
    assert (benched.state, benched.reason) == ("benched", "answer_rate_below_bench_threshold")
    assert benched.benched_until == NOW + dt.timedelta(hours=POLICY.cooldown_hours)
    straight = health.judge(_standing(), _rate(0, 10), POLICY, NOW)
    assert straight.state == "benched"


def test_hysteresis_keeps_a_watched_number_watched_until_clearly_recovered() -> None:
    watched = _standing("watch", reason="answer_rate_below_watch_threshold")
    assert health.judge(watched, _rate(27, 100), POLICY, NOW).state == "watch"  # 0.27 < 0.30
    recovered = health.judge(watched, _rate(30, 100), POLICY, NOW)
    assert (recovered.state, recovered.reason) == ("healthy", "answer_rate_recovered")
    assert health.judge(_standing(), _rate(27, 100), POLICY, NOW).state == "healthy"


def test_a_benched_number_rests_then_returns_on_probation_afresh() -> None:
    until = NOW + dt.timedelta(hours=1)
    benched = _standing("benched", reason="answer_rate_below_bench_threshold", benched_until=until)
    resting = health.judge(benched, _rate(10, 10), POLICY, NOW)
    assert (resting.state, resting.benched_until) == ("benched", until)
    back = health.judge(benched, _rate(0, 10), POLICY, until)
    assert (back.state, back.reason, back.fresh_start) == (
        "watch",
        "probation_after_cooldown",
        True,
    )


def test_paused_stays_paused_whatever_the_figures() -> None:
    assert health.judge(_standing("paused"), _rate(10, 10), POLICY, NOW).state == "paused"
    assert health.judge(_standing("paused"), _rate(0, 10), POLICY, NOW).state == "paused"


def test_pause_and_resume() -> None:
    assert health.pause(_standing("paused")) is None
    paused = health.pause(_standing("watch"))
    assert paused is not None and paused.state == "paused"
    assert health.resume(_standing("healthy"), POLICY, NOW) is None
    resumed = health.resume(_standing("paused"), POLICY, NOW)
    assert resumed is not None and (resumed.state, resumed.fresh_start) == ("healthy", True)
    early = health.resume(
        _standing("benched", benched_until=NOW + dt.timedelta(days=1)), POLICY, NOW
    )
    assert early is not None and (early.state, early.reason) == ("watch", "probation_by_operator")
    warming = _standing("paused", warming_since=NOW)
    still = health.resume(warming, POLICY, NOW)
    assert still is not None and still.state == "warming"


def test_warming_ramps_by_day_up_to_the_numbers_own_cap() -> None:
    schedule = (20, 40, 80)
    assert health.warming_cap(schedule, None, NOW, None) is None
    assert health.warming_cap(schedule, NOW, NOW, None) == (20, NOW + dt.timedelta(days=1))
    day_two = NOW + dt.timedelta(days=1, hours=3)
    assert health.warming_cap(schedule, NOW, day_two, None) == (40, NOW + dt.timedelta(days=2))
    assert health.warming_cap(schedule, NOW, NOW + dt.timedelta(days=3), None) is None
    assert health.warming_cap(schedule, NOW, day_two, 40) is None  # its own cap is reached
    assert health.warming_cap((), NOW, NOW, None) is None


def test_a_warming_number_stays_warming_but_can_be_benched() -> None:
    warming = _standing("warming", reason="new_number", warming_since=NOW)
    policy = Policy(min_sample=10, watch_below=0.25, bench_below=0.12, warming_daily_caps=(20, 40))
    assert health.judge(warming, _rate(5, 10), policy, NOW).state == "warming"
    assert health.judge(warming, _rate(0, 10), policy, NOW).state == "benched"
    done = health.judge(warming, _rate(5, 10), policy, NOW + dt.timedelta(days=2))
    assert (done.state, done.reason) == ("healthy", "warming_complete")
    done_badly = health.judge(warming, _rate(2, 10), policy, NOW + dt.timedelta(days=2))
    assert done_badly.state == "watch"
