"""ETags and conditional requests on numbers and agents, through the real app (RFC 9110)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from callplane.compat.truedy import PREFIX as TRUEDY
from tests.helpers import Tenant, error_code
from tests.live_server import live_server

NUMBER = "+12025550170"


def fetch(tenant: Tenant, path: str, **headers: str) -> httpx.Response:
    return tenant.client.get(path, headers={**tenant.auth, **headers})


def etag_of(tenant: Tenant, path: str) -> str:
    response = fetch(tenant, path)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == response.json()["data"]["etag"]
    return response.headers["ETag"]


def version_of(tenant: Tenant, path: str) -> int:
    return int(fetch(tenant, path).json()["data"]["version"])


def change(tenant: Tenant, method: str, path: str, body: Any = None, **headers: str) -> Any:
    return tenant.client.request(method, path, json=body, headers={**tenant.auth, **headers})


@pytest.fixture
def number_path(tenant: Tenant) -> str:
    return f"/v1/numbers/{tenant.number(NUMBER)['id']}"


@pytest.fixture
def agent_path(tenant: Tenant) -> str:
    return f"/v1/agents/{tenant.agent('outbound')['id']}"


@pytest.mark.parametrize("resource", ["number", "agent"])
def test_a_read_carries_the_etag_and_a_matching_if_none_match_is_304(
    tenant: Tenant, resource: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(f"{resource}_path")
    first = fetch(tenant, path)
    etag = first.headers["ETag"]
    assert first.json()["data"]["version"] == 1 and first.json()["data"]["etag"] == etag
    assert etag.startswith('"') and etag.endswith('"')  # strong
    for held in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        unchanged = fetch(tenant, path, **{"If-None-Match": held})
        assert unchanged.status_code == 304, held
        assert unchanged.content == b""
        assert unchanged.headers["ETag"] == etag
    stale = fetch(tenant, path, **{"If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.json()["data"]["etag"] == etag


def test_the_same_number_by_id_e164_or_slug_has_one_etag(tenant: Tenant, number_path: str) -> None:
    etags = {
        etag_of(tenant, p)
        for p in (number_path, f"/v1/numbers/{NUMBER}", "/v1/numbers/" + NUMBER[1:])
    }
    assert len(etags) == 1


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("number", {"friendly_name": "Front desk"}, "friendly_name"),
        ("agent", {"name": "Renamed"}, "name"),
    ],
)
def test_if_match_guards_a_patch(
    tenant: Tenant, resource: str, body: dict[str, Any], field: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(f"{resource}_path")
    etag = etag_of(tenant, path)
    changed = change(tenant, "PATCH", path, body, **{"If-Match": etag})
    assert changed.status_code == 200, changed.text
    new_etag = changed.headers["ETag"]
    assert new_etag != etag and changed.json()["data"]["version"] == 2
    assert new_etag == etag_of(tenant, path)

    events = len(tenant.events())
    stale = change(tenant, "PATCH", path, {field: "Lost update"}, **{"If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert error_code(stale) == "precondition_failed"
    assert stale.json()["error"]["details"] == {"header": "If-Match", "etag": new_etag}
    assert stale.headers["ETag"] == new_etag
    assert fetch(tenant, path).json()["data"][field] == body[field]  # nothing changed
    assert len(tenant.events()) == events
    assert version_of(tenant, path) == 2


def test_if_match_compares_strongly_and_star_means_any_version(
    tenant: Tenant, number_path: str
) -> None:
    etag = etag_of(tenant, number_path)
    weak = change(tenant, "PATCH", number_path, {"friendly_name": "x"}, **{"If-Match": f"W/{etag}"})
    assert weak.status_code == 412  # RFC 9110 13.1.1: a weak tag never matches If-Match
    listed = change(
        tenant, "PATCH", number_path, {"friendly_name": "listed"}, **{"If-Match": f'"a", {etag}'}
    )
    assert listed.status_code == 200
    star = change(tenant, "PATCH", number_path, {"friendly_name": "any"}, **{"If-Match": "*"})
    assert star.status_code == 200
    assert version_of(tenant, number_path) == 3


def test_if_none_match_on_a_change_refuses_a_named_version(
    tenant: Tenant, number_path: str
) -> None:
    etag = etag_of(tenant, number_path)
    refused = change(
        tenant, "PATCH", number_path, {"friendly_name": "x"}, **{"If-None-Match": etag}
    )
    assert refused.status_code == 412
    assert refused.json()["error"]["details"]["header"] == "If-None-Match"
    star = change(tenant, "PATCH", number_path, {"friendly_name": "x"}, **{"If-None-Match": "*"})
    assert star.status_code == 412  # the number exists
    other = change(
        tenant, "PATCH", number_path, {"friendly_name": "y"}, **{"If-None-Match": '"other"'}
    )
    assert other.status_code == 200 and version_of(tenant, number_path) == 2


@pytest.mark.parametrize("resource", ["number", "agent"])
def test_a_stale_delete_is_412_and_keeps_the_resource(
    tenant: Tenant, resource: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(f"{resource}_path")
    old = etag_of(tenant, path)
    rename = {"friendly_name": "moved on"} if resource == "number" else {"name": "moved on"}
    assert change(tenant, "PATCH", path, rename).status_code == 200
    stale = change(tenant, "DELETE", path, **{"If-Match": old})
    assert stale.status_code == 412 and error_code(stale) == "precondition_failed"
    after = fetch(tenant, path)
    assert after.status_code == 200 and after.json()["data"].get("archived_at") is None
    current = change(tenant, "DELETE", path, **{"If-Match": after.headers["ETag"]})
    assert current.status_code == 200, current.text


@pytest.mark.parametrize(
    "value", ["abc", '"unterminated', 'W/"a" "b"', '"a" junk', '"sp ace"', ","]
)
def test_a_malformed_condition_is_400_and_changes_nothing(
    tenant: Tenant, number_path: str, value: str
) -> None:
    refused = change(tenant, "PATCH", number_path, {"friendly_name": "x"}, **{"If-Match": value})
    assert refused.status_code == 400, (value, refused.text)
    assert error_code(refused) == "invalid_precondition_header"
    assert refused.json()["error"]["details"] == {"header": "If-Match", "value": value}
    read = fetch(tenant, number_path, **{"If-None-Match": value})
    assert read.status_code == 400 and error_code(read) == "invalid_precondition_header"
    assert version_of(tenant, number_path) == 1


def test_assignments_through_other_endpoints_move_the_versions(tenant: Tenant) -> None:
    number = tenant.number(NUMBER)
    inbound, outbound = tenant.agent("inbound"), tenant.agent("outbound")
    path = f"/v1/numbers/{number['id']}"
    seen = [etag_of(tenant, path)]

    def moved() -> None:
        etag = etag_of(tenant, path)
        assert etag not in seen
        seen.append(etag)

    body = {"number_id": number["id"], "agent_id": inbound["id"], "assignment_type": "inbound"}
    assert tenant.post("/v1/numbers/assign", body).status_code == 200
    moved()
    attach = {"phone_numbers": [NUMBER]}
    assert tenant.put(f"/v1/agents/{outbound['id']}/numbers", attach).status_code == 200
    moved()
    agent_path = f"/v1/agents/{outbound['id']}"
    agent_etag = etag_of(tenant, agent_path)
    assert tenant.patch(agent_path, {"primary_number_id": number["id"]}).status_code == 200
    primary_etag = etag_of(tenant, agent_path)
    assert primary_etag != agent_etag
    assert tenant.delete(f"{agent_path}/numbers/{number['id']}").status_code == 200
    moved()
    assert etag_of(tenant, agent_path) != primary_etag  # its primary number went with it
    unassign = {"number_id": number["id"], "assignment_type": "inbound"}
    assert tenant.post("/v1/numbers/unassign", unassign).status_code == 200
    moved()
    # The first ETag is stale after all that: a change guarded by it is refused.
    stale = change(tenant, "PATCH", path, {"friendly_name": "x"}, **{"If-Match": seen[0]})
    assert stale.status_code == 412 and stale.headers["ETag"] == seen[-1]


def test_archiving_an_agent_moves_its_numbers_versions(tenant: Tenant) -> None:
    number = tenant.number(NUMBER)
    agent = tenant.agent("outbound")
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [NUMBER]})
    before = version_of(tenant, f"/v1/numbers/{number['id']}")
    assert tenant.delete(f"/v1/agents/{agent['id']}").status_code == 200
    assert version_of(tenant, f"/v1/numbers/{number['id']}") > before


def test_changes_through_a_compatible_api_move_the_versions(tenant: Tenant) -> None:
    number = tenant.number(NUMBER)
    agent = tenant.agent("inbound")
    number_path, agent_path = f"/v1/numbers/{number['id']}", f"/v1/agents/{agent['id']}"
    number_etag, agent_etag = etag_of(tenant, number_path), etag_of(tenant, agent_path)
    body = {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"}
    assigned = tenant.post(f"{TRUEDY}/telephony/numbers/assign", body)
    assert assigned.status_code == 200, assigned.text
    assert etag_of(tenant, number_path) != number_etag
    renamed = tenant.put(f"{TRUEDY}/agents/{agent['id']}", {"name": "Via Truedy"})
    assert renamed.status_code == 200, renamed.text
    assert etag_of(tenant, agent_path) != agent_etag


def test_lists_carry_each_items_version_and_etag(tenant: Tenant) -> None:
    numbers = [tenant.number(f"+1202555018{i}") for i in range(3)]
    tenant.patch(f"/v1/numbers/{numbers[1]['id']}", {"friendly_name": "changed"})
    agent = tenant.agent("outbound")
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [numbers[2]["e164"]]})
    listed = tenant.get("/v1/numbers").json()["data"]
    assert [n["version"] for n in listed] == [1, 2, 2]
    for item in listed:
        assert item["etag"] == etag_of(tenant, f"/v1/numbers/{item['id']}")
    batch = tenant.post("/v1/numbers/batch", {"numbers": [{"e164": "+12025550189"}]})
    assert batch.json()["data"][0]["version"] == 1
    agents = tenant.get("/v1/agents").json()["data"]
    assert [a["etag"] for a in agents] == [etag_of(tenant, f"/v1/agents/{agent['id']}")]
    held = tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]
    assert held[0]["etag"] == etag_of(tenant, f"/v1/numbers/{numbers[2]['id']}")


def test_another_workspaces_resource_is_404_whatever_the_condition(
    tenant: Tenant, other_tenant: Tenant, number_path: str
) -> None:
    etag = etag_of(tenant, number_path)
    assert fetch(other_tenant, number_path, **{"If-None-Match": etag}).status_code == 404
    stolen = change(
        other_tenant, "PATCH", number_path, {"friendly_name": "x"}, **{"If-Match": etag}
    )
    assert stolen.status_code == 404
    assert version_of(tenant, number_path) == 1


def test_the_document_describes_the_conditional_headers(tenant: Tenant) -> None:
    paths = tenant.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/numbers/{number}", "/v1/agents/{agent_id}"):
        read = {p["name"] for p in paths[path]["get"]["parameters"] if p["in"] == "header"}
        assert "If-None-Match" in read and "304" in paths[path]["get"]["responses"]
        for method in ("patch", "delete"):
            names = {p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"}
            assert {"If-Match", "If-None-Match"} <= names


async def _two_patches(
    servers: tuple[str, str], key: str, path: str, etag: str
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}", "If-Match": etag}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        return list(
            await asyncio.gather(
                *(
                    client.patch(f"{server}{path}", json={"friendly_name": f"writer {i}"})
                    for i, server in enumerate(servers)
                )
            )
        )


def test_two_concurrent_patches_with_one_etag_one_wins(
    tenant: Tenant, number_path: str, tmp_path: Path
) -> None:
    """25 rounds on two live servers, one PATCH to each with the ETag both read: one wins."""
    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as first,
        live_server(tenant.backend.url, tmp_path / "b.log") as second,
    ):
        for round_ in range(25):
            etag = etag_of(tenant, number_path)
            answers = asyncio.run(_two_patches((first, second), tenant.key, number_path, etag))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200, 412], [a.text for a in answers]
            winner = next(a for a in answers if a.status_code == 200).json()["data"]
            loser = next(a for a in answers if a.status_code == 412)
            assert loser.headers["ETag"] == winner["etag"]
            assert (
                fetch(tenant, number_path).json()["data"]["friendly_name"]
                == (winner["friendly_name"])
            )
            assert winner["version"] == round_ + 2
    assert len(tenant.events("number.updated")) == 25
