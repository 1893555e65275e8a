"""Agents' own fields, and the audit log every mutation writes in its own transaction."""

from __future__ import annotations

from tests.helpers import Tenant


def test_create_read_update_agent(tenant: Tenant) -> None:
    agent = tenant.agent(
        "inbound",
        name="Front desk",
        persona="Friendly",
        language="en-US",
        voice="alloy",
        webhook_url="https://example.com/hook",
        voicemail_action="leave_message",
        metadata={"team": "support"},
    )
    assert agent["id"].startswith("agt_") and agent["workspace_id"].startswith("ws_")
    assert (agent["language"], agent["voicemail_action"]) == ("en-US", "leave_message")
    assert agent["webhook_url"] == "https://example.com/hook"
    got = tenant.get(f"/v1/agents/{agent['id']}").json()["data"]
    assert got == agent
    patched = tenant.patch(
        f"/v1/agents/{agent['id']}", {"instructions": "Book visits", "persona": None}
    ).json()["data"]
    assert (patched["instructions"], patched["persona"]) == ("Book visits", None)
    assert patched["name"] == "Front desk"
    assert tenant.patch(f"/v1/agents/{agent['id']}", {"name": None}).status_code == 422


def test_list_agents_by_type_with_cursor(tenant: Tenant) -> None:
    made = [tenant.agent("outbound" if i % 2 else "inbound", name=f"A{i}") for i in range(7)]
    outbound = tenant.get("/v1/agents", params={"type": "outbound"}).json()["data"]
    assert [a["id"] for a in outbound] == [a["id"] for a in made if a["type"] == "outbound"]
    first = tenant.get("/v1/agents", params={"limit": "4"}).json()
    assert first["pagination"]["has_more"] is True
    rest = tenant.get(
        "/v1/agents", params={"limit": "4", "cursor": first["pagination"]["next_cursor"]}
    ).json()
    assert [a["id"] for a in first["data"] + rest["data"]] == [a["id"] for a in made]


def test_every_mutation_leaves_one_event_with_actor_and_request_id(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    number = tenant.number("+12025550170")
    request_id = "trace-attach-1"
    tenant.client.put(
        f"/v1/agents/{agent['id']}/numbers",
        json={"phone_numbers": ["+12025550170"]},
        headers={**tenant.auth, "X-Request-ID": request_id},
    )
    tenant.delete(f"/v1/agents/{agent['id']}/numbers/{number['id']}")
    tenant.delete(f"/v1/numbers/{number['id']}")

    types = [e["type"] for e in reversed(tenant.events())]
    assert types == [
        "workspace.created",
        "api_key.created",
        "agent.created",
        "number.imported",
        "number.attached",
        "number.detached",
        "number.deleted",
    ]
    attached = tenant.events("number.attached")[0]
    assert attached["request_id"] == request_id
    assert attached["actor_key_id"].startswith("key_")
    assert set(attached["resource_ids"]) == {agent["id"], number["id"]}
    assert attached["after"]["number_ids"] == [number["id"]]
    detached = tenant.events("number.detached")[0]
    assert detached["before"]["assignments"] == [
        {"agent_id": agent["id"], "direction": "outbound", "primary": False}
    ]


def test_failed_requests_leave_no_event(tenant: Tenant) -> None:
    before = len(tenant.events())
    agent = tenant.agent("outbound")
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": ["+12025550171"]})
    tenant.post("/v1/numbers", {"e164": "+1231242151"})
    assert len(tenant.events()) == before + 1  # only agent.created
