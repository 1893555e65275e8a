"""/v1/webhook-endpoints over HTTP: the lifecycle, the secret shown once, tenancy, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from callplane.core import crypto
from callplane.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.helpers import Backend, Tenant, error_code
from tests.webhooks.support import endpoint

HOOK = "https://hooks.example.com/callplane"


def counts(backend: Backend) -> tuple[int, int, int]:
    """Endpoints, deliveries and events in the database: what a refused request must not move."""
    with backend.database.session(write=False) as session:
        return (
            session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0,
            session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0,
            session.scalar(text("SELECT count(*) FROM events")) or 0,
        )


def test_create_show_once_list_update_delete(hooks: Tenant, backend: Backend) -> None:
    created = endpoint(hooks, HOOK, event_types=["agent.created", "number.imported"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    assert created["secret_hint"] == "****" + secret[-4:]
    assert created["id"].startswith("we_") and created["enabled"] is True
    assert created["event_types"] == ["agent.created", "number.imported"]

    shown = hooks.get(f"/v1/webhook-endpoints/{created['id']}")
    assert shown.status_code == 200
    assert "secret" not in shown.json()["data"] and secret not in shown.text
    listed = hooks.get("/v1/webhook-endpoints")
    assert [e["id"] for e in listed.json()["data"]] == [created["id"]]
    assert secret not in listed.text
    with backend.database.engine.connect() as connection:
        stored = connection.execute(text("SELECT secret FROM webhook_endpoints")).scalar_one()
    assert secret not in stored and crypto.current().open(stored) == secret

    changed = hooks.patch(
        f"/v1/webhook-endpoints/{created['id']}",
        {
            "url": "https://hooks.example.com/v2",
            "event_types": ["*"],
            "enabled": False,
            "description": "Billing sync",
        },
    )
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert (data["url"], data["event_types"], data["enabled"], data["disabled_reason"]) == (
        "https://hooks.example.com/v2",
        ["*"],
        False,
        "manual",
    )
    assert data["description"] == "Billing sync"
    cleared = hooks.patch(f"/v1/webhook-endpoints/{created['id']}", {"description": None})
    assert cleared.json()["data"]["description"] is None

    deleted = hooks.delete(f"/v1/webhook-endpoints/{created['id']}")
    assert deleted.status_code == 200
    assert hooks.get(f"/v1/webhook-endpoints/{created['id']}").status_code == 404
    types = [e["type"] for e in reversed(hooks.events())]
    assert types[-4:] == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]
    audit = hooks.get("/v1/events").text
    assert secret not in audit and "whsec_" not in audit


def test_event_types_are_listed_and_subscriptions_deduplicated(hooks: Tenant) -> None:
    listed = hooks.get("/v1/event-types").json()["data"]
    names = [t["type"] for t in listed]
    assert "number.imported" in names and "webhook_endpoint.disabled" in names
    assert all(t["description"] for t in listed)
    created = endpoint(hooks, HOOK, event_types=["agent.created", "agent.created"])
    assert created["event_types"] == ["agent.created"]
    everything = endpoint(hooks, HOOK, event_types=["agent.created", "*"])
    assert everything["event_types"] == ["*"]


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"url": HOOK, "event_types": ["agent.created", "agent.exploded"]}, "unknown_event_type"),
    ({"url": HOOK, "event_types": []}, "invalid_request"),
    ({"url": "not a url"}, "invalid_request"),
    ({"url": "ftp://hooks.example.com/x"}, "invalid_request"),
    ({"url": "https://user:pass@hooks.example.com/x"}, "invalid_request"),
    ({"url": HOOK, "secret": "whsec_mine"}, "invalid_request"),
    ({"url": HOOK, "enabled": "yes"}, "invalid_request"),
]


@pytest.mark.parametrize(("body", "code"), BAD_CREATES)
def test_bad_input_is_a_clear_422_and_changes_nothing(
    hooks: Tenant, backend: Backend, body: dict[str, Any], code: str
) -> None:
    before = counts(backend)
    response = hooks.post("/v1/webhook-endpoints", body)
    assert response.status_code == 422, response.text
    assert error_code(response) == code
    assert counts(backend) == before


def test_an_unknown_event_type_is_named(hooks: Tenant, backend: Backend) -> None:
    response = hooks.post(
        "/v1/webhook-endpoints", {"url": HOOK, "event_types": ["agent.exploded", "number.imported"]}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["errors"][0]["unknown"] == ["agent.exploded"]
    assert "agent.exploded" in error["message"]
    created = endpoint(hooks, HOOK, event_types=["agent.created"])
    before = counts(backend)
    refused = hooks.patch(
        f"/v1/webhook-endpoints/{created['id']}", {"event_types": ["agent.created", "nope.nope"]}
    )
    assert refused.status_code == 422 and error_code(refused) == "unknown_event_type"
    assert counts(backend) == before
    shown = hooks.get(f"/v1/webhook-endpoints/{created['id']}").json()["data"]
    assert shown["event_types"] == ["agent.created"]


def test_http_is_refused_unless_allowed_and_private_hosts_always(tenant: Tenant) -> None:
    """The default app: https only, public hosts only."""
    plain = tenant.post("/v1/webhook-endpoints", {"url": "http://hooks.example.com/x"})
    assert plain.status_code == 422 and error_code(plain) == "webhook_url_not_https"
    assert "CALLPLANE_WEBHOOKS_ALLOW_HTTP" in plain.json()["error"]["message"]
    for url in (
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:8443/",
        "https://[fe80::1]/",
        "https://localhost/hook",
    ):
        response = tenant.post("/v1/webhook-endpoints", {"url": url})
        assert response.status_code == 422, url
        first = response.json()["error"]["details"]["errors"][0]
        assert first["type"] == "private_url", url
    assert tenant.get("/v1/webhook-endpoints").json()["data"] == []
    created = tenant.post("/v1/webhook-endpoints", {"url": HOOK})
    assert created.status_code == 201
    moved = tenant.patch(
        f"/v1/webhook-endpoints/{created.json()['data']['id']}", {"url": "http://hooks.example.com"}
    )
    assert moved.status_code == 422 and error_code(moved) == "webhook_url_not_https"


def test_another_workspaces_endpoint_is_404(hooks: Tenant, other: Tenant, backend: Backend) -> None:
    theirs = endpoint(other, HOOK)
    other.post("/v1/agents", {"name": "Theirs", "type": "inbound"})
    path = f"/v1/webhook-endpoints/{theirs['id']}"
    for response in (
        hooks.get(path),
        hooks.patch(path, {"enabled": False}),
        hooks.delete(path),
        hooks.post(f"{path}/rotate-secret", {}),
        hooks.get(f"{path}/deliveries"),
        hooks.post(f"{path}/deliveries/redeliver-failed"),
    ):
        assert response.status_code == 404, response.text
        assert error_code(response) == "webhook_endpoint_not_found"
    assert hooks.get("/v1/webhook-endpoints").json()["data"] == []
    found = other.get(f"{path}/deliveries").json()["data"]
    assert [d["event_type"] for d in found] == ["agent.created", "webhook_endpoint.created"]
    delivery = found[0]
    mine = endpoint(hooks, HOOK)
    before = counts(backend)
    mine_path = f"/v1/webhook-endpoints/{mine['id']}/deliveries"
    foreign = hooks.post(f"{mine_path}/{delivery['id']}/redeliver")
    assert foreign.status_code == 404 and error_code(foreign) == "webhook_delivery_not_found"
    garbage = hooks.post(f"{mine_path}/whd_garbage/redeliver")
    assert garbage.status_code == 404
    assert counts(backend) == before
    assert other.get(path).json()["data"]["enabled"] is True


def test_a_bad_status_filter_and_overlap_are_422(hooks: Tenant) -> None:
    created = endpoint(hooks, HOOK)
    path = f"/v1/webhook-endpoints/{created['id']}"
    assert hooks.get(f"{path}/deliveries", params={"status": "lost"}).status_code == 422
    too_long = hooks.post(f"{path}/rotate-secret", {"overlap_seconds": 10**9})
    assert too_long.status_code == 422
    negative = hooks.post(f"{path}/rotate-secret", {"overlap_seconds": -1})
    assert negative.status_code == 422
    assert hooks.patch(path, {"url": None}).status_code == 422


def test_rotation_shows_the_new_secret_once(hooks: Tenant, backend: Backend) -> None:
    created = endpoint(hooks, HOOK)
    rotated = hooks.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {})
    assert rotated.status_code == 200, rotated.text
    data = rotated.json()["data"]
    assert data["secret"] != created["secret"] and data["secret"].startswith("whsec_")
    assert data["previous_secret_expires_at"] is not None
    shown = hooks.get(f"/v1/webhook-endpoints/{created['id']}")
    assert data["secret"] not in shown.text and created["secret"] not in shown.text
    assert shown.json()["data"]["secret_hint"] == "****" + data["secret"][-4:]
    at_once = hooks.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {"overlap_seconds": 0}
    )
    assert at_once.json()["data"]["previous_secret_expires_at"] is None
    assert "webhook_endpoint.secret_rotated" in [e["type"] for e in hooks.events()]


def test_lists_page_like_every_list(hooks: Tenant) -> None:
    made = [endpoint(hooks, f"{HOOK}/{i}")["id"] for i in range(5)]
    first = hooks.get("/v1/webhook-endpoints", params={"limit": 2}).json()
    assert [e["id"] for e in first["data"]] == made[:2]
    assert first["pagination"]["has_more"] is True
    cursor = first["pagination"]["next_cursor"]
    rest = hooks.get("/v1/webhook-endpoints", params={"limit": 10, "cursor": cursor}).json()
    assert [e["id"] for e in rest["data"]] == made[2:]


def test_the_routes_are_in_the_openapi_document(hooks: Tenant) -> None:
    paths = hooks.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/webhook-endpoints",
        "/v1/webhook-endpoints/{endpoint_id}",
        "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries/redeliver-failed",
        "/v1/event-types",
    ):
        assert path in paths, path
    created = paths["/v1/webhook-endpoints"]["post"]["responses"]["201"]
    assert "EndpointWithSecret" in str(created)
