"""API keys (missing, invalid, revoked) and tenancy: another workspace's ids are simply 404."""

from __future__ import annotations

import pytest

from callplane.core import ids
from callplane.workspaces.service import revoke_key
from tests.helpers import Tenant, error_code

N1 = "+12025550111"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("Bearer", "malformed_authorization"),
        ("Basic abc", "malformed_authorization"),
        ("sk_live_a-key-sent-without-its-scheme", "malformed_authorization"),
        ("Bearer sk_live_not-a-real-key-000000", "invalid_api_key"),
    ],
)
def test_missing_or_invalid_key_is_401(tenant: Tenant, header: str | None, code: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = tenant.client.get("/v1/numbers", headers=headers)
    assert response.status_code == 401
    assert error_code(response) == code
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_key_without_its_scheme_is_told_the_fix_and_never_echoed(tenant: Tenant) -> None:
    response = tenant.client.get("/v1/numbers", headers={"Authorization": tenant.key})
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "Bearer <api key>" in message
    assert tenant.key not in response.text


def test_revoked_key_is_401(tenant: Tenant) -> None:
    assert tenant.get("/v1/workspace").status_code == 200
    key_event = tenant.events("api_key.created")[0]
    key_id = ids.parse("api_key", key_event["resource_ids"][0])
    assert key_id is not None
    with tenant.backend.database.transaction() as session:
        revoke_key(session, key_id)
    response = tenant.get("/v1/workspace")
    assert response.status_code == 401
    assert error_code(response) == "revoked_api_key"


def test_health_needs_no_key_and_every_response_has_a_request_id(tenant: Tenant) -> None:
    assert tenant.client.get("/healthz").json() == {"status": "ok"}
    assert tenant.client.get("/readyz").json()["database"] == "ok"
    response = tenant.client.get(
        "/v1/workspace", headers={**tenant.auth, "X-Request-ID": "abc-123"}
    )
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["meta"]["request_id"] == "abc-123"
    generated = tenant.client.get("/v1/workspace", headers={"X-Request-ID": "bad id\r\n"})
    assert generated.headers["x-request-id"].startswith("req_")
    assert generated.json()["meta"]["request_id"] == generated.headers["x-request-id"]


def test_other_workspace_resources_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    agent = other_tenant.agent("outbound")
    inbound = other_tenant.agent("inbound")
    number = other_tenant.number(N1)
    mine = tenant.agent("outbound")

    assert tenant.get(f"/v1/agents/{agent['id']}").status_code == 404
    assert tenant.patch(f"/v1/agents/{agent['id']}", {"name": "x"}).status_code == 404
    assert tenant.delete(f"/v1/agents/{agent['id']}").status_code == 404
    assert tenant.get(f"/v1/agents/{agent['id']}/numbers").status_code == 404
    for reference in (number["id"], N1, N1[1:]):
        response = tenant.get(f"/v1/numbers/{reference}")
        assert response.status_code == 404
        assert error_code(response) == "number_not_found"
    assert tenant.delete(f"/v1/numbers/{number['id']}").status_code == 404
    attach = tenant.put(f"/v1/agents/{mine['id']}/numbers", {"number_ids": [number["id"]]})
    assert attach.status_code == 404
    assert attach.json()["error"]["details"]["missing"][0]["value"] == number["id"]
    cross = tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    assert cross.status_code == 404
    assert tenant.get("/v1/numbers").json()["data"] == []
    assert tenant.get("/v1/agents").json()["data"] == [mine]
    assert all(e["type"] != "number.imported" for e in tenant.events())
    # B still sees its own untouched number.
    assert (
        other_tenant.get(f"/v1/numbers/{number['id']}").json()["data"]["outbound_agent_ids"] == []
    )


def test_a_number_exists_once_in_the_installation(tenant: Tenant, other_tenant: Tenant) -> None:
    other_tenant.number(N1)
    response = tenant.post("/v1/numbers", {"e164": N1})
    assert response.status_code == 409
    assert error_code(response) == "number_not_available"  # not who holds it, nor how


def test_workspace_settings_keep_the_twilio_token_secret(tenant: Tenant) -> None:
    token = "twilio-secret-token-0123456789abcdef"
    response = tenant.patch(
        "/v1/workspace",
        {
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": token,
            "default_stream_url": "wss://media.example.com/stream",
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["twilio_auth_token_set"] is True
    assert data["default_stream_url"] == "wss://media.example.com/stream"
    assert token not in response.text
    assert token not in tenant.get("/v1/workspace").text
    assert token not in tenant.get("/v1/events").text
    assert tenant.events("workspace.updated")[0]["after"]["twilio_auth_token"] == "set"
    bad = tenant.patch("/v1/workspace", {"default_stream_url": "http://not-a-websocket"})
    assert bad.status_code == 422
    not_ascii = tenant.patch("/v1/workspace", {"twilio_auth_token": "tokén-with-ünïcode-123"})
    assert not_ascii.status_code == 422
