"""A change acknowledged by one server is seen by the very next resolution on any other.

Two live ``callplane serve`` processes share one database: every flip of a number's inbound
agent goes through server A, and server B resolves the number right after each 2xx. One stale
answer is a failure. ``bench/routing_consistency.py`` runs the same check 1,000 times.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2

from callplane.core import ids
from callplane.workspaces.service import revoke_key
from tests.helpers import Tenant
from tests.live_server import live_server

LINE = "+16286666348"
FLIPS = 100


def test_changes_reach_every_server_before_its_next_resolution(
    tenant: Tenant, tmp_path: Path
) -> None:
    tenant.patch("/v1/workspace", {"default_stream_url": "wss://media.example.com/s"})
    agents = [tenant.agent("inbound", name="First"), tenant.agent("inbound", name="Second")]
    number = tenant.number(LINE)
    auth = {"Authorization": f"Bearer {tenant.key}"}
    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as a,
        live_server(tenant.backend.url, tmp_path / "b.log") as b,
        httpx2.Client(headers=auth, timeout=30) as client,
    ):

        def resolve_on_b() -> dict[str, object]:
            response = client.get(f"{b}/v1/routing/inbound", params={"to": LINE})
            assert response.status_code == 200, response.text
            return dict(response.json()["data"])

        assert resolve_on_b()["reason"] == "no_inbound_agent"
        stale = []
        for flip in range(FLIPS):  # change on A, read on B at once
            agent = agents[flip % 2]
            client.post(
                f"{a}/v1/numbers/assign",
                json={
                    "number_id": LINE,
                    "agent_id": agent["id"],
                    "assignment_type": "inbound",
                    "replace": True,
                },
            ).raise_for_status()
            answered = resolve_on_b()["agent"]
            if answered is None or answered["id"] != agent["id"]:  # type: ignore[index]
                stale.append(flip)
        assert stale == [], f"{len(stale)} of {FLIPS} resolutions returned the previous agent"

        client.delete(f"{a}/v1/agents/{agents[1]['id']}/numbers/{LINE}").raise_for_status()
        assert resolve_on_b()["reason"] == "no_inbound_agent"
        client.delete(f"{a}/v1/numbers/{number['id']}").raise_for_status()
        assert client.get(f"{b}/v1/routing/inbound", params={"to": LINE}).status_code == 404

        key_id = ids.parse("api_key", tenant.events("api_key.created")[0]["resource_ids"][0])
        assert key_id is not None
        with tenant.backend.database.transaction() as session:
            revoke_key(session, key_id)
        revoked = client.get(f"{b}/v1/routing/inbound", params={"to": LINE})
        assert revoked.status_code == 401


def test_an_agent_without_a_stream_url_is_still_the_answer(tenant: Tenant) -> None:
    """The resolution says who answers; a media plane that brings its own stream needs that."""
    agent = tenant.agent("inbound", name="Front desk")
    number = tenant.number(LINE)
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    response = tenant.get("/v1/routing/inbound", params={"to": LINE})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["action"], data["reason"], data["agent"]["id"]) == (
        "connect",
        "assigned",
        agent["id"],
    )
    assert data["stream_url"] is None
    assert data["stream_url_configured"] is False
    tenant.patch("/v1/workspace", {"default_stream_url": "wss://media.example.com/s"})
    data = tenant.get("/v1/routing/inbound", params={"to": LINE}).json()["data"]
    assert (data["stream_url"], data["stream_url_configured"]) == (
        "wss://media.example.com/s",
        True,
    )


def test_resolutions_asked_at_once_each_get_their_own_answer(
    tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    """On PostgreSQL, resolutions asked together are read in one statement: each request still
    gets the answer of its own key and number, errors included."""
    agent = tenant.agent("inbound", name="Front desk")
    tenant.number(LINE)
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": LINE, "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    theirs = "+16286666349"
    other_tenant.number(theirs)
    cases = [
        (tenant.key, LINE, 200, "assigned"),
        (other_tenant.key, theirs, 200, "no_inbound_agent"),
        (tenant.key, theirs, 404, "number_not_found"),
        (other_tenant.key, LINE, 404, "number_not_found"),
    ] * 40
    for at in (10, 70, 130):  # a few: more would trip the failed-authentication guard
        cases.insert(at, ("sk_live_" + "0" * 32, LINE, 401, "invalid_api_key"))

    async def ask_all(base: str) -> list[tuple[int, str]]:
        async with httpx2.AsyncClient(base_url=base, timeout=30) as client:

            async def ask(key: str, to: str) -> tuple[int, str]:
                response = await client.get(
                    "/v1/routing/inbound",
                    params={"to": to},
                    headers={"Authorization": f"Bearer {key}"},
                )
                body = response.json()
                found = body["data"]["reason"] if response.status_code == 200 else None
                return response.status_code, found or body["error"]["code"]

            return await asyncio.gather(*(ask(key, to) for key, to, _, _ in cases))

    with live_server(tenant.backend.url, tmp_path / "server.log") as base:
        answers = asyncio.run(ask_all(base))
    assert answers == [(status, reason) for _, _, status, reason in cases]
