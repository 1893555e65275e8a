"""One error shape and one voice on the native API: details are always an object, field
errors are ``[{field, message, type}]``, and the usual slips are told their fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import Tenant

N1 = "+16286666348"


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["details"], dict)
    return dict(error)


def _field_errors(error: dict[str, Any]) -> list[dict[str, Any]]:
    errors = error["details"]["errors"]
    assert errors
    for item in errors:
        assert {"field", "message", "type"} <= set(item), item
    return list(errors)


def test_malformed_json_names_where_and_the_fix(tenant: Tenant) -> None:
    response = tenant.client.post(
        "/v1/numbers",
        content=b'{"e164": "+16286666348",}',
        headers={**tenant.auth, "Content-Type": "application/json"},
    )
    error = _error(response, 400, "malformed_json")
    assert "Content-Type: application/json" in error["message"]
    assert _field_errors(error) == [
        {"field": "body", "message": "not valid JSON at character 25", "type": "json_invalid"}
    ]
    assert "Expecting" not in response.text  # the json module's words stay out


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", json.dumps({"e164": N1}).encode()),
        ("application/x-www-form-urlencoded", b"e164=%2B16286666348"),
    ],
)
def test_a_body_that_is_not_sent_as_json_is_told_to_be(
    tenant: Tenant, content_type: str, content: bytes
) -> None:
    response = tenant.client.post(
        "/v1/numbers", content=content, headers={**tenant.auth, "Content-Type": content_type}
    )
    error = _error(response, 422, "invalid_content_type")
    assert content_type in error["message"]
    assert "Content-Type: application/json" in error["message"]
    assert _field_errors(error)[0]["field"] == "body"
    assert "valid dictionary" not in response.text
    assert tenant.get("/v1/numbers").json()["data"] == []


def test_a_missing_body_is_told_what_to_send(tenant: Tenant) -> None:
    response = tenant.client.post("/v1/numbers", headers=tenant.auth)
    error = _error(response, 422, "invalid_request")
    assert _field_errors(error)[0]["field"] == "body"
    assert "Content-Type: application/json" in error["message"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("+0123456", "country calling code"),
        ("+999123456", "country calling code"),
        ("+12", "too short"),
    ],
)
def test_phone_number_refusals_are_in_callplanes_words(
    tenant: Tenant, value: str, reason: str
) -> None:
    error = _error(tenant.post("/v1/numbers", {"e164": value}), 422, "invalid_phone_number")
    assert reason in error["message"]
    assert "(0)" not in error["message"]
    assert "Could not interpret" not in error["message"]
    assert _field_errors(error) == [
        {
            "field": "e164",
            "message": error["message"],
            "type": "invalid_phone_number",
            "value": value,
        }
    ]


def test_a_single_field_refusal_of_a_service_has_the_validation_shape(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    response = tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": "num_missing"})
    error = _error(response, 422, "primary_number_not_attached")
    assert _field_errors(error)[0]["field"] == "primary_number_id"
    assert _field_errors(error)[0]["type"] == "primary_number_not_attached"


def test_an_unencoded_plus_in_a_query_string_is_told_to_be_encoded(tenant: Tenant) -> None:
    response = tenant.get("/v1/routing/inbound?to=+16286666348")
    error = _error(response, 422, "invalid_phone_number")
    assert "%2B" in error["message"]
    assert _field_errors(error)[0]["field"] == "to"


def test_the_routing_question_without_to_is_a_field_error(tenant: Tenant) -> None:
    error = _error(tenant.get("/v1/routing/inbound"), 422, "invalid_request")
    assert _field_errors(error) == [{"field": "to", "message": "Field required", "type": "missing"}]
    assert "%2B" in error["message"]  # how to write the '+' in a query string


def test_errors_without_fields_still_carry_an_object(tenant: Tenant) -> None:
    _error(tenant.get("/v1/nowhere"), 404, "route_not_found")
    assert _error(tenant.get("/v1/agents/agt_missing"), 404, "agent_not_found")["details"] == {
        "resource": "agent",
        "id": "agt_missing",
    }
    refused = _error(tenant.put("/v1/numbers/assign", {}), 405, "method_not_allowed")
    assert refused["details"] == {}
    assert "POST" in refused["message"]
    missing = _error(tenant.client.get("/v1/numbers"), 401, "missing_api_key")
    assert missing["details"] == {}
