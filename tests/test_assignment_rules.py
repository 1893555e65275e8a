"""User stories for DESIGN.md rules 3-8: inbound, outbound, primary, detach, unassign, delete."""

from __future__ import annotations

from tests.helpers import Tenant, error_code

N1, N2, N3 = "+12025550101", "+12025550102", "+12025550103"


def test_attach_by_e164_slug_and_id_is_idempotent_and_folds_duplicates(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    n1, n2, n3 = tenant.number(N1), tenant.number(N2), tenant.number(N3)

    response = tenant.put(
        f"/v1/agents/{agent['id']}/numbers",
        {
            "phone_numbers": [N1, N1],
            "phone_number_slugs": [N2[1:]],
            "number_ids": [n3["id"], n1["id"]],
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["newly_attached"] == 3
    assert sorted(n["id"] for n in data["numbers"]) == sorted([n1["id"], n2["id"], n3["id"]])

    again = tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [N1]})
    assert again.status_code == 200
    assert again.json()["data"]["newly_attached"] == 0
    listed = tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]
    assert len(listed) == 3
    assert all(n["outbound_agent_ids"] == [agent["id"]] for n in listed)


def test_bulk_attach_is_atomic_and_lists_every_missing_reference(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    tenant.number(N1)
    response = tenant.put(
        f"/v1/agents/{agent['id']}/numbers",
        {
            "phone_numbers": [N1, N2],
            "phone_number_slugs": [N3[1:]],
        },
    )
    assert response.status_code == 404
    assert error_code(response) == "number_not_found"
    missing = response.json()["error"]["details"]["missing"]
    assert missing == [
        {"field": "phone_numbers[1]", "value": N2},
        {"field": "phone_number_slugs[0]", "value": N3[1:]},
    ]
    assert tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"] == []


def test_outbound_number_is_shared_by_many_agents(tenant: Tenant) -> None:
    agents = [tenant.agent("outbound", name=f"A{i}") for i in range(3)]
    number = tenant.number(N1)
    for agent in agents:
        assert (
            tenant.post(
                "/v1/numbers/assign",
                {
                    "number_id": number["id"],
                    "agent_id": agent["id"],
                    "assignment_type": "outbound",
                },
            ).status_code
            == 200
        )
    shown = tenant.get(f"/v1/numbers/{N1}").json()["data"]
    assert sorted(shown["outbound_agent_ids"]) == sorted(a["id"] for a in agents)


def test_second_inbound_agent_conflicts_unless_replace(tenant: Tenant) -> None:
    first, second = tenant.agent("inbound", name="First"), tenant.agent("inbound", name="Second")
    number = tenant.number(N1)
    body = {"number_id": number["id"], "agent_id": first["id"], "assignment_type": "inbound"}
    assert tenant.post("/v1/numbers/assign", body).json()["data"]["inbound_agent_id"] == first["id"]
    assert tenant.post("/v1/numbers/assign", body).status_code == 200  # idempotent

    conflict = tenant.post("/v1/numbers/assign", {**body, "agent_id": second["id"]})
    assert conflict.status_code == 409
    assert error_code(conflict) == "number_already_assigned"
    assert conflict.json()["error"]["details"]["agent_id"] == first["id"]

    replaced = tenant.post(
        "/v1/numbers/assign", {**body, "agent_id": second["id"], "replace": True}
    )
    assert replaced.status_code == 200
    assert replaced.json()["data"]["inbound_agent_id"] == second["id"]
    assert tenant.get(f"/v1/agents/{first['id']}/numbers").json()["data"] == []


def test_agent_type_must_match_the_direction(tenant: Tenant) -> None:
    inbound, outbound = tenant.agent("inbound"), tenant.agent("outbound")
    number = tenant.number(N1)
    wrong = tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": outbound["id"], "assignment_type": "inbound"},
    )
    assert wrong.status_code == 409
    assert error_code(wrong) == "agent_type_mismatch"
    attach = tenant.put(f"/v1/agents/{inbound['id']}/numbers", {"phone_numbers": [N1]})
    assert attach.status_code == 409
    assert error_code(attach) == "agent_type_mismatch"
    assert tenant.get(f"/v1/numbers/{number['id']}").json()["data"]["outbound_agent_ids"] == []


def test_primary_number_must_be_own_and_is_cleared_on_detach(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    n1, n2 = tenant.number(N1), tenant.number(N2)
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [N1]})

    refused = tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": n2["id"]})
    assert refused.status_code == 422
    assert error_code(refused) == "primary_number_not_attached"

    ok = tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": n1["id"]})
    assert ok.json()["data"]["primary_number_id"] == n1["id"]

    detached = tenant.delete(f"/v1/agents/{agent['id']}/numbers/{N1[1:]}")
    assert detached.status_code == 200
    assert detached.json()["data"]["primary_number_id"] is None
    assert tenant.get(f"/v1/agents/{agent['id']}").json()["data"]["primary_number_id"] is None


def test_primary_number_is_cleared_when_the_number_is_deleted(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    number = tenant.number(N1)
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"number_ids": [number["id"]]})
    tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": number["id"]})
    assert tenant.delete(f"/v1/numbers/{number['id']}").status_code == 200
    assert tenant.get(f"/v1/agents/{agent['id']}").json()["data"]["primary_number_id"] is None


def test_detach_by_each_reference_kind_and_detach_twice_is_404(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    n1, _, _ = tenant.number(N1), tenant.number(N2), tenant.number(N3)
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [N1, N2, N3]})
    for reference in (n1["id"], N2, N3[1:]):
        assert tenant.delete(f"/v1/agents/{agent['id']}/numbers/{reference}").status_code == 200
    again = tenant.delete(f"/v1/agents/{agent['id']}/numbers/{N1}")
    assert again.status_code == 404
    assert error_code(again) == "number_not_attached"
    unknown = tenant.delete(f"/v1/agents/{agent['id']}/numbers/+12025550199")
    assert error_code(unknown) == "number_not_found"


def test_unassign_each_direction(tenant: Tenant) -> None:
    inbound, out_a, out_b = (
        tenant.agent("inbound"),
        tenant.agent("outbound", name="A"),
        tenant.agent("outbound", name="B"),
    )
    number = tenant.number(N1)
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": N1, "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    tenant.put(f"/v1/agents/{out_a['id']}/numbers", {"phone_numbers": [N1]})
    tenant.put(f"/v1/agents/{out_b['id']}/numbers", {"phone_numbers": [N1]})

    one = tenant.post(
        "/v1/numbers/unassign",
        {"number_id": number["id"], "assignment_type": "outbound", "agent_id": out_a["id"]},
    )
    assert one.json()["data"]["outbound_agent_ids"] == [out_b["id"]]
    assert one.json()["data"]["inbound_agent_id"] == inbound["id"]

    rest = tenant.post(
        "/v1/numbers/unassign", {"number_id": number["id"], "assignment_type": "outbound"}
    )
    assert rest.json()["data"]["outbound_agent_ids"] == []

    inbound_gone = tenant.post(
        "/v1/numbers/unassign", {"number_id": number["id"], "assignment_type": "inbound"}
    )
    assert inbound_gone.json()["data"]["inbound_agent_id"] is None

    nothing = tenant.post(
        "/v1/numbers/unassign", {"number_id": number["id"], "assignment_type": "inbound"}
    )
    assert nothing.status_code == 404
    assert error_code(nothing) == "number_not_assigned"


def test_delete_number_attached_to_three_agents(tenant: Tenant) -> None:
    agents = [tenant.agent("outbound", name=f"A{i}") for i in range(3)]
    number = tenant.number(N1)
    for agent in agents:
        tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [N1]})
    tenant.patch(f"/v1/agents/{agents[0]['id']}", {"primary_number_id": number["id"]})

    deleted = tenant.delete(f"/v1/numbers/{N1[1:]}")
    assert deleted.status_code == 200
    assert sorted(deleted.json()["data"]["outbound_agent_ids"]) == sorted(a["id"] for a in agents)
    assert tenant.get(f"/v1/numbers/{number['id']}").status_code == 404
    for agent in agents:
        assert tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"] == []
    assert tenant.get(f"/v1/agents/{agents[0]['id']}").json()["data"]["primary_number_id"] is None
    # The number can be imported again, fresh, with no assignments.
    assert tenant.number(N1)["outbound_agent_ids"] == []


def test_archived_agent_releases_its_numbers_and_refuses_new_ones(tenant: Tenant) -> None:
    inbound, other = tenant.agent("inbound"), tenant.agent("inbound", name="Other")
    tenant.number(N1)
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": N1, "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    archived = tenant.delete(f"/v1/agents/{inbound['id']}")
    assert archived.status_code == 200
    assert archived.json()["data"]["archived_at"] is not None
    assert tenant.get(f"/v1/numbers/{N1}").json()["data"]["inbound_agent_id"] is None

    refused = tenant.post(
        "/v1/numbers/assign",
        {"number_id": N1, "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    assert refused.status_code == 409
    assert error_code(refused) == "agent_archived"
    patch = tenant.patch(f"/v1/agents/{inbound['id']}", {"name": "again"})
    assert error_code(patch) == "agent_archived"
    # The freed number goes to another agent without `replace`.
    assert (
        tenant.post(
            "/v1/numbers/assign",
            {"number_id": N1, "agent_id": other["id"], "assignment_type": "inbound"},
        ).status_code
        == 200
    )
    listed = tenant.get("/v1/agents").json()["data"]
    assert [a["id"] for a in listed] == [other["id"]]
    with_archived = tenant.get("/v1/agents", params={"include_archived": "true"}).json()["data"]
    assert len(with_archived) == 2


def test_agent_type_changes_only_without_numbers(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    tenant.number(N1)
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [N1]})
    refused = tenant.patch(f"/v1/agents/{agent['id']}", {"type": "inbound"})
    assert refused.status_code == 409
    assert error_code(refused) == "agent_has_numbers"
    tenant.delete(f"/v1/agents/{agent['id']}/numbers/{N1}")
    changed = tenant.patch(f"/v1/agents/{agent['id']}", {"type": "inbound"})
    assert changed.json()["data"]["type"] == "inbound"


def test_an_agents_numbers_by_filter_and_by_path_across_workspaces(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    """The list filter matches nothing for an agent that is not the workspace's; the agent's
    own path is a 404 for it, as for any resource of another workspace."""
    mine = tenant.agent("outbound")
    number = tenant.number("+12025550177")
    tenant.put(f"/v1/agents/{mine['id']}/numbers", {"number_ids": [number["id"]]})
    theirs = other_tenant.agent("outbound")
    listed = tenant.get("/v1/numbers", params={"agent_id": mine["id"]}).json()["data"]
    assert [n["id"] for n in listed] == [number["id"]]
    for agent_id in (theirs["id"], "agt_not-an-id"):
        assert tenant.get("/v1/numbers", params={"agent_id": agent_id}).json()["data"] == []
    assert other_tenant.get("/v1/numbers", params={"agent_id": mine["id"]}).json()["data"] == []
    by_path = other_tenant.get(f"/v1/agents/{mine['id']}/numbers")
    assert (by_path.status_code, error_code(by_path)) == (404, "agent_not_found")
