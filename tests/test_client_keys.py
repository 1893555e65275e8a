"""The client's idempotency keys and If-Match: keyed POSTs are retried with one key; a stale
ETag is a ``PreconditionFailed`` carrying the current one. A fake transport plays the server for
the retries, the real app in process for the rest."""

from __future__ import annotations

import time
import uuid

import httpx2
import pytest

from callplane.client import Client, PreconditionFailed, ServerError
from tests.client_support import client_for
from tests.helpers import Tenant
from tests.test_client_retries import Script, error

AGENT = {
    "id": "agt_x",
    "workspace_id": "ws_x",
    "name": "A",
    "type": "outbound",
    "persona": None,
    "instructions": None,
    "voice": None,
    "language": None,
    "webhook_url": None,
    "voicemail_action": "hangup",
    "primary_number_id": None,
    "archived_at": None,
    "created_at": "2026-11-27T00:00:00Z",
    "updated_at": "2026-11-27T00:00:00Z",
    "metadata": {},
    "returns": {},
    "tools": None,
    "outbound_strategy": "primary",
    "allowed_outbound_countries": None,
    "stream_url": None,
    "when_all_benched": "refuse",
    "version": 1,
    "etag": '"x-1"',
}
CREATED = httpx2.Response(201, json={"data": AGENT, "meta": {"request_id": "req_ok", "ts": "-"}})


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    return delays


def fake(script: Script) -> Client:
    return Client("http://callplane.test", "sk_test", transport=script)  # type: ignore[arg-type]


def test_a_keyed_post_is_retried_with_the_same_key(slept: list[float]) -> None:
    script = Script(
        httpx2.ReadTimeout("no answer"),  # the agent may exist already: the key makes it safe
        error(503, "unavailable"),
        error(409, "idempotency_request_in_flight", "1"),  # the first attempt still running
        CREATED,
    )
    agent = fake(script).with_options(max_retries=3).agents.create("A", "outbound")
    assert agent.id == "agt_x" and agent.version == 1 and agent.etag == '"x-1"'
    keys = {r.headers["idempotency-key"] for r in script.requests}
    assert len(script.requests) == 4 and len(keys) == 1
    assert uuid.UUID(keys.pop()).version == 4
    assert slept[2] == 1.0  # Retry-After of the in-flight answer


def test_each_call_has_its_own_key_and_a_given_key_is_sent(slept: list[float]) -> None:
    script = Script(CREATED, CREATED, CREATED)
    client = fake(script)
    client.agents.create("A", "outbound")
    client.agents.create("A", "outbound")
    client.agents.create("A", "outbound", idempotency_key="job-42")
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert keys[0] != keys[1] and keys[2] == "job-42"


def test_an_in_flight_answer_to_an_unkeyed_request_is_final(slept: list[float]) -> None:
    script = Script(error(500, "internal_error"))
    with pytest.raises(ServerError):
        fake(script).routing.select_caller_id("agt_x", "+12125550199")
    assert len(script.requests) == 1


def test_keys_and_if_match_against_the_real_app(tenant: Tenant) -> None:
    with client_for(tenant) as client:
        first = client.agents.create("Support", "inbound", idempotency_key="support-1")
        again = client.agents.create("Support", "inbound", idempotency_key="support-1")
        assert again == first and len(list(client.agents.list())) == 1

        number = client.numbers.create("+12025550190")
        assert number.version == 1 and number.etag
        renamed = client.numbers.update(number.id, friendly_name="Desk", if_match=number.etag)
        assert renamed.version == 2
        with pytest.raises(PreconditionFailed) as stale:
            client.numbers.update(number.id, friendly_name="Lost", if_match=number.etag)
        assert stale.value.status_code == 412 and stale.value.etag == renamed.etag
        assert client.numbers.get(number.id).friendly_name == "Desk"
        with pytest.raises(PreconditionFailed):
            client.numbers.delete(number.id, if_match=number.etag)
        client.numbers.delete(number.id, if_match=renamed.etag)

        with pytest.raises(PreconditionFailed):
            client.agents.update(first.id, name="Lost", if_match='"stale"')
        archived = client.agents.archive(first.id, if_match=first.etag)
        assert archived.archived_at is not None
