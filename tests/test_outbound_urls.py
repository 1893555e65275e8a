"""URLs callplane hands to others (webhooks, media streams, SIP fallbacks) must be public."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from tests.helpers import Tenant, error_code, settings_for

PRIVATE_WEBHOOKS = [
    "http://127.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://10.1.2.3/",
    "http://192.168.0.10/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://localhost:9000/",
    "http://metadata.google.internal/",
    "http://0.0.0.0/",
]


def _refusal(response_json: dict[str, object]) -> tuple[str, str]:
    error = response_json["error"]
    assert isinstance(error, dict)
    first = error["details"]["errors"][0]
    return str(first["type"]), str(first["message"])


@pytest.mark.parametrize("url", PRIVATE_WEBHOOKS)
def test_private_webhook_urls_are_422(tenant: Tenant, url: str) -> None:
    response = tenant.post("/v1/agents", {"name": "A", "type": "outbound", "webhook_url": url})
    assert response.status_code == 422, url
    kind, message = _refusal(response.json())
    assert kind == "private_url", (url, kind)
    assert "CALLPLANE_ALLOW_PRIVATE_URLS" in message


def test_credentials_stream_and_sip_urls_are_checked_too(tenant: Tenant) -> None:
    agent = tenant.agent()
    for body, kind in (
        ({"webhook_url": "https://user:pass@hooks.example.com/x"}, "url_credentials"),
        ({"webhook_url": "https://token@hooks.example.com/x"}, "url_credentials"),
        ({"stream_url": "ws://169.254.169.254/stream"}, "private_url"),
        ({"stream_url": "wss://[::1]/stream"}, "private_url"),
    ):
        response = tenant.patch(f"/v1/agents/{agent['id']}", body)
        assert response.status_code == 422, body
        assert _refusal(response.json())[0] == kind
    response = tenant.patch("/v1/workspace", {"default_stream_url": "ws://127.0.0.1:9000/s"})
    assert response.status_code == 422
    number = tenant.number("+12025550160")
    for destination, kind in (
        ("sip:desk@10.0.0.7:5060;transport=tcp", "private_url"),
        ("sip:desk:secret@sip.example.com", "url_credentials"),
    ):
        response = tenant.patch(
            f"/v1/numbers/{number['id']}",
            {"fallback_action": "forward", "fallback_destination": destination},
        )
        assert response.status_code == 422, destination
        assert _refusal(response.json())[0] == kind


def test_public_urls_are_stored_as_written(tenant: Tenant) -> None:
    agent = tenant.agent(
        webhook_url="https://hooks.example.com:8443/calls?x=1",
        stream_url="wss://media.example.com/stream",
    )
    assert agent["webhook_url"] == "https://hooks.example.com:8443/calls?x=1"
    number = tenant.number("+12025550161")
    forwarded = tenant.patch(
        f"/v1/numbers/{number['id']}",
        {"fallback_action": "forward", "fallback_destination": "sip:desk@sip.example.com"},
    )
    assert forwarded.status_code == 200, forwarded.text


def test_the_operator_can_allow_private_urls(tenant: Tenant) -> None:
    settings = settings_for(tenant.backend).model_copy(update={"allow_private_urls": True})
    with TestClient(create_app(settings, tenant.backend.database)) as client:
        response = client.post(
            "/v1/agents",
            json={"name": "Local", "type": "outbound", "webhook_url": "http://127.0.0.1:9000/"},
            headers=tenant.auth,
        )
        assert response.status_code == 201, response.text
        # Credentials stay refused even then: they would end up in logs and in other systems.
        response = client.post(
            "/v1/agents",
            json={"name": "Local", "type": "outbound", "webhook_url": "http://u:p@127.0.0.1/"},
            headers=tenant.auth,
        )
        assert error_code(response) == "invalid_request"
