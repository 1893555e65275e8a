"""The Python client's ``webhook_endpoints`` against the app in process (sync and async), and
``callplane webhooks …`` against a live ``callplane serve`` whose own worker delivers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from click.testing import Result
from standardwebhooks import Webhook
from typer.testing import CliRunner

from callplane.app import create_app
from callplane.cli import app as cli
from callplane.client import AsyncClient, NotFound, ValidationError
from callplane.commands.exit_codes import ExitCode
from callplane.settings import get_settings
from tests.client_support import client_for
from tests.helpers import SECRET, Backend, Tenant, settings_for, wide_cli_tables
from tests.live_server import live_server
from tests.webhooks.support import Receiver, worker_for


def test_the_client_manages_endpoints_and_reads_deliveries(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    with client_for(hooks) as client:
        types = client.webhook_endpoints.event_types()
        assert "agent.created" in {t.type for t in types}
        created = client.webhook_endpoints.create(
            receiver.url(), event_types=["agent.created"], description="CRM"
        )
        assert created.secret.startswith("whsec_") and created.description == "CRM"
        with pytest.raises(ValidationError) as refused:
            client.webhook_endpoints.create(receiver.url(), event_types=["agent.exploded"])
        assert refused.value.code == "unknown_event_type"
        assert [e.id for e in client.webhook_endpoints.list()] == [created.id]
        assert client.webhook_endpoints.get(created.id).secret_hint == created.secret_hint

        client.agents.create("Desk", "inbound")
        worker_for(backend).run_once()
        (delivery,) = client.webhook_endpoints.list_deliveries(created.id)
        assert (delivery.status, delivery.response_status) == ("succeeded", 200)
        assert list(client.webhook_endpoints.list_deliveries(created.id, status="failed")) == []
        again = client.webhook_endpoints.redeliver(created.id, delivery.id)
        assert again.status == "pending"
        assert client.webhook_endpoints.redeliver_failed(created.id) == 0

        rotated = client.webhook_endpoints.rotate_secret(created.id, overlap_seconds=60)
        assert rotated.secret != created.secret and rotated.previous_secret_expires_at
        worker_for(backend).run_once()
        got = receiver.received[-1]
        for secret in (created.secret, rotated.secret):
            Webhook(secret).verify(got.body, got.headers)

        off = client.webhook_endpoints.update(created.id, enabled=False, description=None)
        assert (off.enabled, off.disabled_reason, off.description) == (False, "manual", None)
        assert client.webhook_endpoints.delete(created.id).id == created.id
        with pytest.raises(NotFound):
            client.webhook_endpoints.get(created.id)


def test_the_async_client_has_the_same_calls(backend: Backend, hooks: Tenant) -> None:
    settings = settings_for(backend).model_copy(update={"webhooks_allow_http": True})
    app = create_app(settings, backend.database)

    async def main() -> None:
        async with (
            app.router.lifespan_context(app),
            httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)) as http,
        ):
            client = AsyncClient("http://testserver", hooks.key, http_client=http)
            created = await client.webhook_endpoints.create("https://hooks.example.com/a")
            assert created.event_types == ["*"]
            listed = [e.id async for e in client.webhook_endpoints.list()]
            assert listed == [created.id]
            changed = await client.webhook_endpoints.update(created.id, url="http://h.example")
            assert changed.url == "http://h.example"
            rotated = await client.webhook_endpoints.rotate_secret(created.id)
            assert rotated.secret != created.secret
            sent = [
                d.event_type async for d in client.webhook_endpoints.list_deliveries(created.id)
            ]
            assert sent == [
                "webhook_endpoint.secret_rotated",
                "webhook_endpoint.updated",
                "webhook_endpoint.created",  # an endpoint for every type hears of its own birth
            ]
            assert await client.webhook_endpoints.redeliver_failed(created.id) == 0
            assert len(await client.webhook_endpoints.event_types()) > 20
            await client.webhook_endpoints.delete(created.id)
            with pytest.raises(NotFound):
                await client.webhook_endpoints.get(created.id)

    asyncio.run(main())


@pytest.fixture
def server(backend: Backend, hooks: Tenant, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A live server that may post to loopback over http, its worker polling quickly."""
    get_settings.cache_clear()
    extra = {
        "CALLPLANE_ALLOW_PRIVATE_URLS": "true",
        "CALLPLANE_WEBHOOKS_ALLOW_HTTP": "true",
        "CALLPLANE_WEBHOOKS_POLL_SECONDS": "0.1",
    }
    with wide_cli_tables(), live_server(backend.url, tmp_path / "server.log", extra) as base_url:
        yield {
            "CALLPLANE_URL": base_url,
            "CALLPLANE_API_KEY": hooks.key,
            "DATABASE_URL": backend.url,
            "CALLPLANE_SECRET_KEY": SECRET,
        }
    get_settings.cache_clear()


def ok(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == ExitCode.OK, result.output
    return result


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server's worker did not deliver in time"
        time.sleep(0.05)


def test_the_cli_and_the_servers_own_worker(server: dict[str, str], receiver: Receiver) -> None:
    created = json.loads(
        ok(
            server,
            "webhooks",
            "create",
            receiver.url(),
            "--event-type",
            "agent.created",
            "--description",
            "CRM",
            "--json",
        ).stdout
    )
    endpoint_id, secret = created["id"], created["secret"]
    ok(server, "agents", "create", "Desk", "--type", "inbound")
    wait_for(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "agent.created"

    listed = ok(server, "webhooks", "list").stdout
    assert endpoint_id in listed and secret not in listed
    shown = ok(server, "webhooks", "show", endpoint_id).stdout
    assert "CRM" in shown and secret not in shown
    wait_for(
        lambda: (
            json.loads(ok(server, "webhooks", "deliveries", endpoint_id, "--json").stdout)[0][
                "status"
            ]
            == "succeeded"
        )
    )
    (delivery,) = json.loads(ok(server, "webhooks", "deliveries", endpoint_id, "--json").stdout)
    ok(server, "webhooks", "redeliver", endpoint_id, delivery["id"])
    wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received[1].headers["webhook-id"] == got.headers["webhook-id"]
    assert "0 deliveries" in ok(server, "webhooks", "redeliver-failed", endpoint_id).stdout

    rotated = json.loads(
        ok(
            server, "webhooks", "rotate-secret", endpoint_id, "--overlap-seconds", "0", "--json"
        ).stdout
    )
    assert rotated["secret"] != secret
    disabled = json.loads(
        ok(server, "webhooks", "update", endpoint_id, "--disable", "--json").stdout
    )
    assert (disabled["enabled"], disabled["disabled_reason"]) == (False, "manual")
    assert "agent.created" in ok(server, "webhooks", "event-types").stdout
    assert endpoint_id in ok(server, "webhooks", "delete", endpoint_id).stdout
    missing = CliRunner().invoke(cli, ["webhooks", "show", endpoint_id], env=server)
    assert missing.exit_code == ExitCode.ERROR
    assert "webhook_endpoint_not_found" in missing.stderr


def test_callplane_worker_delivers_too(hooks: Tenant, backend: Backend, receiver: Receiver) -> None:
    """Deployments that run the worker apart: ``callplane worker`` works the outbox as well."""
    created = hooks.post(
        "/v1/webhook-endpoints", {"url": receiver.url(), "event_types": ["agent.created"]}
    ).json()["data"]
    hooks.agent()
    env = {
        "DATABASE_URL": backend.url,
        "CALLPLANE_SECRET_KEY": SECRET,
        "CALLPLANE_ALLOW_PRIVATE_URLS": "true",
        "CALLPLANE_WEBHOOKS_ALLOW_HTTP": "true",
    }
    get_settings.cache_clear()
    try:
        result = ok(env, "worker", "--once")
    finally:
        get_settings.cache_clear()
    assert "0 release(s) attempted, 1 webhook delivery attempt(s)" in result.stdout
    (got,) = receiver.received
    assert Webhook(created["secret"]).verify(got.body, got.headers)["type"] == "agent.created"
