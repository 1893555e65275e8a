"""Caller-ID reputation over the API: outcomes, health states, benching, warming, stickiness."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from callplane.app import create_app
from callplane.numbers.models import PhoneNumber
from callplane.reputation.service import apply_due_changes
from callplane.routing.models import CallerIdSelection
from callplane.settings import Settings
from tests.helpers import Tenant, error_code, settings_for
from tests.live_server import live_server
from tests.test_routing_outbound import _caller, _select

TO = "+14155550100"
TOKEN = "twilio-auth-token-for-tests-0002"
# Small figures so that a handful of calls is a sample; no warming unless a test wants it.
QUICK = {
    "min_sample": 4,
    "window_outcomes": 10,
    "watch_below": 0.25,
    "bench_below": 0.12,
    "warming_daily_caps": [],
}


def _policy(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    response = tenant.patch("/v1/workspace/caller-id-policy", {**QUICK, **changes})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _outcome(
    tenant: Tenant, selection: dict[str, Any], outcome: str, seconds: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"outcome": outcome}
    if seconds is not None:
        body["duration_seconds"] = seconds
    response = tenant.post(f"/v1/routing/outbound/{selection['selection_id']}/outcome", body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _health(tenant: Tenant, e164: str) -> dict[str, Any]:
    response = tenant.get(f"/v1/numbers/{e164}/health")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def _call(tenant: Tenant, agent: dict[str, Any], to: str, bad: set[str]) -> dict[str, Any]:
    """Select, and report: numbers in ``bad`` are never answered, the others always."""
    chosen = _select(tenant, agent, to)
    answered = chosen["number"]["e164"] not in bad
    _outcome(tenant, chosen, "answered" if answered else "no_answer", 40 if answered else None)
    return chosen


def _let_time_pass(tenant: Tenant, elapsed: dt.timedelta) -> None:
    """Move every stamp the rules read ``elapsed`` into the past."""
    with tenant.backend.database.transaction() as session:
        for selection in session.scalars(select(CallerIdSelection)):
            selection.selected_at -= elapsed
            if selection.outcome_at is not None:
                selection.outcome_at -= elapsed
        for number in session.scalars(select(PhoneNumber)):
            for field in (
                "last_selected_at",
                "hour_edge",
                "day_edge",
                "capped_until",
                "health_changed_at",
                "benched_until",
                "judged_from",
                "warming_since",
            ):
                value = getattr(number, field)
                if value is not None:
                    setattr(number, field, value - elapsed)


def _stored_outcome(tenant: Tenant, selection_id: str) -> tuple[Any, ...]:
    with tenant.backend.database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT outcome, duration_seconds FROM caller_id_selections")
        ).all()
    assert len(row) == 1, selection_id
    return tuple(row[0])


def test_an_outcome_is_recorded_once(tenant: Tenant, other_tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"])
    chosen = _select(tenant, agent, TO)
    url = f"/v1/routing/outbound/{chosen['selection_id']}/outcome"
    first = _outcome(tenant, chosen, "answered", 42)
    assert (first["outcome"], first["duration_seconds"], first["replayed"]) == (
        "answered",
        42,
        False,
    )
    assert first["health"]["last_outcomes"]["attempts"] == 1
    again = _outcome(tenant, chosen, "answered", 42)
    assert again["replayed"] is True and again["reported_at"] == first["reported_at"]
    other = tenant.post(url, {"outcome": "busy"})
    assert (other.status_code, error_code(other)) == (409, "outcome_already_reported")
    assert other.json()["error"]["details"]["outcome"] == "answered"
    longer = tenant.post(url, {"outcome": "answered", "duration_seconds": 43})
    assert error_code(longer) == "outcome_already_reported"
    foreign = other_tenant.post(url, {"outcome": "answered", "duration_seconds": 42})
    assert (foreign.status_code, error_code(foreign)) == (404, "selection_not_found")
    unknown = tenant.post("/v1/routing/outbound/sel_nope/outcome", {"outcome": "answered"})
    assert (unknown.status_code, error_code(unknown)) == (404, "selection_not_found")
    for body in ({"outcome": "maybe"}, {}, {"outcome": "answered", "duration_seconds": -1}):
        bad = tenant.post(url, body)
        assert (bad.status_code, error_code(bad)) == (422, "invalid_request"), body
    assert _stored_outcome(tenant, chosen["selection_id"]) == ("answered", 42)


def test_a_bad_answer_rate_benches_the_number_and_the_selector_skips_it(tenant: Tenant) -> None:
    _policy(tenant)
    numbers = ["+12025550101", "+12025550102"]
    agent = _caller(tenant, "rotate", numbers)
    for _ in range(8):
        _call(tenant, agent, TO, bad={"+12025550101"})
    benched = _health(tenant, "+12025550101")
    assert benched["state"] == "benched"
    assert benched["reason"] == "answer_rate_below_bench_threshold"
    assert benched["last_outcomes"] == {
        "attempts": 4,
        "answered": 0,
        "answer_rate": 0.0,
        "short_calls": 0,
        "short_call_rate": None,
    }
    assert benched["last_24h"]["attempts"] == benched["last_7d"]["attempts"] == 4
    assert _health(tenant, "+12025550102")["state"] == "healthy"
    picked = {_select(tenant, agent, TO)["number"]["e164"] for _ in range(4)}
    assert picked == {"+12025550102"}
    changes = tenant.events("number.health_changed")
    assert [(e["before"]["state"], e["after"]["state"]) for e in changes] == [
        ("healthy", "benched")
    ]


def test_short_calls_count_against_a_number(tenant: Tenant) -> None:
    _policy(tenant, short_call_seconds=5)
    agent = _caller(tenant, "rotate", ["+12025550101"])
    for _ in range(4):
        _outcome(tenant, _select(tenant, agent, TO), "answered", 2)
    figures = _health(tenant, "+12025550101")
    assert figures["last_outcomes"]["short_call_rate"] == 1.0
    assert figures["state"] == "benched"


def test_when_every_number_is_benched_the_agent_decides(tenant: Tenant) -> None:
    _policy(tenant)
    numbers = ["+12025550101", "+12025550102"]
    agent = _caller(tenant, "rotate", numbers)
    for i in range(13):  # the second number answers one call in nine: bad, but less so
        chosen = _select(tenant, agent, TO)
        lucky = chosen["number"]["e164"] == "+12025550102" and i == 1
        _outcome(tenant, chosen, "answered" if lucky else "no_answer", 30 if lucky else None)
    assert {_health(tenant, e)["state"] for e in numbers} == {"benched"}
    refused = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": TO})
    assert (refused.status_code, error_code(refused)) == (409, "no_caller_id_available")
    assert refused.json()["error"]["details"]["reason"] == "all_numbers_benched"
    updated = tenant.patch(f"/v1/agents/{agent['id']}", {"when_all_benched": "least_bad"})
    assert updated.json()["data"]["when_all_benched"] == "least_bad"
    chosen = _select(tenant, agent, TO)
    assert (chosen["number"]["e164"], chosen["reason"]) == ("+12025550102", "least_bad_benched")
    assert chosen["health_state"] == "benched"
    bad = tenant.patch(f"/v1/agents/{agent['id']}", {"when_all_benched": "pray"})
    assert bad.status_code == 422


def test_a_benched_number_returns_on_probation_after_its_cool_down(tenant: Tenant) -> None:
    _policy(tenant, cooldown_hours=2)
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    for _ in range(8):
        _call(tenant, agent, TO, bad={"+12025550101"})
    assert _health(tenant, "+12025550101")["state"] == "benched"
    _let_time_pass(tenant, dt.timedelta(hours=1))
    assert {_select(tenant, agent, TO)["number"]["e164"] for _ in range(3)} == {"+12025550102"}
    _let_time_pass(tenant, dt.timedelta(hours=1, minutes=1))
    picked = {_select(tenant, agent, TO)["number"]["e164"] for _ in range(3)}
    assert "+12025550101" in picked  # selectable the moment the cool-down ends
    assert apply_due_changes(tenant.backend.database) == 1  # the server does this every minute
    back = _health(tenant, "+12025550101")
    assert (back["state"], back["reason"]) == ("watch", "probation_after_cooldown")
    assert back["last_outcomes"]["attempts"] == 0  # judged afresh
    assert back["last_7d"]["attempts"] == 4


def test_pause_and_resume_by_hand(tenant: Tenant, other_tenant: Tenant) -> None:
    _policy(tenant)
    agent = _caller(tenant, "rotate", ["+12025550101"])
    number_id = tenant.get("/v1/numbers/+12025550101").json()["data"]["id"]
    paused = tenant.post(f"/v1/numbers/{number_id}/health/pause")
    assert paused.status_code == 200, paused.text
    assert (paused.json()["data"]["state"], paused.json()["data"]["reason"]) == (
        "paused",
        "paused_by_operator",
    )
    assert tenant.post(f"/v1/numbers/{number_id}/health/pause").status_code == 200
    refused = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": TO})
    assert refused.json()["error"]["details"]["reason"] == "all_numbers_paused"
    foreign = other_tenant.post(f"/v1/numbers/{number_id}/health/resume")
    assert (foreign.status_code, error_code(foreign)) == (404, "number_not_found")
    assert other_tenant.get(f"/v1/numbers/{number_id}/health").status_code == 404
    resumed = tenant.post(f"/v1/numbers/{number_id}/health/resume")
    assert resumed.json()["data"]["state"] == "healthy"
    again = tenant.post(f"/v1/numbers/{number_id}/health/resume")
    assert (again.status_code, error_code(again)) == (409, "number_not_paused")
    assert _select(tenant, agent, TO)["number"]["e164"] == "+12025550101"
    states = [
        (e["before"]["state"], e["after"]["state"])
        for e in tenant.events()
        if e["type"] == "number.health_changed"
    ]
    assert states == [("paused", "healthy"), ("healthy", "paused")]  # newest first


def test_a_new_number_warms_up_its_daily_cap(tenant: Tenant) -> None:
    _policy(tenant, warming_daily_caps=[2, 3])
    agent = _caller(tenant, "rotate", ["+12025550101"])
    warming = _health(tenant, "+12025550101")
    assert (warming["state"], warming["reason"], warming["caps"]["warming_cap"]) == (
        "warming",
        "new_number",
        2,
    )
    assert [_select(tenant, agent, TO)["calls_last_day"] for _ in range(2)] == [1, 2]
    capped = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": TO})
    assert capped.json()["error"]["details"]["reason"] == "all_numbers_at_cap"
    assert 86_000 <= capped.json()["error"]["details"]["retry_after"] <= 86_400
    _let_time_pass(tenant, dt.timedelta(days=1, minutes=1))
    assert _health(tenant, "+12025550101")["caps"]["warming_cap"] == 3
    assert [_select(tenant, agent, TO)["calls_last_day"] for _ in range(3)] == [1, 2, 3]
    assert (
        tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": TO}).status_code == 409
    )
    _let_time_pass(tenant, dt.timedelta(days=1))
    assert apply_due_changes(tenant.backend.database) == 1
    done = _health(tenant, "+12025550101")
    assert (done["state"], done["reason"], done["caps"]["warming_cap"]) == (
        "healthy",
        "warming_complete",
        None,
    )
    assert [_select(tenant, agent, TO)["calls_last_day"] for _ in range(4)] == [1, 2, 3, 4]


def test_a_destination_keeps_its_number(tenant: Tenant) -> None:
    _policy(tenant, sticky_window_hours=24)
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102", "+12025550103"])
    first = _select(tenant, agent, TO)
    other = _select(tenant, agent, "+14155550177")
    assert other["number"]["e164"] != first["number"]["e164"]
    again = _select(tenant, agent, TO)
    assert (again["number"]["e164"], again["reason"]) == (first["number"]["e164"], "sticky")
    tenant.post(f"/v1/numbers/{first['number']['id']}/health/pause")
    moved = _select(tenant, agent, TO)
    assert moved["number"]["e164"] != first["number"]["e164"]
    assert moved["reason"] == "least_recently_used"
    _let_time_pass(tenant, dt.timedelta(hours=25))
    tenant.post(f"/v1/numbers/{first['number']['id']}/health/resume")
    assert _select(tenant, agent, TO)["reason"] == "least_recently_used"  # the window is over


def test_the_agents_pool_with_states_figures_and_caps(tenant: Tenant, other_tenant: Tenant) -> None:
    _policy(tenant)
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    tenant.patch("/v1/numbers/+12025550102", {"max_calls_per_hour": 7})
    for _ in range(8):
        _call(tenant, agent, TO, bad={"+12025550101"})
    response = tenant.get(f"/v1/agents/{agent['id']}/caller-ids")
    assert response.status_code == 200, response.text
    pool = {n["e164"]: n for n in response.json()["data"]}
    assert pool["+12025550101"]["state"] == "benched"
    assert pool["+12025550102"]["last_outcomes"]["answer_rate"] == 1.0
    assert pool["+12025550102"]["caps"] == {
        "max_calls_per_hour": 7,
        "max_calls_per_day": None,
        "warming_cap": None,
        "calls_last_hour": 4,
        "calls_last_day": 4,
    }
    foreign = other_tenant.get(f"/v1/agents/{agent['id']}/caller-ids")
    assert (foreign.status_code, error_code(foreign)) == (404, "agent_not_found")


def test_the_policy_is_per_workspace_checked_and_audited(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    defaults = tenant.get("/v1/workspace/caller-id-policy").json()["data"]
    assert defaults == {
        "min_sample": 30,
        "window_outcomes": 60,
        "watch_below": 0.15,
        "bench_below": 0.07,
        "recover_margin": 0.05,
        "short_call_seconds": 6,
        "cooldown_hours": 48.0,
        "warming_daily_caps": [20, 40, 80, 160],
        "sticky_window_hours": 0.0,
    }
    changed = tenant.patch("/v1/workspace/caller-id-policy", {"watch_below": 0.3})
    assert changed.json()["data"]["watch_below"] == 0.3
    assert changed.json()["data"]["min_sample"] == 30
    for body, code in (
        ({"bench_below": 0.4}, "invalid_caller_id_policy"),
        ({"min_sample": 70}, "invalid_caller_id_policy"),
        ({"min_sample": None}, "invalid_request"),
        ({"watch_below": 2}, "invalid_request"),
        ({"sticky_window_hours": 72}, "invalid_request"),
        ({"warming_daily_caps": [0]}, "invalid_request"),
        ({"surprise": 1}, "invalid_request"),
    ):
        refused = tenant.patch("/v1/workspace/caller-id-policy", body)
        assert (refused.status_code, error_code(refused)) == (422, code), body
    assert tenant.get("/v1/workspace/caller-id-policy").json()["data"]["watch_below"] == 0.3
    assert other_tenant.get("/v1/workspace/caller-id-policy").json()["data"] == defaults
    events = tenant.events("workspace.caller_id_policy_updated")
    assert len(events) == 1
    assert (events[0]["before"]["watch_below"], events[0]["after"]["watch_below"]) == (0.15, 0.3)


def _status(tenant: Tenant, callback_url: str, params: dict[str, str], token: str = TOKEN) -> int:
    parts = urlsplit(callback_url)
    signed = f"http://testserver{parts.path}?{parts.query}"
    response = tenant.client.post(
        f"{parts.path}?{parts.query}",
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(token).compute_signature(signed, params),
        },
    )
    return response.status_code


def test_twilio_reports_outcomes_through_the_status_callback(tenant: Tenant) -> None:
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    agent = _caller(tenant, "rotate", ["+12025550101"])
    chosen = _select(tenant, agent, TO)
    callback = chosen["status_callback_url"]
    assert callback.endswith(
        f"/v1/telephony/twilio/{tenant.workspace_id}/status?selection_id={chosen['selection_id']}"
    )
    call = {"CallSid": "CA" + "1" * 32, "From": "+12025550101", "To": TO}
    assert _status(tenant, callback, {**call, "CallStatus": "ringing"}) == 204
    assert _health(tenant, "+12025550101")["last_outcomes"]["attempts"] == 0
    done = {**call, "CallStatus": "completed", "CallDuration": "35", "AnsweredBy": "human"}
    assert _status(tenant, callback, done, token="not-the-token") == 403
    assert _status(tenant, callback, done) == 204
    assert _status(tenant, callback, done) == 204  # Twilio retried: the same outcome
    figures = _health(tenant, "+12025550101")["last_outcomes"]
    assert (figures["attempts"], figures["answered"]) == (1, 1)
    machine = _select(tenant, agent, TO)
    heard = {**call, "CallStatus": "completed", "CallDuration": "20", "AnsweredBy": "machine_start"}
    assert _status(tenant, machine["status_callback_url"], heard) == 204
    declined = _select(tenant, agent, TO)
    refused = {**call, "CallStatus": "busy", "SipResponseCode": "603"}
    assert _status(tenant, declined["status_callback_url"], refused) == 204
    with tenant.backend.database.engine.connect() as connection:
        outcomes = sorted(
            connection.execute(text("SELECT outcome FROM caller_id_selections")).scalars()
        )
    assert outcomes == ["answered", "rejected", "voicemail"]
    stray = callback.replace(chosen["selection_id"], "sel_nope")
    assert _status(tenant, stray, done) == 404


@pytest.mark.postgres_only
def test_no_number_is_taken_while_benched_or_over_its_warming_cap_on_two_servers(
    tenant: Tenant, tmp_path: Path
) -> None:
    """64 clients on two servers each select and report, call after call, so outcomes stream in
    while selections go on and the bad numbers are benched mid-race. Each selection records the
    state it found under the row lock: none may have found its number benched, and no number
    may pass its ramped day cap."""
    _policy(tenant, min_sample=2, window_outcomes=5, warming_daily_caps=[20])
    numbers = [f"+120255501{i:02d}" for i in range(10)]
    bad = set(numbers[:4])
    agent = _caller(tenant, "rotate", numbers)
    body = {"agent_id": agent["id"], "to": TO}
    attempts = iter(range(400))
    statuses: list[int] = []

    async def dialer(client: httpx.AsyncClient, urls: list[str]) -> None:
        for i in attempts:
            chosen = await client.post(f"{urls[i % 2]}/v1/routing/outbound", json=body)
            statuses.append(chosen.status_code)
            if chosen.status_code != 200:
                continue
            data = chosen.json()["data"]
            good = data["number"]["e164"] not in bad
            report = (
                {"outcome": "answered", "duration_seconds": 30}
                if good
                else {"outcome": "no_answer"}
            )
            url = f"{urls[(i + 1) % 2]}/v1/routing/outbound/{data['selection_id']}/outcome"
            statuses.append((await client.post(url, json=report)).status_code)

    async def race(urls: list[str]) -> None:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as client:
            await asyncio.gather(*(dialer(client, urls) for _ in range(64)))

    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as first,
        live_server(tenant.backend.url, tmp_path / "b.log") as second,
    ):
        asyncio.run(race([first, second]))
    assert set(statuses) <= {200, 409}
    with tenant.backend.database.engine.connect() as connection:
        taken = connection.execute(
            text(
                "SELECT n.e164, s.health_state, s.outcome FROM caller_id_selections s "
                "JOIN phone_numbers n ON n.id = s.number_id"
            )
        ).all()
    assert {state for _, state, _ in taken} == {"warming"}  # never benched when taken
    assert all(outcome is not None for _, _, outcome in taken)
    per_number = {e164: sum(1 for t in taken if t[0] == e164) for e164 in numbers}
    assert all(per_number[e164] == 20 for e164 in numbers if e164 not in bad), per_number
    assert all(per_number[e164] < 20 for e164 in bad), per_number
    assert {_health(tenant, e164)["state"] for e164 in bad} == {"benched"}


def test_the_simulated_clock_is_a_test_hook_only(tenant: Tenant) -> None:
    with pytest.raises(ValidationError, match="CALLPLANE_SIMULATED_CLOCK"):
        Settings(
            env="production", public_base_url="https://voice.example.com", simulated_clock=True
        )
    then = {"X-Callplane-Simulated-Time": "2020-01-01T09:00:00+00:00"}
    ignored = tenant.client.post(
        "/v1/numbers", json={"e164": "+12025550101"}, headers={**tenant.auth, **then}
    )
    assert ignored.json()["data"]["created_at"] > "2026"  # off by default: the header is ignored
    settings = settings_for(tenant.backend).model_copy(update={"simulated_clock": True})
    app = create_app(settings, tenant.backend.database)
    with TestClient(app) as client:
        moved = client.post(
            "/v1/numbers", json={"e164": "+12025550102"}, headers={**tenant.auth, **then}
        )
    assert moved.json()["data"]["created_at"].startswith("2020-01-01T09:00:00")


def test_bought_numbers_warm_up_and_imported_ones_follow_the_policy(tenant: Tenant) -> None:
    found = tenant.get("/v1/numbers/available", params={"area_code": "415"}).json()["data"]
    bought = tenant.post(
        "/v1/numbers/purchase", {"phone_numbers": [found[0]["e164"]], "provider": "sandbox"}
    )
    assert bought.status_code == 201, bought.text
    fresh = _health(tenant, found[0]["e164"])
    assert (fresh["state"], fresh["reason"], fresh["caps"]["warming_cap"]) == (
        "warming",
        "new_number",
        20,
    )
    _policy(tenant, warming_daily_caps=[20, 40])
    assert _health(tenant, found[0]["e164"])["state"] == "warming"
    _policy(tenant)  # no ramp: the warming number is warm now, and new ones start healthy
    warm = _health(tenant, found[0]["e164"])
    assert (warm["state"], warm["reason"]) == ("healthy", "warming_complete")
    tenant.number("+12025550101")
    assert _health(tenant, "+12025550101")["state"] == "healthy"
