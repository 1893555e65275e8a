"""Crash-safe purchases: an intent before the provider call, recovery after, reconciliation."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from callplane.app import create_app
from callplane.cli import app as cli
from callplane.core import ids
from callplane.core.context import Actor
from callplane.providers import intents
from callplane.providers.models import PurchaseIntent
from callplane.providers.recovery import Reconciler
from callplane.providers.releases import Policy, ReleaseWorker
from callplane.settings import get_settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, fake_twilio
from tests.helpers import SECRET, Backend, Tenant, make_tenant, settings_for
from tests.live_server import free_port

NOW = dt.timedelta(0)
POLICY = Policy(backoff_seconds=0.01, backoff_max_seconds=0.01, max_attempts=5, lease_seconds=30)


@dataclass
class Setup:
    tenant: Tenant
    twilio: FakeTwilio
    reconciler: Reconciler
    worker: ReleaseWorker


@pytest.fixture
def setup(backend: Backend) -> Iterator[Setup]:
    with fake_twilio() as twilio:
        settings = settings_for(backend).model_copy(update={"twilio_api_base_url": twilio.url})
        app = create_app(settings, backend.database)
        with TestClient(app, raise_server_exceptions=False) as client:
            tenant = make_tenant(backend, client, "buyer")
            tenant.patch(
                "/v1/workspace",
                {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN},
            )
            providers = app.state.providers
            reconciler = Reconciler(backend.database, providers, intent_age=NOW)
            worker = ReleaseWorker(backend.database, providers, POLICY)
            yield Setup(tenant, twilio, reconciler, worker)


def actor_of(tenant: Tenant) -> Actor:
    workspace_id = ids.parse("workspace", tenant.workspace_id)
    assert workspace_id is not None
    return Actor(workspace_id, None, None)


def intent_statuses(backend: Backend) -> dict[str, str]:
    with backend.database.session(write=False) as session:
        rows = session.execute(select(PurchaseIntent.e164, PurchaseIntent.status)).all()
    return {e164: status for e164, status in rows}


def test_a_purchase_records_and_completes_its_intents(setup: Setup, backend: Backend) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    bought = setup.tenant.post(
        "/v1/numbers/purchase", {"provider": "twilio", "phone_numbers": ["+14155550100"]}
    )
    assert bought.status_code == 201, bought.text
    assert intent_statuses(backend) == {"+14155550100": "completed"}
    assert setup.reconciler.recover_purchases() == []


def test_a_failed_undo_is_recovered_as_purchased_and_later_released(
    setup: Setup, backend: Backend
) -> None:
    """The reported loss: paid at the provider, missing here, and never released once found."""
    setup.twilio.for_sale = ["+14155550100"]  # the second is not for sale: the request fails
    setup.twilio.fail("DELETE", times=1, status=503, code=20500)  # and so does its undo
    response = setup.tenant.post(
        "/v1/numbers/purchase",
        {"provider": "twilio", "phone_numbers": ["+14155550100", "+14155550101"]},
    )
    assert response.status_code == 409, response.text
    assert setup.tenant.get("/v1/numbers").json()["data"] == []
    assert [r["phone_number"] for r in setup.twilio.owned.values()] == ["+14155550100"]
    assert intent_statuses(backend) == {"+14155550100": "pending", "+14155550101": "pending"}

    kinds = {f.e164: f.kind for f in setup.reconciler.recover_purchases()}
    assert kinds == {"+14155550100": "adopted_purchase", "+14155550101": "abandoned_intent"}
    assert intent_statuses(backend) == {"+14155550100": "adopted", "+14155550101": "abandoned"}
    [number] = setup.tenant.get("/v1/numbers").json()["data"]
    assert (number["e164"], number["source"], number["verified_by"]) == (
        "+14155550100",
        "purchased",
        "provider",
    )
    assert setup.tenant.events("number.purchase_recovered")
    assert setup.tenant.delete("/v1/numbers/+14155550100").status_code == 200
    assert setup.worker.run_once() == 1
    assert setup.twilio.owned == {}  # released: the subscription is cancelled


def test_young_intents_belong_to_running_requests(setup: Setup, backend: Backend) -> None:
    setup.twilio.own("+14155550100")
    with backend.database.transaction() as session:
        intents.record(session, actor_of(setup.tenant), "twilio", ["+14155550100"])
    patient = Reconciler(
        backend.database, setup.reconciler.providers, intent_age=dt.timedelta(minutes=10)
    )
    assert patient.recover_purchases() == []
    assert patient.reconcile() == []  # not even reported as an orphan while in flight
    assert intent_statuses(backend) == {"+14155550100": "pending"}
    assert [f.kind for f in setup.reconciler.recover_purchases()] == ["adopted_purchase"]


def test_reconcile_reports_orphans_and_numbers_gone_at_the_provider(
    setup: Setup, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    setup.tenant.post(
        "/v1/numbers/purchase", {"provider": "twilio", "phone_numbers": ["+14155550100"]}
    )
    setup.twilio.owned.clear()  # released in Twilio's console
    setup.twilio.own("+14155550177")  # bought in Twilio's console
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", SECRET)
    monkeypatch.setenv("CALLPLANE_TWILIO_API_BASE_URL", setup.twilio.url)
    get_settings.cache_clear()
    try:
        report = CliRunner().invoke(cli, ["reconcile", "--provider", "twilio"])
        assert report.exit_code == 0, report.output
        assert "+14155550177" in report.output and "orphan" in report.output
        assert "+14155550100" in report.output and "missing_at_provider" in report.output
        assert len(setup.tenant.get("/v1/numbers").json()["data"]) == 1  # reported only
        adopted = CliRunner().invoke(cli, ["reconcile", "--adopt-orphans"])
        assert adopted.exit_code == 0, adopted.output
        assert "adopted_orphan" in adopted.output
    finally:
        get_settings.cache_clear()
    listed = {n["e164"]: n["source"] for n in setup.tenant.get("/v1/numbers").json()["data"]}
    assert listed == {"+14155550100": "purchased", "+14155550177": "imported"}


def test_a_sandbox_purchase_that_never_committed_is_abandoned(
    tenant: Tenant, backend: Backend
) -> None:
    app_providers = tenant.client.app.state.providers  # type: ignore[attr-defined]
    with backend.database.transaction() as session:
        intents.record(session, actor_of(tenant), "sandbox", ["+12025550100"])
    found = Reconciler(backend.database, app_providers, intent_age=NOW).recover_purchases()
    assert [(f.e164, f.kind) for f in found] == [("+12025550100", "abandoned_intent")]
    bought = tenant.post("/v1/numbers/purchase", {"phone_numbers": ["+12025550100"]})
    assert bought.status_code == 201, bought.text


# kill -9 of a real server in the middle of a Twilio purchase.


def start_server(
    backend: Backend, twilio_url: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": backend.url,
        "CALLPLANE_SECRET_KEY": SECRET,
        "CALLPLANE_TWILIO_API_BASE_URL": twilio_url,
        "CALLPLANE_RELEASE_WORKER": "false",
        "CALLPLANE_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "callplane", "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_server_killed_mid_purchase_loses_no_number(
    setup: Setup, backend: Backend, tmp_path: Path
) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    setup.twilio.purchase_delay = 1.0
    port, log = free_port(), tmp_path / "server.log"
    server = start_server(backend, setup.twilio.url, port, log)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx2.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx2.TransportError:
            return server.poll() is not None

    def buy() -> None:
        with contextlib.suppress(httpx2.TransportError):  # the server is killed under it
            httpx2.post(
                f"{base}/v1/numbers/purchase",
                json={"provider": "twilio", "phone_numbers": ["+14155550100"]},
                headers=setup.tenant.auth,
                timeout=30,
            )

    try:
        wait_for(up, 30, log.read_text())
        assert server.poll() is None, log.read_text()
        client = threading.Thread(target=buy)
        client.start()
        wait_for(lambda: setup.twilio.purchases_received, 30, log.read_text())
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        client.join(30)
    finally:
        if server.poll() is None:
            server.kill()
    wait_for(lambda: setup.twilio.owned, 10, "Twilio completes the purchase it received")
    assert setup.tenant.get("/v1/numbers").json()["data"] == []  # paid, not here yet...
    assert intent_statuses(backend) == {"+14155550100": "pending"}  # ...but known

    assert [f.kind for f in setup.reconciler.recover_purchases()] == ["adopted_purchase"]
    [number] = setup.tenant.get("/v1/numbers").json()["data"]
    assert number["source"] == "purchased"
    setup.tenant.delete("/v1/numbers/+14155550100")
    assert setup.worker.run_once() == 1 and setup.twilio.owned == {}


def test_a_retried_purchase_settles_the_failed_attempts_intent(
    setup: Setup, backend: Backend
) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    setup.twilio.fail("POST", times=1, status=503, code=20500)
    body = {"provider": "twilio", "phone_numbers": ["+14155550100"]}
    assert setup.tenant.post("/v1/numbers/purchase", body).status_code == 503
    assert setup.tenant.post("/v1/numbers/purchase", body).status_code == 201
    assert setup.reconciler.recover_purchases() == []  # nothing to adopt, nothing abandoned
    with backend.database.session(write=False) as session:
        statuses = session.scalars(select(PurchaseIntent.status).order_by(PurchaseIntent.id))
        assert list(statuses) == ["completed", "completed"]
