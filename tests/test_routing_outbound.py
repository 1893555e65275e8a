"""Caller-ID selection: each strategy, caps, country rules, and caps under two racing servers."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from sqlalchemy import select, text

from callplane.core.hotdb import HotPool
from callplane.numbers.models import PhoneNumber
from callplane.routing.models import CallerIdSelection
from tests.helpers import Tenant, error_code
from tests.live_server import live_server


def _caller(tenant: Tenant, strategy: str, numbers: list[str], **fields: Any) -> dict[str, Any]:
    agent = tenant.agent("outbound", outbound_strategy=strategy, **fields)
    for e164 in numbers:
        tenant.verified_number(e164)
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": numbers})
    return agent


def _select(tenant: Tenant, agent: dict[str, Any], to: str) -> dict[str, Any]:
    response = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": to})
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_primary_strategy_uses_the_primary_then_falls_back(tenant: Tenant) -> None:
    agent = _caller(tenant, "primary", ["+12025550101", "+12025550102"])
    primary = tenant.get("/v1/numbers/+12025550102").json()["data"]
    tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": primary["id"]})
    chosen = _select(tenant, agent, "+14155550100")
    assert (chosen["number"]["e164"], chosen["reason"]) == ("+12025550102", "primary")
    tenant.patch(f"/v1/numbers/{primary['id']}", {"max_calls_per_hour": 1})
    fallback = _select(tenant, agent, "+14155550100")
    assert (fallback["number"]["e164"], fallback["reason"]) == (
        "+12025550101",
        "primary_unavailable",
    )


def test_local_presence_prefers_area_code_then_country(tenant: Tenant) -> None:
    agent = _caller(tenant, "local_presence", ["+12025550101", "+14155550101", "+33782990580"])
    assert _select(tenant, agent, "+14155550199")["number"]["e164"] == "+14155550101"
    assert _select(tenant, agent, "+14155550199")["reason"] == "same_area_code"
    same_country = _select(tenant, agent, "+13125550100")
    assert same_country["reason"] == "same_country"
    assert same_country["number"]["country_code"] == "US"
    assert _select(tenant, agent, "+33612345678")["number"]["e164"] == "+33782990580"
    anywhere = _select(tenant, agent, "+4915112345678")
    assert anywhere["reason"] == "any_country"


def test_rotate_uses_the_least_recently_used(tenant: Tenant) -> None:
    numbers = ["+12025550101", "+12025550102", "+12025550103"]
    agent = _caller(tenant, "rotate", numbers)
    picked = [_select(tenant, agent, "+14155550100")["number"]["e164"] for _ in range(6)]
    assert sorted(picked[:3]) == numbers
    assert picked[3:] == picked[:3]


def test_caps_and_retry_after(tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"])
    tenant.patch("/v1/numbers/+12025550101", {"max_calls_per_hour": 2, "max_calls_per_day": 5})
    counts = [_select(tenant, agent, "+14155550100")["calls_last_hour"] for _ in range(2)]
    assert counts == [1, 2]
    refused = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": "+14155550100"})
    assert refused.status_code == 409
    assert error_code(refused) == "no_caller_id_available"
    assert 3500 <= refused.json()["error"]["details"]["retry_after"] <= 3601


def test_destination_countries_and_refusals(tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"], allowed_outbound_countries=["US", "ca"])
    assert agent["allowed_outbound_countries"] == ["US", "CA"]
    refused = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": "+33612345678"})
    assert refused.status_code == 409
    assert error_code(refused) == "destination_country_not_allowed"
    empty = tenant.agent("outbound", name="No numbers")
    none = tenant.post("/v1/routing/outbound", {"agent_id": empty["id"], "to": "+14155550100"})
    assert error_code(none) == "no_caller_id_available"
    inbound = tenant.agent("inbound")
    wrong = tenant.post("/v1/routing/outbound", {"agent_id": inbound["id"], "to": "+14155550100"})
    assert error_code(wrong) == "agent_type_mismatch"
    bad = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": "555"})
    assert bad.status_code == 422
    tenant.patch("/v1/numbers/+12025550101", {"status": "suspended"})
    suspended = tenant.post("/v1/routing/outbound", {"agent_id": agent["id"], "to": "+14155550100"})
    assert error_code(suspended) == "no_caller_id_available"


def _race_on_two_servers(
    tenant: Tenant, tmp_path: Path, agent: dict[str, Any], *, requests: int, clients: int
) -> list[httpx2.Response]:
    """``requests`` selections at once from ``clients`` connections, alternating two servers."""
    body = {"agent_id": agent["id"], "to": "+14155550100"}

    async def fire(urls: list[str]) -> list[httpx2.Response]:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        limits = httpx2.Limits(max_connections=clients)
        async with httpx2.AsyncClient(headers=headers, timeout=120, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(f"{urls[i % 2]}/v1/routing/outbound", json=body)
                    for i in range(requests)
                )
            )

    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as first,
        live_server(tenant.backend.url, tmp_path / "b.log") as second,
    ):
        return asyncio.run(fire([first, second]))


@pytest.mark.postgres_only
def test_caps_hold_exactly_under_fifty_selections_on_two_servers(
    tenant: Tenant, tmp_path: Path
) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    tenant.patch("/v1/numbers/+12025550101", {"max_calls_per_hour": 13})
    tenant.patch("/v1/numbers/+12025550102", {"max_calls_per_day": 9})
    responses = _race_on_two_servers(tenant, tmp_path, agent, requests=50, clients=60)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 22, [r.text for r in responses if r.status_code not in (200, 409)]
    assert statuses.count(409) == 28
    with tenant.backend.database.engine.connect() as connection:
        per_number = dict(
            connection.execute(
                text(
                    "SELECT n.e164, count(*) FROM caller_id_selections s "
                    "JOIN phone_numbers n ON n.id = s.number_id GROUP BY n.e164"
                )
            ).all()
        )
    assert per_number == {"+12025550101": 13, "+12025550102": 9}


def _let_time_pass(tenant: Tenant, elapsed: dt.timedelta) -> None:
    """Move every selection, and every number's usage stamps, ``elapsed`` into the past."""
    with tenant.backend.database.transaction() as session:
        for selection in session.scalars(select(CallerIdSelection)):
            selection.selected_at -= elapsed
        for number in session.scalars(select(PhoneNumber)):
            for field in ("last_selected_at", "hour_edge", "day_edge", "capped_until"):
                value = getattr(number, field)
                if value is not None:
                    setattr(number, field, value - elapsed)


def test_the_windows_slide_and_raised_caps_apply_at_once(tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"])
    tenant.patch("/v1/numbers/+12025550101", {"max_calls_per_hour": 2, "max_calls_per_day": 3})
    assert [_select(tenant, agent, "+14155550100")["calls_last_hour"] for _ in range(2)] == [1, 2]
    body = {"agent_id": agent["id"], "to": "+14155550100"}
    assert tenant.post("/v1/routing/outbound", body).status_code == 409
    _let_time_pass(tenant, dt.timedelta(minutes=61))  # both calls leave the hour, not the day
    third = _select(tenant, agent, "+14155550100")
    assert (third["calls_last_hour"], third["calls_last_day"]) == (1, 3)
    refused = tenant.post("/v1/routing/outbound", body)  # the day is full now
    assert error_code(refused) == "no_caller_id_available"
    assert 82_000 <= refused.json()["error"]["details"]["retry_after"] <= 86_400 - 61 * 60 + 1
    tenant.patch("/v1/numbers/+12025550101", {"max_calls_per_day": 4})
    assert _select(tenant, agent, "+14155550100")["calls_last_day"] == 4
    _let_time_pass(tenant, dt.timedelta(days=2))  # nothing counts any more
    fresh = _select(tenant, agent, "+14155550100")
    assert (fresh["calls_last_hour"], fresh["calls_last_day"]) == (1, 1)


def test_a_dry_run_decides_the_same_and_counts_nothing(tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    body = {"agent_id": agent["id"], "to": "+14155550100"}
    dry = tenant.post("/v1/routing/outbound", {**body, "dry_run": True}).json()["data"]
    real = _select(tenant, agent, "+14155550100")
    assert dry["number"]["e164"] == real["number"]["e164"]
    assert dry["calls_last_hour"] == real["calls_last_hour"] == 1
    assert real["selection_id"].startswith("sel_")
    assert real["number"]["outbound_agent_ids"] == [agent["id"]]
    assert real["number"] == {**tenant.get("/v1/numbers/" + real["number"]["id"]).json()["data"]}
    with tenant.backend.database.engine.connect() as connection:
        logged = connection.execute(text("SELECT count(*) FROM caller_id_selections")).scalar()
    assert logged == 1


def test_bad_selection_requests_are_refused_clearly(tenant: Tenant, other_tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"])
    url = "/v1/routing/outbound"
    malformed = tenant.client.post(url, content=b"{", headers=tenant.auth)
    assert (malformed.status_code, error_code(malformed)) == (400, "malformed_json")
    wrong_type = tenant.post(url, {"agent_id": agent["id"], "to": 14155550100})
    assert (wrong_type.status_code, error_code(wrong_type)) == (422, "invalid_request")
    assert wrong_type.json()["error"]["details"]["errors"][0]["field"] == "to"
    unknown = tenant.post(url, {"agent_id": "agt_nope", "to": "+14155550100"})
    assert (unknown.status_code, error_code(unknown)) == (404, "agent_not_found")
    foreign = other_tenant.post(url, {"agent_id": agent["id"], "to": "+14155550100"})
    assert (foreign.status_code, error_code(foreign)) == (404, "agent_not_found")
    anonymous = tenant.client.post(url, json={"agent_id": agent["id"], "to": "+14155550100"})
    assert (anonymous.status_code, error_code(anonymous)) == (401, "missing_api_key")
    tenant.delete(f"/v1/agents/{agent['id']}")
    archived = tenant.post(url, {"agent_id": agent["id"], "to": "+14155550100"})
    assert (archived.status_code, error_code(archived)) == (409, "agent_archived")


@pytest.mark.postgres_only
def test_sixty_four_clients_on_two_servers_use_exactly_the_sum_of_the_caps(
    tenant: Tenant, tmp_path: Path
) -> None:
    numbers = [f"+120255501{i:02d}" for i in range(10)]
    agent = _caller(tenant, "rotate", numbers)
    for e164 in numbers:
        tenant.patch(f"/v1/numbers/{e164}", {"max_calls_per_hour": 5})
    responses = _race_on_two_servers(tenant, tmp_path, agent, requests=80, clients=64)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 50, [r.text for r in responses if r.status_code not in (200, 409)]
    assert statuses.count(409) == 30
    chosen = [r.json()["data"]["number"]["e164"] for r in responses if r.status_code == 200]
    assert {e164: chosen.count(e164) for e164 in numbers} == dict.fromkeys(numbers, 5)


def test_old_selections_are_pruned_and_counts_stay_right(tenant: Tenant) -> None:
    agent = _caller(tenant, "rotate", ["+12025550101"])
    _select(tenant, agent, "+14155550100")
    _let_time_pass(tenant, dt.timedelta(days=3))
    _select(tenant, agent, "+14155550100")
    selector = tenant.client.app.state.caller_ids  # type: ignore[attr-defined]
    asyncio.run(selector.prune())
    with tenant.backend.database.engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM caller_id_selections")).scalar()
    assert left == 1
    again = _select(tenant, agent, "+14155550100")
    assert (again["calls_last_hour"], again["calls_last_day"]) == (2, 2)


def _hot_statements(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the hot path's connections send from now on (each a round trip on
    PostgreSQL; the ORM's, e.g. the key's last use, are not counted)."""
    sent: list[str] = []
    pool: HotPool = tenant.client.app.state.caller_ids.pool  # type: ignore[attr-defined]
    pool.close()  # from here on, every connection is a new, traced one
    if pool.postgres:
        for cls in (psycopg.Connection, psycopg.AsyncConnection):

            def execute(self: Any, query: Any, *args: Any, _original: Any = cls.execute) -> Any:
                sent.append(str(query))
                return _original(self, query, *args)

            monkeypatch.setattr(cls, "execute", execute)
    else:
        connect = pool._connect

        def traced() -> Any:
            raw = connect()
            raw.set_trace_callback(sent.append)
            return raw

        monkeypatch.setattr(pool, "_connect", traced)
    return sent


def test_the_statements_of_one_selection(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: the key and agent, then the whole selection, in two round trips. SQLite: the
    key on the event loop, then a short transaction in a worker thread."""
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    sent = _hot_statements(tenant, monkeypatch)
    _select(tenant, agent, "+14155550100")  # prepares the statements, opens the connections
    sent.clear()
    second = _select(tenant, agent, "+14155550100")
    assert second["calls_last_hour"] == 1
    assert second["number"]["outbound_agent_ids"] == [agent["id"]]
    statements = [s for s in sent if not s.startswith("PRAGMA")]
    if tenant.backend.name == "postgresql":
        assert len(statements) == 2, statements
        assert statements[1].lstrip().startswith("WITH n AS")
    else:
        assert [s.split()[0] for s in statements] == [
            "SELECT",  # the key and the agent
            "BEGIN",
            "SELECT",  # the candidate
            "UPDATE",  # its counts
            "INSERT",  # the log
            "SELECT",  # its assignments
            "COMMIT",
        ], statements


@pytest.mark.postgres_only
def test_the_passes_take_over_when_the_one_statement_cannot(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deadlock rolls the statement back and the passes select; so does a number at its cap
    (the passes mark it) and a dry run (it must roll back)."""
    agent = _caller(tenant, "rotate", ["+12025550101", "+12025550102"])
    pool: HotPool = tenant.client.app.state.caller_ids.pool  # type: ignore[attr-defined]
    one = pool.one
    failures = iter([psycopg.errors.DeadlockDetected("simulated")])

    async def deadlocked_once(sql: str, params: dict[str, Any]) -> Any:
        if sql.lstrip().startswith("WITH n AS"):
            failure = next(failures, None)
            if failure is not None:
                raise failure
        return await one(sql, params)

    monkeypatch.setattr(pool, "one", deadlocked_once)
    first = _select(tenant, agent, "+14155550100")  # by the passes
    full, other = (
        first["number"]["e164"],
        ({"+12025550101", "+12025550102"} - {first["number"]["e164"]}).pop(),
    )
    tenant.patch(f"/v1/numbers/{full}", {"max_calls_per_hour": 1})
    taken = [_select(tenant, agent, "+14155550100") for _ in range(2)]
    assert [(t["number"]["e164"], t["calls_last_hour"]) for t in taken] == [(other, 1), (other, 2)]
    with tenant.backend.database.engine.connect() as connection:
        capped = connection.execute(
            text("SELECT capped_until FROM phone_numbers WHERE e164 = :e164"), {"e164": full}
        ).scalar()
    assert capped is not None  # marked by the passes when the statement found it full
    body = {"agent_id": agent["id"], "to": "+14155550100", "dry_run": True}
    dry = tenant.post("/v1/routing/outbound", body).json()["data"]
    assert (dry["number"]["e164"], dry["calls_last_hour"]) == (other, 3)
    assert _select(tenant, agent, "+14155550100")["calls_last_hour"] == 3
