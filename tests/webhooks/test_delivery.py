"""The delivery worker against a real receiving HTTP server: signatures checked with the
Standard Webhooks library's own verifier, order per resource, retries, give-up, rotation,
redelivery, auto-disable, and the address checks made at every attempt."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from typing import Any

import pytest
from sqlalchemy import update
from standardwebhooks import Webhook, WebhookVerificationError

from callplane.core.db import utcnow
from callplane.webhooks.delivery import RESPONSE_PREFIX_BYTES, Sender
from callplane.webhooks.models import WebhookEndpoint
from callplane.webhooks.service import new_secret
from tests.helpers import Backend, Tenant
from tests.live_server import free_port
from tests.webhooks.support import (
    LOCAL,
    Answer,
    Received,
    Receiver,
    deliveries,
    endpoint,
    worker_for,
)


def body_of(received: Received) -> dict[str, Any]:
    return dict(json.loads(received.body))


def test_an_event_arrives_signed_and_the_library_verifies_it(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    agent = hooks.agent("inbound", name="Desk")
    worker = worker_for(backend)
    assert worker.run_once() == 1
    (got,) = receiver.received
    verified = Webhook(created["secret"]).verify(got.body, got.headers)
    assert verified["type"] == "agent.created"
    (event,) = hooks.events("agent.created")
    assert verified["timestamp"] == event["created_at"]
    assert verified["data"] == {
        "event_id": event["id"],
        "workspace_id": hooks.workspace_id,
        "resource_ids": [agent["id"]],
        "before": None,
        "after": event["after"],
        "actor_key_id": event["actor_key_id"],
        "request_id": event["request_id"],
    }
    assert got.headers["webhook-id"] == event["id"]
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got.body, got.headers)
    tampered = got.body.replace(b"Desk", b"Evil")
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(tampered, got.headers)

    (delivery,) = deliveries(hooks, created["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["response_status"] == 200 and delivery["response_body"] == "ok"
    assert delivery["latency_ms"] >= 0 and delivery["delivered_at"] is not None
    assert delivery["event_id"] == event["id"] and delivery["next_attempt_at"] is None
    assert worker.run_once() == 0


def test_only_subscribed_enabled_endpoints_get_committed_events(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    numbers = endpoint(hooks, receiver.url("/numbers"), event_types=["number.imported"])
    agents = endpoint(hooks, receiver.url("/agents"), event_types=["agent.created"])
    off = endpoint(hooks, receiver.url("/off"), enabled=False)
    refused = hooks.post("/v1/agents", {"name": "X", "type": "sideways"})
    assert refused.status_code == 422
    hooks.number("+12025550143")
    hooks.agent("outbound")
    assert worker_for(backend).run_once() == 2
    assert [body_of(r)["type"] for r in receiver.at("/numbers")] == ["number.imported"]
    assert [body_of(r)["type"] for r in receiver.at("/agents")] == ["agent.created"]
    assert receiver.at("/off") == [] and deliveries(hooks, off["id"]) == []
    assert [d["event_type"] for d in deliveries(hooks, numbers["id"])] == ["number.imported"]
    assert [d["event_type"] for d in deliveries(hooks, agents["id"])] == ["agent.created"]


def test_events_of_one_resource_arrive_in_order_while_one_retries(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    failed_once: list[str] = []

    def first_create_fails(request: Received) -> Answer:
        if body_of(request)["type"] == "agent.created" and not failed_once:
            failed_once.append(request.headers["webhook-id"])
            return Answer(503)
        return Answer()

    receiver.script = first_create_fails
    endpoint(hooks, receiver.url(), event_types=["agent.created", "agent.updated"])
    first = hooks.agent("inbound", name="A")
    hooks.patch(f"/v1/agents/{first['id']}", {"name": "A2"})
    hooks.patch(f"/v1/agents/{first['id']}", {"name": "A3"})
    second = hooks.agent("inbound", name="B")
    worker = worker_for(backend, rng=random.Random(1))
    assert worker.run_once() == 2  # A's creation failed; A's updates wait; B went through
    sent = [(body_of(r)["data"]["resource_ids"][0], body_of(r)["type"]) for r in receiver.received]
    assert sent == [(first["id"], "agent.created"), (second["id"], "agent.created")]
    assert worker.run_once() == 0  # the retry is not due yet, and holds back A's updates
    assert worker.run_once(utcnow() + dt.timedelta(hours=1)) == 3
    of_first = [
        (body_of(r)["type"], (body_of(r)["data"]["after"] or {}).get("name"))
        for r in receiver.received
        if body_of(r)["data"]["resource_ids"][0] == first["id"]
    ]
    assert of_first == [
        ("agent.created", "A"),
        ("agent.created", "A"),
        ("agent.updated", "A2"),
        ("agent.updated", "A3"),
    ]
    assert receiver.received[2].headers["webhook-id"] == failed_once[0]  # same id, retried


def test_5xx_is_retried_with_growing_jittered_backoff_for_the_window_then_fails(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    receiver.script = lambda _r: Answer(500, b"database on fire")
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    start = utcnow()
    hooks.agent()
    policy = dataclasses.replace(LOCAL, backoff_seconds=60, backoff_max_seconds=3600)
    worker = worker_for(backend, policy, rng=random.Random(3))
    now, delays = utcnow(), []
    while True:
        assert worker.run_once(now) == 1
        (row,) = deliveries(hooks, created["id"])
        if row["status"] != "pending":
            break
        following = dt.datetime.fromisoformat(row["next_attempt_at"])
        delays.append((following - now).total_seconds())
        now = following
        assert len(delays) < 100
    assert row["status"] == "failed" and row["attempts"] == len(delays) + 1
    assert row["response_status"] == 500 and row["response_body"] == "database on fire"
    assert row["last_error"] == "answered 500"
    assert now >= start + dt.timedelta(hours=24)  # retried for the whole window
    for attempt, delay in enumerate(delays[:-1], start=1):
        ceiling = min(60 * 2 ** (attempt - 1), 3600)
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)
    assert len(set(delays)) > len(delays) // 2  # jittered, not a fixed ladder
    assert len(receiver.received) == row["attempts"]
    assert worker.run_once(now + dt.timedelta(days=3)) == 0


def test_timeouts_connection_errors_and_429_are_retried_other_answers_fail_at_once(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    answers = {
        "/slow": Answer(200, delay=1.5),
        "/busy": Answer(429),
        "/gone": Answer(410),
        "/moved": Answer(302, headers={"location": receiver.url("/elsewhere")}),
        "/huge": Answer(200, b"x" * 50_000),
        "/binary": Answer(200, b"ok\x00\xff"),
    }
    receiver.script = lambda request: answers[request.path]
    made = {
        path: endpoint(hooks, receiver.url(path), event_types=["agent.created"])["id"]
        for path in answers
    }
    closed = endpoint(hooks, f"http://127.0.0.1:{free_port()}/closed", event_types=["*"])
    hooks.agent()
    policy = dataclasses.replace(LOCAL, timeout_seconds=0.5)
    worker_for(backend, policy).run_once()

    def only(path: str) -> dict[str, Any]:
        (row,) = deliveries(hooks, made[path])
        return row

    assert (only("/slow")["status"], only("/slow")["last_error"]) == (
        "pending",
        "timed out after 0.5s",
    )
    assert (only("/busy")["status"], only("/busy")["response_status"]) == ("pending", 429)
    assert (only("/gone")["status"], only("/gone")["response_status"]) == ("failed", 410)
    assert (only("/moved")["status"], only("/moved")["response_status"]) == ("failed", 302)
    assert receiver.at("/elsewhere") == []  # the redirect was not followed
    huge = only("/huge")
    assert huge["status"] == "succeeded"
    assert huge["response_body"] == "x" * RESPONSE_PREFIX_BYTES
    assert only("/binary")["response_body"] == "ok\ufffd\ufffd"
    tried, held = sorted(deliveries(hooks, closed["id"]), key=lambda d: -d["attempts"])
    assert tried["status"] == "pending" and tried["last_error"].startswith("connection failed")
    assert (held["status"], held["attempts"]) == ("pending", 0)  # the endpoint is on hold


def test_an_unreachable_endpoint_waits_as_a_whole_and_holds_no_one_else(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    dead = endpoint(hooks, f"http://127.0.0.1:{free_port()}/down", event_types=["agent.created"])
    alive = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    for i in range(5):
        hooks.agent(name=f"A{i}")
    worker = worker_for(backend, rng=random.Random(5))
    start = utcnow()
    assert worker.run_once(start) == 6  # one try at the dead host, every message to the other
    assert [d["status"] for d in deliveries(hooks, alive["id"])] == ["succeeded"] * 5
    assert sorted(d["attempts"] for d in deliveries(hooks, dead["id"])) == [0, 0, 0, 0, 1]
    assert worker.run_once(start + dt.timedelta(seconds=5)) == 0  # still on hold
    assert worker.run_once(start + dt.timedelta(minutes=10)) == 1  # one try per backoff step
    assert worker.run_once(start + dt.timedelta(hours=25)) == 1
    rows = deliveries(hooks, dead["id"])
    assert [d["status"] for d in rows] == ["failed"] * 5  # the window passed for all of them
    assert sum(d["attempts"] for d in rows) == 3
    assert {d["last_error"] for d in rows if d["attempts"] == 0} == {
        "gave up: the endpoint could not be reached for the retry window"
    }

    moved = hooks.patch(f"/v1/webhook-endpoints/{dead['id']}", {"url": receiver.url("/back")})
    assert moved.status_code == 200
    hooks.post(f"/v1/webhook-endpoints/{dead['id']}/deliveries/redeliver-failed")
    assert worker.run_once(start + dt.timedelta(hours=25)) == 5
    assert len(receiver.at("/back")) == 5


def test_redeliver_one_and_all_failed(hooks: Tenant, backend: Backend, receiver: Receiver) -> None:
    receiver.script = lambda _r: Answer(400, b"bad signature?")
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    hooks.agent(name="One")
    hooks.agent(name="Two")
    worker = worker_for(backend)
    assert worker.run_once() == 2
    path = f"/v1/webhook-endpoints/{created['id']}/deliveries"
    assert [d["status"] for d in deliveries(hooks, created["id"])] == ["failed", "failed"]
    assert len(deliveries(hooks, created["id"], status="failed")) == 2
    assert deliveries(hooks, created["id"], status="succeeded") == []

    receiver.script = lambda _r: Answer()
    requeued = hooks.post(f"{path}/redeliver-failed")
    assert requeued.status_code == 200 and requeued.json()["data"] == {"requeued": 2}
    assert worker.run_once() == 2
    rows = deliveries(hooks, created["id"])
    assert [d["status"] for d in rows] == ["succeeded", "succeeded"]
    assert [d["attempts"] for d in rows] == [2, 2]
    ids_sent = [r.headers["webhook-id"] for r in receiver.received]
    assert ids_sent[:2] == ids_sent[2:]  # the same messages, the same ids

    again = hooks.post(f"{path}/{rows[0]['id']}/redeliver")
    assert again.status_code == 200 and again.json()["data"]["status"] == "pending"
    assert worker.run_once() == 1
    assert receiver.received[-1].headers["webhook-id"] == rows[0]["event_id"]
    verified = Webhook(created["secret"]).verify(
        receiver.received[-1].body, receiver.received[-1].headers
    )
    assert verified["data"]["after"]["name"] == "Two"
    requested = hooks.events("webhook_endpoint.redelivery_requested")
    assert [e["after"]["deliveries"] for e in requested] == [1, 2]


def test_during_a_rotation_both_secrets_sign_then_only_the_new(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    old = created["secret"]
    rotated = hooks.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {"overlap_seconds": 3600}
    )
    new = rotated.json()["data"]["secret"]
    hooks.agent(name="During")
    worker = worker_for(backend)
    worker.run_once()
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(during.body, during.headers)["type"] == "agent.created"

    with backend.database.transaction() as session:  # the overlap has run out
        session.execute(
            update(WebhookEndpoint).values(previous_secret_expires_at=utcnow() - dt.timedelta(1))
        )
    hooks.agent(name="After")
    worker.run_once()
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(after.body, after.headers)["data"]["after"]["name"] == "After"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)

    at_once = hooks.post(
        f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {"overlap_seconds": 0}
    ).json()["data"]["secret"]
    hooks.agent(name="Last")
    worker.run_once()
    last = receiver.received[-1]
    assert Webhook(at_once).verify(last.body, last.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(last.body, last.headers)


def test_an_endpoint_failing_for_too_long_is_disabled_with_an_event(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    receiver.script = lambda _r: Answer(502)
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    watcher = endpoint(hooks, receiver.url("/watch"), event_types=["webhook_endpoint.disabled"])
    hooks.agent()
    policy = dataclasses.replace(LOCAL, disable_after=dt.timedelta(hours=2))
    worker = worker_for(backend, policy)
    start = utcnow()
    assert worker.run_once(start) == 1
    shown = hooks.get(f"/v1/webhook-endpoints/{created['id']}").json()["data"]
    assert shown["enabled"] is True and shown["failing_since"] is not None
    worker.run_once(start + dt.timedelta(hours=1))
    assert hooks.get(f"/v1/webhook-endpoints/{created['id']}").json()["data"]["enabled"]
    worker.run_once(start + dt.timedelta(hours=3))
    shown = hooks.get(f"/v1/webhook-endpoints/{created['id']}").json()["data"]
    assert (shown["enabled"], shown["disabled_reason"]) == (False, "failing")
    (disabled,) = hooks.events("webhook_endpoint.disabled")
    assert disabled["resource_ids"] == [created["id"]] and disabled["actor_key_id"] is None
    attempts = len(receiver.at("/hook"))
    hooks.agent()  # a disabled endpoint gets no new deliveries, and its pending ones wait
    receiver.script = lambda _r: Answer()
    assert worker.run_once(start + dt.timedelta(hours=9)) == 1  # only the watcher's retry
    assert len(receiver.at("/hook")) == attempts
    assert {body_of(r)["type"] for r in receiver.at("/watch")} == {"webhook_endpoint.disabled"}
    assert deliveries(hooks, watcher["id"])[0]["status"] == "succeeded"

    enabled = hooks.patch(f"/v1/webhook-endpoints/{created['id']}", {"enabled": True})
    assert enabled.json()["data"]["failing_since"] is None
    assert worker.run_once(start + dt.timedelta(hours=10)) == 1
    (row,) = deliveries(hooks, created["id"])
    assert row["status"] == "succeeded"


def test_addresses_are_checked_again_at_every_attempt(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    """Stored while the operator allowed it; the worker's own policy refuses to connect."""
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    hooks.agent()
    strict = dataclasses.replace(LOCAL, allow_private=False)
    worker_for(backend, strict).run_once()
    (row,) = deliveries(hooks, created["id"])
    assert "non-public address (loopback)" in row["last_error"]
    assert "CALLPLANE_ALLOW_PRIVATE_URLS" in row["last_error"]
    https_only = dataclasses.replace(LOCAL, allow_http=False)
    worker_for(backend, https_only).run_once(utcnow() + dt.timedelta(hours=1))
    assert receiver.received == []
    (row,) = deliveries(hooks, created["id"])
    assert row["status"] == "pending" and row["attempts"] == 2
    assert "must be a https URL" in row["last_error"]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("::ffff:192.168.1.1", "private"),
    ],
)
def test_a_public_name_that_resolves_to_a_private_address_is_refused(
    address: str, kind: str
) -> None:
    seen: list[str] = []

    def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
        seen.append(host)
        return [(None, None, None, "", (address, port))]

    policy = dataclasses.replace(LOCAL, allow_private=False)
    outcome = Sender(policy, resolve=resolve).send("https://hooks.example.com/x", {}, b"{}")
    assert seen == ["hooks.example.com"]
    assert (outcome.succeeded, outcome.retry) == (False, True)
    assert outcome.error is not None and kind in outcome.error
    assert "CALLPLANE_ALLOW_PRIVATE_URLS" in outcome.error


def test_the_sender_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """The name is resolved once; the connection goes to that address with the name as Host."""

    def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
        assert host == "hooks.callplane.test"
        return [(None, None, None, "", ("127.0.0.1", port))]

    url = f"http://hooks.callplane.test:{receiver.port}/pinned"
    outcome = Sender(LOCAL, resolve=resolve).send(url, {"webhook-id": "evt_1"}, b"{}")
    assert outcome.succeeded
    (got,) = receiver.received
    assert got.headers["host"] == f"hooks.callplane.test:{receiver.port}"
    assert got.path == "/pinned"
