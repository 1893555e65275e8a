"""Bad input gets the right status and an error body naming the problem; nothing changes."""

from __future__ import annotations

import pytest

from tests.helpers import Tenant, error_code


def _raw(tenant: Tenant, method: str, path: str, content: bytes) -> tuple[int, dict[str, object]]:
    response = tenant.client.request(
        method, path, content=content, headers={**tenant.auth, "Content-Type": "application/json"}
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/agents"),
        ("POST", "/v1/numbers"),
        ("POST", "/v1/numbers/batch"),
        ("POST", "/v1/numbers/assign"),
        ("POST", "/v1/numbers/unassign"),
    ],
)
def test_malformed_json_is_400(tenant: Tenant, method: str, path: str) -> None:
    status, body = _raw(tenant, method, path, b'{"name": "x",')
    assert status == 400
    assert body["error"]["code"] == "malformed_json"  # type: ignore[index]


def test_malformed_json_on_put_and_patch(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    assert _raw(tenant, "PUT", f"/v1/agents/{agent['id']}/numbers", b"[1,")[0] == 400
    assert _raw(tenant, "PATCH", f"/v1/agents/{agent['id']}", b"nope")[0] == 400


def test_wrong_types_and_unknown_fields_are_422_naming_the_field(tenant: Tenant) -> None:
    cases = [
        ("/v1/agents", {"name": 5, "type": "outbound"}, "name"),
        ("/v1/agents", {"name": "x", "type": "sideways"}, "type"),
        ("/v1/agents", {"name": "x", "type": "inbound", "colour": "red"}, "colour"),
        ("/v1/agents", {"name": "x", "type": "inbound", "language": "not a tag"}, "language"),
        ("/v1/agents", {"name": "x", "type": "inbound", "webhook_url": "ftp://x"}, "webhook_url"),
        ("/v1/agents", {"name": "", "type": "inbound"}, "name"),
        ("/v1/numbers", {"e164": 16286666348}, "e164"),
        (
            "/v1/numbers",
            {"e164": "+16286666348", "monthly_cost_cents": "100"},
            "monthly_cost_cents",
        ),
        ("/v1/numbers", {"e164": "+16286666348", "monthly_cost_cents": -1}, "monthly_cost_cents"),
        (
            "/v1/numbers/batch",
            {"numbers": [{"e164": "+16286666348"}, {"e164": None}]},
            "numbers[1].e164",
        ),
        (
            "/v1/numbers/assign",
            {"number_id": "x", "agent_id": "y", "assignment_type": "both"},
            "assignment_type",
        ),
        (
            "/v1/numbers/assign",
            {"number_id": "x", "agent_id": "y", "assignment_type": "inbound", "replace": "yes"},
            "replace",
        ),
    ]
    for path, body, field in cases:
        response = tenant.post(path, body)
        assert response.status_code == 422, (path, body, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["details"]["errors"][0]["field"] == field, (body, error)
        assert field in error["message"]
    assert tenant.get("/v1/numbers").json()["data"] == []
    assert tenant.get("/v1/agents").json()["data"] == []


def test_attach_body_must_name_numbers(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    for body in (None, {}, {"phone_numbers": "+16286666348"}, {"slugs": ["1"]}):
        response = tenant.put(f"/v1/agents/{agent['id']}/numbers", body)
        assert response.status_code == 422, (body, response.text)
    impossible = tenant.put(
        f"/v1/agents/{agent['id']}/numbers", {"phone_number_slugs": ["16286666348", "1231242151"]}
    )
    assert impossible.status_code == 422
    assert impossible.json()["error"]["details"]["errors"][0]["field"] == "phone_number_slugs[1]"


def test_unknown_ids_are_404(tenant: Tenant) -> None:
    unknown_agent = "agt_00000000-0000-7000-8000-000000000000"
    for path in (
        f"/v1/agents/{unknown_agent}",
        "/v1/agents/garbage",
        "/v1/numbers/num_garbage",
        "/v1/numbers/num_00000000-0000-7000-8000-000000000000",
        "/v1/numbers/+12025550199",
    ):
        response = tenant.get(path)
        assert response.status_code == 404, path
        assert error_code(response).endswith("_not_found")
    response = tenant.put(f"/v1/agents/{unknown_agent}/numbers", {"phone_numbers": []})
    assert error_code(response) == "agent_not_found"
    response = tenant.post(
        "/v1/numbers/assign",
        {"number_id": "+12025550199", "agent_id": unknown_agent, "assignment_type": "inbound"},
    )
    assert response.status_code == 404


def test_unknown_route_and_method(tenant: Tenant) -> None:
    assert error_code(tenant.get("/v1/nothing-here")) == "route_not_found"
    response = tenant.client.request("TRACE", "/v1/agents", headers=tenant.auth)
    assert response.status_code == 405


def test_oversized_body_is_413(tenant: Tenant) -> None:
    status, body = _raw(tenant, "POST", "/v1/numbers/batch", b" " * (3 * 1024 * 1024))
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"  # type: ignore[index]


def test_query_parameters_are_validated(tenant: Tenant) -> None:
    for params in (
        {"limit": "0"},
        {"limit": "ten"},
        {"assignment": "sideways"},
        {"number_type": "pager"},
    ):
        response = tenant.get("/v1/numbers", params=params)
        assert response.status_code == 422, params
        assert error_code(response) == "invalid_request"


def test_text_no_database_can_store_is_422(tenant: Tenant) -> None:
    # JSON can carry NUL characters and unpaired surrogates; PostgreSQL cannot store them.
    bodies = [
        b'{"name": "a\\u0000b", "type": "inbound"}',
        b'{"name": "a", "type": "inbound", "metadata": {"k\\u0000": 1}}',
        b'{"name": "a", "type": "inbound", "tools": [{"x": "\\ud83d"}]}',
    ]
    for body in bodies:
        status, reply = _raw(tenant, "POST", "/v1/agents", body)
        assert status == 422, (body, reply)
        assert reply["error"]["code"] == "invalid_request"  # type: ignore[index]
    assert tenant.get("/v1/agents").json()["data"] == []
    search = tenant.get("/v1/numbers", params={"q": "a\x00b"})
    expected = (422, "unstorable_value") if tenant.backend.name == "postgresql" else (200, None)
    assert (search.status_code, search.json().get("error", {}).get("code")) == expected
