"""Invariants under races, against a live server process: the database has the last word."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import text

from tests.helpers import Tenant
from tests.live_server import live_server


async def _fire(
    base_url: str, key: str, calls: list[tuple[str, str, Any]]
) -> list[httpx2.Response]:
    limits = httpx2.Limits(max_connections=len(calls))
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as client:
        return await asyncio.gather(*(client.request(m, p, json=b) for m, p, b in calls))


def test_fifty_concurrent_inbound_assignments_have_one_winner(
    tenant: Tenant, tmp_path: Path
) -> None:
    number = tenant.number("+12025550180")
    agents = [tenant.agent("inbound", name=f"Racer {i}") for i in range(50)]
    calls = [
        (
            "POST",
            "/v1/numbers/assign",
            {"number_id": number["id"], "agent_id": a["id"], "assignment_type": "inbound"},
        )
        for a in agents
    ]
    with live_server(tenant.backend.url, tmp_path / "server.log") as base_url:
        responses = asyncio.run(_fire(base_url, tenant.key, calls))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 49, [r.text for r in responses if r.status_code != 409]
    winner = next(r for r in responses if r.status_code == 200).json()["data"]["inbound_agent_id"]
    assert tenant.get(f"/v1/numbers/{number['id']}").json()["data"]["inbound_agent_id"] == winner
    with tenant.backend.database.engine.connect() as connection:
        inbound_rows = connection.execute(
            text("SELECT count(*) FROM assignments WHERE direction = 'inbound'")
        ).scalar_one()
    assert inbound_rows == 1
    assert len(tenant.events("number.assigned")) == 1


def test_concurrent_attach_detach_delete_leave_no_dangling_assignment(
    tenant: Tenant, tmp_path: Path
) -> None:
    numbers = [f"+120255502{i:02d}" for i in range(10)]
    tenant.post("/v1/numbers/batch", {"numbers": [{"e164": e} for e in numbers]})
    agents = [tenant.agent("outbound", name=f"Caller {i}")["id"] for i in range(5)]
    rng = random.Random(7)
    calls: list[tuple[str, str, Any]] = []
    for _ in range(60):
        agent, number = rng.choice(agents), rng.choice(numbers)
        kind = rng.random()
        if kind < 0.5:
            calls.append(
                ("PUT", f"/v1/agents/{agent}/numbers", {"phone_numbers": rng.sample(numbers, 3)})
            )
        elif kind < 0.7:
            calls.append(("PATCH", f"/v1/agents/{agent}", {"primary_number_id": number}))
        elif kind < 0.85:
            calls.append(("DELETE", f"/v1/agents/{agent}/numbers/{number}", None))
        else:
            calls.append(("DELETE", f"/v1/numbers/{number}", None))
    with live_server(tenant.backend.url, tmp_path / "server.log") as base_url:
        responses = asyncio.run(_fire(base_url, tenant.key, calls))

    unexpected = [
        (c, r.status_code, r.text)
        for c, r in zip(calls, responses, strict=True)
        if r.status_code not in (200, 404, 409, 422)
    ]
    assert unexpected == []
    with tenant.backend.database.engine.connect() as connection:
        dangling = connection.execute(
            text(
                "SELECT count(*) FROM assignments a "
                "LEFT JOIN phone_numbers n ON n.id = a.number_id "
                "WHERE n.id IS NULL"
            )
        ).scalar_one()
        primaries = connection.execute(
            text(
                "SELECT agent_id, count(*) FROM assignments WHERE is_primary GROUP BY agent_id "
                "HAVING count(*) > 1"
            )
        ).all()
    assert dangling == 0
    assert primaries == []
    remaining = {
        n["e164"] for n in tenant.get("/v1/numbers", params={"limit": "100"}).json()["data"]
    }
    for agent in agents:
        held = tenant.get(f"/v1/agents/{agent}/numbers", params={"limit": "100"}).json()["data"]
        assert {n["e164"] for n in held} <= remaining


def test_concurrent_creates_of_one_number_from_two_workspaces_have_one_winner(
    tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    """The insert is its own check (``ON CONFLICT DO NOTHING``): a create that lost the race
    waits for the winner's transaction and is answered as if it had come after it."""
    e164 = "+12025550181"
    with live_server(tenant.backend.url, tmp_path / "server.log") as base_url:

        async def both() -> list[list[httpx2.Response]]:
            mine = _fire(base_url, tenant.key, [("POST", "/v1/numbers", {"e164": e164})] * 10)
            theirs = _fire(
                base_url, other_tenant.key, [("POST", "/v1/numbers", {"e164": e164})] * 10
            )
            return list(await asyncio.gather(mine, theirs))

        mine, theirs = asyncio.run(both())

    statuses = sorted(r.status_code for r in mine + theirs)
    assert statuses == [201] + [409] * 19, [r.text for r in mine + theirs]
    winner, loser = (mine, theirs) if any(r.status_code == 201 for r in mine) else (theirs, mine)
    owner = tenant if winner is mine else other_tenant
    assert {r.json()["error"]["code"] for r in winner if r.status_code == 409} == {
        "number_already_exists"
    }
    assert {r.json()["error"]["code"] for r in loser} == {"number_not_available"}
    assert [n["e164"] for n in owner.get("/v1/numbers").json()["data"]] == [e164]
    assert len(owner.events("number.imported")) == 1
