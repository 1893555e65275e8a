"""API keys under attack: guessing is limited per address, keys expire, read keys only read."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from callplane.app import create_app
from callplane.core import ids
from callplane.core.auth_guard import FailedAuthGuard
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import InvalidInput
from callplane.workspaces.key_usage import KeyUsage
from callplane.workspaces.models import ApiKey
from callplane.workspaces.service import create_key
from tests.helpers import SECRET, Backend, Tenant, error_code, settings_for

LIMIT = 5


@pytest.fixture
def guarded(backend: Backend) -> Iterator[TestClient]:
    """An app allowing LIMIT failed authentications per address, in a minute that never ends."""
    app = create_app(settings_for(backend), backend.database)
    app.state.auth_guard = FailedAuthGuard(LIMIT, clock=lambda: 1_800_000_030.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def new_key(
    backend: Backend, tenant: Tenant, scope: str = "full", expires_at: dt.datetime | None = None
) -> str:
    workspace_id = ids.parse("workspace", tenant.workspace_id)
    assert workspace_id is not None
    with backend.database.transaction() as session:
        issued = create_key(
            session,
            Actor(workspace_id, None, None),
            "test",
            SECRET,
            scope=scope,
            expires_at=expires_at,
        )
    return issued.plaintext


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_guessing_keys_is_limited_per_address_and_logged(
    guarded: TestClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """The reported attack: 300 bad keys all got 401, unlogged."""
    logging.getLogger("callplane").addHandler(caplog.handler)
    try:
        answers = [
            guarded.get("/v1/workspace", headers=bearer(f"sk_live_guess_{i:04d}_xxxxxxxx"))
            for i in range(30)
        ]
    finally:
        logging.getLogger("callplane").removeHandler(caplog.handler)
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * LIMIT + [429] * (30 - LIMIT)
    assert error_code(answers[-1]) == "too_many_failed_authentications"
    assert answers[-1].headers["Retry-After"] == "31"  # the rest of the minute
    # Blocked means blocked: the right key from the same address does not tell it apart.
    assert guarded.get("/v1/workspace", headers=tenant.auth).status_code == 429
    assert (
        guarded.get("/v1/routing/inbound?to=%2B14155550100", headers=tenant.auth).status_code == 429
    )
    failures = [r for r in caplog.records if r.name == "callplane.auth"]
    assert len(failures) == LIMIT  # one line per failure until blocked, then silence
    assert "address blocked" in failures[-1].getMessage()
    assert all("sk_live_guess" not in r.getMessage() for r in failures)


def test_the_hot_path_counts_failures_too(guarded: TestClient, tenant: Tenant) -> None:
    for _ in range(LIMIT):
        response = guarded.get(
            "/v1/routing/inbound?to=%2B14155550100", headers=bearer("sk_live_nope_nope_nope")
        )
        assert response.status_code == 401
    assert guarded.get("/v1/workspace", headers=tenant.auth).status_code == 429


def test_good_keys_are_never_counted(guarded: TestClient, tenant: Tenant) -> None:
    for _ in range(3 * LIMIT):
        assert guarded.get("/v1/workspace", headers=tenant.auth).status_code == 200


def test_an_expired_key_is_refused(backend: Backend, tenant: Tenant) -> None:
    key = new_key(backend, tenant, expires_at=utcnow() + dt.timedelta(hours=1))
    assert tenant.client.get("/v1/workspace", headers=bearer(key)).status_code == 200
    with backend.database.transaction() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.key_prefix == key[:12])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    response = tenant.client.get("/v1/workspace", headers=bearer(key))
    assert (response.status_code, error_code(response)) == (401, "expired_api_key")


def test_a_key_cannot_be_made_already_expired(backend: Backend, tenant: Tenant) -> None:
    with pytest.raises(InvalidInput, match="future"):
        new_key(backend, tenant, expires_at=utcnow() - dt.timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="scope"):
        new_key(backend, tenant, scope="admin")


def test_a_read_key_reads_and_routes_but_changes_nothing(backend: Backend, tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    number = tenant.verified_number("+14155550100")
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": [number["e164"]]})
    read = bearer(new_key(backend, tenant, scope="read"))
    client = tenant.client
    assert client.get("/v1/numbers", headers=read).status_code == 200
    assert client.get("/v1/workspace", headers=read).status_code == 200
    selected = client.post(
        "/v1/routing/outbound", json={"agent_id": agent["id"], "to": "+14155550199"}, headers=read
    )
    assert selected.status_code == 200, selected.text
    for method, path, body in [
        (
            "PATCH",
            "/v1/workspace",
            {"twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "stolen-token-123"},
        ),
        ("PATCH", "/v1/workspace", {"name": "renamed"}),
        ("POST", "/v1/numbers", {"e164": "+14155550101"}),
        ("DELETE", f"/v1/numbers/{number['id']}", None),
        ("POST", "/v1/numbers/purchase", {"phone_numbers": ["+12025550100"]}),
    ]:
        response = client.request(method, path, json=body, headers=read)
        assert (response.status_code, error_code(response)) == (403, "insufficient_scope"), path
    workspace = tenant.get("/v1/workspace").json()["data"]
    assert workspace["name"] == "workspace-a" and workspace["twilio_auth_token_set"] is False
    assert tenant.get(f"/v1/numbers/{number['id']}").status_code == 200


def test_last_used_at_is_recorded_at_most_once_a_minute(backend: Backend, tenant: Tenant) -> None:
    def last_used() -> dt.datetime | None:
        with backend.database.transaction() as session:
            return session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.key_prefix == tenant.key[:12])
            )

    assert last_used() is None
    writes: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if statement.startswith("UPDATE api_keys"):
            writes.append(statement)

    event.listen(backend.database.engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            assert tenant.get("/v1/workspace").status_code == 200
        tenant.client.get("/v1/routing/inbound?to=%2B14155550100", headers=tenant.auth)
    finally:
        event.remove(backend.database.engine, "before_cursor_execute", count)
    first = last_used()
    assert first is not None and utcnow() - first < dt.timedelta(minutes=1)
    assert len(writes) == 1


def test_another_process_within_the_minute_does_not_write_again(
    backend: Backend, tenant: Tenant
) -> None:
    with backend.database.transaction() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_prefix == tenant.key[:12]))
    assert isinstance(key_id, uuid.UUID)
    one, two = KeyUsage(backend.database), KeyUsage(backend.database)
    assert one.due(key_id) and not one.due(key_id)
    one.record(key_id)
    with backend.database.transaction() as session:
        first = session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id))
    time.sleep(0.01)
    assert two.due(key_id)
    two.record(key_id)  # another process: its write finds a recent value and changes nothing
    with backend.database.transaction() as session:
        assert session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == key_id)) == first


def test_the_limit_is_a_setting_and_zero_turns_it_off(backend: Backend) -> None:
    settings = settings_for(backend).model_copy(update={"auth_failures_per_minute": 0})
    with TestClient(create_app(settings, backend.database)) as client:
        for i in range(30):
            response = client.get("/v1/workspace", headers=bearer(f"sk_live_guess_{i:04d}_x"))
            assert response.status_code == 401
    assert settings_for(backend).auth_failures_per_minute == 20  # the default
