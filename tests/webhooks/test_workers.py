"""Workers sharing the outbox: no attempt sent twice on PostgreSQL, nothing lost when one dies,
and secrets that stay out of every log and are resealed with the rest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from standardwebhooks import Webhook

from callplane.core import crypto
from callplane.core.db import utcnow
from callplane.models import Base
from callplane.webhooks.delivery import DeliveryWorker, Outcome
from tests.helpers import SECRET, Backend, Tenant
from tests.webhooks.support import LOCAL, Answer, Receiver, deliveries, endpoint, worker_for

ROUNDS = 20
AGENTS_PER_ROUND = 6


def _drain(worker: DeliveryWorker, start: threading.Barrier, done: Counter[int]) -> None:
    start.wait()
    done[id(worker)] += worker.run_once()


@pytest.mark.postgres_only
def test_two_workers_never_send_one_attempt_twice_and_keep_the_order(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    receiver.script = lambda _r: Answer(200, delay=0.002)
    created = endpoint(hooks, receiver.url(), event_types=["agent.created", "agent.updated"])
    workers = [worker_for(backend) for _ in range(2)]
    shares = Counter[int]()
    for round_ in range(ROUNDS):
        receiver.received.clear()
        agents = [hooks.agent(name=f"r{round_}-{i}") for i in range(AGENTS_PER_ROUND)]
        for agent in agents:
            hooks.patch(f"/v1/agents/{agent['id']}", {"name": agent["name"] + "-x"})
        start = threading.Barrier(len(workers))
        done = Counter[int]()
        threads = [
            threading.Thread(target=_drain, args=(worker, start, done)) for worker in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        sent = Counter(r.headers["webhook-id"] for r in receiver.received)
        assert len(sent) == 2 * AGENTS_PER_ROUND, round_
        assert set(sent.values()) == {1}, (round_, sent)  # no attempt went out twice
        assert done.total() == 2 * AGENTS_PER_ROUND
        shares.update(done)
        for agent in agents:
            kinds = [
                json.loads(r.body)["type"]
                for r in receiver.received
                if json.loads(r.body)["data"]["resource_ids"] == [agent["id"]]
            ]
            assert kinds == ["agent.created", "agent.updated"], (round_, kinds)
    assert len(shares) == 2 and min(shares.values()) > 0  # both workers took part
    statuses = {d["status"] for d in deliveries(hooks, created["id"], limit="500")}
    assert statuses == {"succeeded"}


def test_a_killed_workers_delivery_is_sent_when_its_lease_expires(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    hooks.agent()
    dead = worker_for(backend)
    claim = dead.claim()  # ... and the process is killed before it posts or records anything
    assert claim is not None and claim.attempts == 1
    survivor = worker_for(backend)
    assert survivor.run_once() == 0  # the lease still holds it
    later = utcnow() + dt.timedelta(seconds=LOCAL.lease_seconds + 1)
    assert survivor.run_once(later) == 1
    (row,) = deliveries(hooks, created["id"])
    assert (row["status"], row["attempts"]) == ("succeeded", 2)
    assert len(receiver.received) == 1
    # Had the first worker only stalled, its late outcome is dropped, not written over.
    assert dead.record(claim, Outcome(False, True, "late")) == "lease_lost"
    assert deliveries(hooks, created["id"])[0]["status"] == "succeeded"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("callplane"), logging.getLogger("sqlalchemy")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_secrets_never_reach_a_log(
    hooks: Tenant, backend: Backend, receiver: Receiver, all_logs: Collect
) -> None:
    receiver.script = lambda _r: Answer(500)
    created = endpoint(hooks, receiver.url())
    rotated = hooks.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {})
    hooks.agent()
    worker_for(backend).run_once()
    assert any("answered 500" in line for line in all_logs.lines)
    text_ = "\n".join(all_logs.lines)
    for secret in (created["secret"], rotated.json()["data"]["secret"]):
        assert secret not in text_
        assert secret.removeprefix("whsec_") not in text_


def test_webhook_secrets_are_resealed_with_the_other_secrets(
    hooks: Tenant, backend: Backend, receiver: Receiver
) -> None:
    created = endpoint(hooks, receiver.url(), event_types=["agent.created"])
    hooks.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {"overlap_seconds": 0})
    rotated = hooks.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret", {})
    newest = rotated.json()["data"]["secret"]

    def stored() -> tuple[str, str]:
        with backend.database.engine.connect() as connection:
            row = connection.execute(
                text("SELECT secret, previous_secret FROM webhook_endpoints")
            ).one()
        return str(row[0]), str(row[1])

    before = stored()
    assert newest not in before[0]
    fresh = Fernet.generate_key()
    old_ring = crypto.current()
    ring = crypto.Keyring([fresh, crypto.derive_key(SECRET)])
    with backend.database.transaction() as session:
        assert crypto.reseal_all(session, Base.metadata, ring) >= 2
    after = stored()
    assert after != before
    assert Fernet(fresh).decrypt(after[0].encode()).decode() == newest
    crypto.install(ring)
    try:
        hooks.agent()
        assert worker_for(backend).run_once() == 1
        got = receiver.received[-1]
        assert Webhook(newest).verify(got.body, got.headers)["type"] == "agent.created"
    finally:
        crypto.install(old_ring)
