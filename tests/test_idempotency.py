"""Idempotency keys through the real app: a repeat is answered from the store, never redone."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import fastapi.routing
import httpx2 as httpx
import pytest
from sqlalchemy import event, text

from callplane.compat.truedy import PREFIX as TRUEDY
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.workers import every
from callplane.idempotency import service as idempotency
from callplane.workspaces.service import create_key
from tests.helpers import SECRET, Tenant, error_code
from tests.live_server import live_server

REPLAYED = "Idempotent-Replayed"


def keyed(tenant: Tenant, method: str, path: str, body: Any, key: str, **headers: str) -> Any:
    return tenant.client.request(
        method, path, json=body, headers={**tenant.auth, "Idempotency-Key": key, **headers}
    )


def count(tenant: Tenant, sql: str, **params: Any) -> int:
    with tenant.backend.database.engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())


def same_answer(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers[REPLAYED] == "true"
    assert REPLAYED not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"]


def _create_number(t: Tenant) -> tuple[str, str, Any]:
    return "POST", "/v1/numbers", {"e164": "+12025550101"}


def _batch(t: Tenant) -> tuple[str, str, Any]:
    return "POST", "/v1/numbers/batch", {"numbers": [{"e164": "+12025550102"}]}


def _agent(t: Tenant) -> tuple[str, str, Any]:
    return "POST", "/v1/agents", {"name": "Keyed", "type": "outbound"}


def _assign(t: Tenant) -> tuple[str, str, Any]:
    number, agent = t.number("+12025550103"), t.agent("inbound")
    body = {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"}
    return "POST", "/v1/numbers/assign", body


def _unassign(t: Tenant) -> tuple[str, str, Any]:
    _, path, body = _assign(t)
    assert t.post(path, body).status_code == 200
    body = {"number_id": body["number_id"], "assignment_type": "inbound"}
    return "POST", "/v1/numbers/unassign", body


def _attach(t: Tenant) -> tuple[str, str, Any]:
    t.number("+12025550104")
    agent = t.agent("outbound")
    return "PUT", f"/v1/agents/{agent['id']}/numbers", {"phone_numbers": ["+12025550104"]}


def _purchase(t: Tenant) -> tuple[str, str, Any]:
    offered = t.get("/v1/numbers/available", params={"limit": "1"}).json()["data"]
    return "POST", "/v1/numbers/purchase", {"phone_numbers": [offered[0]["e164"]]}


def _provider_import(t: Tenant) -> tuple[str, str, Any]:
    return "POST", "/v1/numbers/import", {"provider": "sandbox"}


KEYED_ROUTES: dict[str, Callable[[Tenant], tuple[str, str, Any]]] = {
    "create number": _create_number,
    "batch import": _batch,
    "agent create": _agent,
    "assign": _assign,
    "unassign": _unassign,
    "attach": _attach,
    "purchase": _purchase,
    "provider import": _provider_import,
}


@pytest.mark.parametrize("route", KEYED_ROUTES)
def test_a_repeat_gets_the_first_answer_and_nothing_is_done_twice(
    tenant: Tenant, route: str
) -> None:
    method, path, body = KEYED_ROUTES[route](tenant)
    events_before = len(tenant.events())
    first = keyed(tenant, method, path, body, "key-1")
    assert first.status_code in (200, 201), first.text
    events_after = len(tenant.events())
    again = keyed(tenant, method, path, body, "key-1")
    same_answer(first, again)
    assert len(tenant.events()) == events_after  # the repeat recorded no second change
    assert events_after >= events_before


def test_the_body_is_compared_canonically_and_a_new_key_is_a_new_request(tenant: Tenant) -> None:
    first = tenant.client.post(
        "/v1/agents",
        content=b'{"name": "Same", "type": "outbound"}',
        headers={**tenant.auth, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    reordered = tenant.client.post(
        "/v1/agents",
        content=b'{"type":"outbound","name":"Same"}',
        headers={**tenant.auth, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    same_answer(first, reordered)
    other = keyed(tenant, "POST", "/v1/agents", {"name": "Same", "type": "outbound"}, "k2")
    assert other.status_code == 201 and other.json()["data"]["id"] != first.json()["data"]["id"]
    assert count(tenant, "SELECT count(*) FROM agents") == 2


def test_the_same_key_with_another_body_or_path_is_422_and_changes_nothing(
    tenant: Tenant,
) -> None:
    assert keyed(tenant, "POST", "/v1/numbers", {"e164": "+12025550110"}, "k").status_code == 201
    other_body = keyed(tenant, "POST", "/v1/numbers", {"e164": "+12025550111"}, "k")
    assert other_body.status_code == 422
    assert error_code(other_body) == "idempotency_key_reused"
    assert other_body.json()["error"]["details"] == {"method": "POST", "path": "/v1/numbers"}
    other_path = keyed(tenant, "POST", "/v1/agents", {"name": "A", "type": "inbound"}, "k")
    assert error_code(other_path) == "idempotency_key_reused"
    assert tenant.get("/v1/numbers/+12025550111").status_code == 404
    assert count(tenant, "SELECT count(*) FROM agents") == 0
    assert count(tenant, "SELECT count(*) FROM phone_numbers") == 1


@pytest.mark.parametrize(
    "key",
    ["", " ", "a" * 256, "has space", "tab\tkey", "caf\u00e9"],
    ids=["empty", "blank", "too-long", "space", "tab", "non-ascii"],
)
def test_a_malformed_key_is_422_and_changes_nothing(tenant: Tenant, key: str) -> None:
    response = tenant.client.post(
        "/v1/numbers",
        json={"e164": "+12025550120"},
        headers={**tenant.auth, "Idempotency-Key": key.encode()},
    )
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_idempotency_key"
    assert response.json()["error"]["details"]["header"] == "Idempotency-Key"
    assert count(tenant, "SELECT count(*) FROM phone_numbers") == 0


def test_the_longest_key_and_any_visible_ascii_are_accepted(tenant: Tenant) -> None:
    for key in ("k" * 255, "order-42/attempt:1?x=y&z~!"):
        response = keyed(tenant, "POST", "/v1/agents", {"name": "A", "type": "inbound"}, key)
        assert response.status_code == 201, response.text


def test_a_refusal_of_the_endpoint_is_kept_and_replayed(tenant: Tenant) -> None:
    tenant.number("+12025550130")
    body = {"e164": "+12025550130"}
    first = keyed(tenant, "POST", "/v1/numbers", body, "dup")
    assert first.status_code == 409 and error_code(first) == "number_already_exists"
    tenant.delete("/v1/numbers/+12025550130")
    again = keyed(tenant, "POST", "/v1/numbers", body, "dup")
    same_answer(first, again)  # the key names that attempt, whose answer was the refusal
    assert tenant.get("/v1/numbers/+12025550130").status_code == 404


def test_a_refusal_that_keeps_its_audit_event_keeps_it_once(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    other_tenant.number("+12025550132")
    body = {"e164": "+12025550132"}
    first = keyed(tenant, "POST", "/v1/numbers", body, "taken")
    assert first.status_code == 409 and error_code(first) == "number_not_available"
    again = keyed(tenant, "POST", "/v1/numbers", body, "taken")
    same_answer(first, again)
    assert len(tenant.events("number.unavailable")) == 1  # the refusal's event, not redone


def test_a_refusal_keeps_no_part_of_the_change(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    tenant.number("+12025550131")
    body = {"phone_numbers": ["+12025550131", "+12025550199"]}  # the second is not ours
    first = keyed(tenant, "PUT", f"/v1/agents/{agent['id']}/numbers", body, "attach")
    assert first.status_code == 404, first.text
    assert count(tenant, "SELECT count(*) FROM assignments") == 0
    again = keyed(tenant, "PUT", f"/v1/agents/{agent['id']}/numbers", body, "attach")
    same_answer(first, again)


def test_an_unreadable_body_is_not_kept_so_the_key_stays_usable(tenant: Tenant) -> None:
    bad = keyed(tenant, "POST", "/v1/numbers", {"friendly_name": "no e164"}, "fix-me")
    assert bad.status_code == 422 and error_code(bad) == "invalid_request"
    again = keyed(tenant, "POST", "/v1/numbers", {"friendly_name": "no e164"}, "fix-me")
    assert again.status_code == 422 and REPLAYED not in again.headers
    assert count(tenant, "SELECT count(*) FROM idempotency_keys") == 0


def test_keys_are_scoped_per_api_key_and_per_workspace(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    workspace_id = ids.parse("workspace", tenant.workspace_id)
    assert workspace_id is not None
    with tenant.backend.database.transaction() as session:
        second = create_key(session, Actor(workspace_id, None, None), "second", SECRET)
    body = {"name": "Scoped", "type": "outbound"}
    mine = keyed(tenant, "POST", "/v1/agents", body, "shared")
    other_key = tenant.client.post(
        "/v1/agents",
        json=body,
        headers={"Authorization": f"Bearer {second.plaintext}", "Idempotency-Key": "shared"},
    )
    other_workspace = keyed(other_tenant, "POST", "/v1/agents", body, "shared")
    answers = [mine, other_key, other_workspace]
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert all(REPLAYED not in r.headers for r in answers)
    assert len({r.json()["data"]["id"] for r in answers}) == 3
    # A different body under another key's "shared" is not a reuse of this key's "shared".
    different = keyed(other_tenant, "POST", "/v1/numbers", {"e164": "+12025550140"}, "own")
    assert different.status_code == 201


def test_an_expired_key_is_a_new_key_and_pruning_removes_it(tenant: Tenant) -> None:
    body = {"name": "Daily", "type": "outbound"}
    first = keyed(tenant, "POST", "/v1/agents", body, "daily")
    assert first.status_code == 201
    with tenant.backend.database.engine.begin() as connection:
        (expires_at,) = connection.execute(text("SELECT expires_at FROM idempotency_keys")).one()
        connection.execute(
            text("UPDATE idempotency_keys SET expires_at = :past"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)},
        )
    created = dt.datetime.fromisoformat(first.json()["meta"]["ts"].replace("Z", "+00:00"))
    stored = (
        expires_at if isinstance(expires_at, dt.datetime) else dt.datetime.fromisoformat(expires_at)
    )
    stored = stored if stored.tzinfo else stored.replace(tzinfo=dt.UTC)
    assert dt.timedelta(hours=23, minutes=59) < stored - created <= dt.timedelta(hours=24)
    after = keyed(tenant, "POST", "/v1/agents", body, "daily")
    assert after.status_code == 201 and REPLAYED not in after.headers
    assert after.json()["data"]["id"] != first.json()["data"]["id"]
    assert count(tenant, "SELECT count(*) FROM idempotency_keys") == 1  # the new claim

    later = dt.datetime.now(dt.UTC) + idempotency.TTL + dt.timedelta(seconds=1)
    assert idempotency.prune(tenant.backend.database, now=later) == 1
    assert count(tenant, "SELECT count(*) FROM idempotency_keys") == 0


def test_pruning_goes_batch_by_batch_and_keeps_live_keys(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "PRUNE_BATCH", 3)
    for i in range(8):
        keyed(tenant, "POST", "/v1/agents", {"name": f"A{i}", "type": "outbound"}, f"k{i}")
    with tenant.backend.database.engine.begin() as connection:
        connection.execute(
            text("UPDATE idempotency_keys SET expires_at = :past WHERE key <> 'k7'"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)},
        )
    assert idempotency.prune(tenant.backend.database) == 7  # batches of 3, 3 and 1
    with tenant.backend.database.engine.connect() as connection:
        left = connection.execute(text("SELECT key FROM idempotency_keys")).scalars().all()
    assert left == ["k7"]
    again = keyed(tenant, "POST", "/v1/agents", {"name": "A7", "type": "outbound"}, "k7")
    assert again.headers[REPLAYED] == "true"


def test_the_server_prunes_expired_keys_by_itself(tenant: Tenant) -> None:
    keyed(tenant, "POST", "/v1/agents", {"name": "Old", "type": "outbound"}, "old")
    keyed(tenant, "POST", "/v1/agents", {"name": "New", "type": "outbound"}, "new")
    with tenant.backend.database.engine.begin() as connection:
        connection.execute(
            text("UPDATE idempotency_keys SET expires_at = :past WHERE key = 'old'"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)},
        )

    async def run_briefly() -> None:
        database = tenant.backend.database
        task = asyncio.create_task(
            every(0.01, lambda: anyio.to_thread.run_sync(idempotency.prune, database), "pruning")
        )
        for _ in range(200):
            await asyncio.sleep(0.01)
            if count(tenant, "SELECT count(*) FROM idempotency_keys") == 1:
                break
        task.cancel()

    asyncio.run(run_briefly())
    with tenant.backend.database.engine.connect() as connection:
        left = connection.execute(text("SELECT key FROM idempotency_keys")).scalars().all()
    assert left == ["new"]


def test_truedy_x_idempotency_key_uses_the_same_store(tenant: Tenant) -> None:
    body = {"name": "Truedy agent", "voice_id": "alloy", "system_prompt": "Be brief."}
    headers = {**tenant.auth, "X-Idempotency-Key": "truedy-1"}
    first = tenant.client.post(f"{TRUEDY}/agents", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = tenant.client.post(f"{TRUEDY}/agents", json=body, headers=headers)
    same_answer(first, again)
    assert count(tenant, "SELECT count(*) FROM agents") == 1

    changed = tenant.client.post(
        f"{TRUEDY}/agents", json={**body, "name": "Other"}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"  # in Truedy's shape
    native = keyed(tenant, "POST", "/v1/agents", {"name": "N", "type": "inbound"}, "truedy-1")
    assert error_code(native) == "idempotency_key_reused"  # one store for both surfaces
    malformed = tenant.client.post(
        f"{TRUEDY}/agents", json=body, headers={**tenant.auth, "X-Idempotency-Key": "a b"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "invalid_idempotency_key"
    assert count(tenant, "SELECT count(*) FROM agents") == 1


def test_truedy_telephony_assign_replays(tenant: Tenant) -> None:
    number, agent = tenant.number("+12025550150"), tenant.agent("inbound")
    body = {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"}
    headers = {**tenant.auth, "X-Idempotency-Key": "assign-1"}
    first = tenant.client.post(f"{TRUEDY}/telephony/numbers/assign", json=body, headers=headers)
    assert first.status_code == 200, first.text
    again = tenant.client.post(f"{TRUEDY}/telephony/numbers/assign", json=body, headers=headers)
    same_answer(first, again)
    assert len(tenant.events("number.assigned")) == 1


def test_every_keyed_operation_documents_its_header(tenant: Tenant) -> None:
    document = tenant.client.get("/openapi.json").json()
    expected = {
        ("post", "/v1/numbers"),
        ("post", "/v1/numbers/batch"),
        ("post", "/v1/numbers/assign"),
        ("post", "/v1/numbers/unassign"),
        ("post", "/v1/numbers/purchase"),
        ("post", "/v1/numbers/import"),
        ("post", "/v1/numbers/releases/{release_id}/retry"),
        ("post", "/v1/agents"),
        ("put", "/v1/agents/{agent_id}/numbers"),
    }
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if any(
            p["in"] == "header" and p["name"] == "Idempotency-Key"
            for p in operation.get("parameters", [])
        )
    }
    assert documented == expected
    truedy = document["paths"][f"{TRUEDY}/agents"]["post"]["parameters"]
    assert any(p["name"] == "X-Idempotency-Key" for p in truedy)


def _race_body(i: int) -> dict[str, Any]:
    return {"name": f"Racer {i}", "type": "outbound"}


async def _pair(
    servers: tuple[str, str], api_key: str, key: str, body: Any
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        return list(
            await asyncio.gather(*(client.post(f"{s}/v1/agents", json=body) for s in servers))
        )


def test_two_concurrent_requests_with_one_key_do_it_once(tenant: Tenant, tmp_path: Path) -> None:
    """25 races, one request to each of two servers: one agent per key, whoever wins.

    The loser gets 409 in flight (PostgreSQL, while the winner's transaction is open) or the
    winner's answer replayed (after it committed; on SQLite always, one writer at a time).
    """
    outcomes: set[str] = set()
    with (
        live_server(tenant.backend.url, tmp_path / "a.log") as first,
        live_server(tenant.backend.url, tmp_path / "b.log") as second,
    ):
        for i in range(25):
            key = str(uuid.uuid4())
            answers = asyncio.run(_pair((first, second), tenant.key, key, _race_body(i)))
            created = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
            assert len(created) == 1, [a.text for a in answers]
            (loser,) = [a for a in answers if a is not created[0]]
            if loser.status_code == 409:
                assert loser.json()["error"]["code"] == "idempotency_request_in_flight"
                assert loser.headers["Retry-After"] == "1"
                outcomes.add("in flight")
            else:
                same_answer(created[0], loser)
                outcomes.add("replayed")
    assert count(tenant, "SELECT count(*) FROM agents") == 25
    assert len(tenant.events("agent.created")) == 25
    assert outcomes  # which ones occurred depends on timing; each is checked above


@pytest.mark.postgres_only
def test_a_request_while_its_key_is_in_flight_is_409_on_postgresql(tenant: Tenant) -> None:
    """The first request is held mid-transaction (its number row locked by the test), the second
    one comes in with the same key: 409 at once; once the first commits, the answer is replayed.
    20 rounds, each a new key and agent."""
    number = tenant.number("+12025550160")
    number_id = ids.parse("number", number["id"])
    engine = tenant.backend.database.engine
    for round_ in range(20):
        agent = tenant.agent("outbound", name=f"Held {round_}")
        body = {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "outbound"}
        key = f"held-{round_}"
        holder = engine.connect()
        transaction = holder.begin()
        holder.execute(
            text("SELECT id FROM phone_numbers WHERE id = :id FOR UPDATE"), {"id": number_id}
        )
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(keyed, tenant, "POST", "/v1/numbers/assign", body, key)
            _wait_for_advisory_lock(tenant, key)
            second = keyed(tenant, "POST", "/v1/numbers/assign", body, key)
            assert second.status_code == 409, second.text
            assert error_code(second) == "idempotency_request_in_flight"
            transaction.rollback()
            holder.close()
            first = pending.result(30)
        assert first.status_code == 200, first.text
        third = keyed(tenant, "POST", "/v1/numbers/assign", body, key)
        same_answer(first, third)
    assert len(tenant.events("number.assigned")) == 20


def _wait_for_advisory_lock(tenant: Tenant, key: str) -> None:
    """Until the request holding ``key`` took its advisory lock (it then waits on the row)."""
    workspace_id = ids.parse("workspace", tenant.workspace_id)
    assert workspace_id is not None
    with tenant.backend.database.engine.connect() as connection:
        api_key_id = connection.execute(
            text("SELECT id FROM api_keys WHERE workspace_id = :w"), {"w": workspace_id}
        ).scalar_one()
    lock = idempotency.advisory_lock_id(idempotency.Scope(workspace_id, api_key_id), key)
    unsigned = lock % 2**64
    sql = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1"
        " AND classid::bigint = :high AND objid::bigint = :low"
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if count(tenant, sql, high=unsigned >> 32, low=unsigned & 0xFFFFFFFF):
            return
        time.sleep(0.005)
    raise AssertionError(f"the request with key {key} never took its lock")


def test_the_native_writes_commit_and_answer_in_the_call_that_ran_their_endpoint(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Create, assign, unassign, rename, delete: each COMMIT runs inside ``IdempotentRoute``'s
    wrapper of the endpoint, in its worker thread, not in a second hop after it returned (on SQLite
    the write lock stayed taken meanwhile; docs/benchmarks.md, writes); and the answer is made
    there too, never by FastAPI's serialisation in one more thread. (On PostgreSQL the usual
    create, assign, unassign and delete run on the event loop instead, tested in
    test_number_quick_paths.py: their COMMIT is not the engine's; a change of a number's
    settings still runs here.)"""
    agent = tenant.agent("inbound")["id"]
    in_wrapper: list[bool] = []
    serialised_by_fastapi: list[object] = []
    fastapi_serialise = fastapi.routing.serialize_response

    async def serialize_response(**kwargs: Any) -> Any:
        serialised_by_fastapi.append(kwargs.get("response_content"))
        return await fastapi_serialise(**kwargs)

    monkeypatch.setattr(fastapi.routing, "serialize_response", serialize_response)

    def on_commit(_connection: object) -> None:
        frame, names = sys._getframe(), set()
        while frame is not None:
            names.add(frame.f_code.co_qualname)
            frame = frame.f_back  # type: ignore[assignment]
        in_wrapper.append("IdempotentRoute._in_thread.<locals>.run" in names)

    engine = tenant.backend.database.engine
    event.listen(engine, "commit", on_commit)
    try:
        assert tenant.post("/v1/numbers", {"e164": "+16285550190"}).status_code == 201
        assign = {"number_id": "+16285550190", "agent_id": agent, "assignment_type": "inbound"}
        assert tenant.post("/v1/numbers/assign", assign).status_code == 200
        unassign = {"number_id": "+16285550190", "assignment_type": "inbound"}
        assert tenant.post("/v1/numbers/unassign", unassign).status_code == 200
        renamed = tenant.patch("/v1/numbers/+16285550190", {"friendly_name": "Front desk"})
        assert renamed.status_code == 200
        assert tenant.delete("/v1/numbers/+16285550190").status_code == 200
    finally:
        event.remove(engine, "commit", on_commit)
    assert in_wrapper == [True] * (1 if tenant.backend.name == "postgresql" else 5)
    assert serialised_by_fastapi == []
