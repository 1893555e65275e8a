"""A change made through one server is seen by the very next resolution on another."""

from __future__ import annotations

import time
from pathlib import Path

import httpx2 as httpx

from callplane.core import ids
from callplane.workspaces.service import revoke_key
from tests.helpers import Tenant
from tests.live_server import live_server

LINE = "+16286666348"


def test_changes_reach_every_server_before_its_next_resolution(
    tenant: Tenant, tmp_path: Path
) -> None:
    tenant.patch("/v1/workspace", {"default_stream_url": "wss://media.example.com/s"})
    first_agent = tenant.agent("inbound", name="First")
    second_agent = tenant.agent("inbound", name="Second")
    number = tenant.number(LINE)
    auth = {"Authorization": f"Bearer {tenant.key}"}
    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as a,
        live_server(tenant.backend.url, tmp_path / "b.log") as b,
        httpx.Client(headers=auth, timeout=30) as client,
    ):

        def resolve_on_b() -> dict[str, object]:
            response = client.get(f"{b}/v1/routing/inbound", params={"to": LINE})
            assert response.status_code == 200, response.text
            return dict(response.json()["data"])

        assert resolve_on_b()["reason"] == "no_inbound_agent"  # cached on B now
        for _ in range(20):  # change on A, read on B at once, many times over
            client.post(
                f"{a}/v1/numbers/assign",
                json={
                    "number_id": LINE,
                    "agent_id": first_agent["id"],
                    "assignment_type": "inbound",
                    "replace": True,
                },
            ).raise_for_status()
            assert resolve_on_b()["agent"]["id"] == first_agent["id"]  # type: ignore[index]
            client.post(
                f"{a}/v1/numbers/assign",
                json={
                    "number_id": LINE,
                    "agent_id": second_agent["id"],
                    "assignment_type": "inbound",
                    "replace": True,
                },
            ).raise_for_status()
            assert resolve_on_b()["agent"]["id"] == second_agent["id"]  # type: ignore[index]
        client.delete(f"{a}/v1/agents/{second_agent['id']}/numbers/{LINE}").raise_for_status()
        assert resolve_on_b()["reason"] == "no_inbound_agent"
        client.delete(f"{a}/v1/numbers/{number['id']}").raise_for_status()
        assert client.get(f"{b}/v1/routing/inbound", params={"to": LINE}).status_code == 404

        key_id = ids.parse("api_key", tenant.events("api_key.created")[0]["resource_ids"][0])
        assert key_id is not None
        with tenant.backend.database.transaction() as session:
            revoke_key(session, key_id)
        revoked = client.get(f"{b}/v1/routing/inbound", params={"to": LINE})
        assert revoked.status_code == 401


def test_a_change_retires_only_its_own_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    runtime = tenant.client.app.state.routing  # type: ignore[attr-defined]
    workspace = ids.parse("workspace", tenant.workspace_id)
    tenant.number(LINE)
    caller = tenant.agent("outbound")
    tenant.put(f"/v1/agents/{caller['id']}/numbers", {"phone_numbers": [LINE]})

    def generation_after_a_lookup() -> tuple[int, int]:
        assert tenant.get("/v1/routing/inbound", params={"to": LINE}).status_code == 200
        return tuple(runtime.routes.generation(workspace))  # type: ignore[return-value]

    before = generation_after_a_lookup()
    other_tenant.patch("/v1/workspace", {"name": "renamed"})  # another workspace's change
    tenant.post("/v1/routing/outbound", {"agent_id": caller["id"], "to": "+14155550100"})
    assert generation_after_a_lookup() == before  # a selection is usage, not a change
    tenant.patch("/v1/workspace", {"name": "mine renamed"})
    for _ in range(50):  # a NOTIFY travels asynchronously; SQLite's counter is read at once
        if generation_after_a_lookup() != before:
            break
        time.sleep(0.02)
    assert generation_after_a_lookup() != before
