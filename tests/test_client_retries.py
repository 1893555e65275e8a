"""Retries: with backoff and jitter, honouring Retry-After, and only where a retry cannot do a
thing twice. A fake transport plays the server; the sleeps are recorded instead of slept."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx2
import pytest

from callplane.client import AsyncClient, Client, Conflict, RateLimited, RequestTimeout, ServerError
from callplane.client import TransportError as ClientTransportError

SUMMARY = {
    "total": 0,
    "monthly_cost_cents": 0,
    "by_status": {},
    "by_country": {},
    "by_type": {},
    "by_provider": {},
    "by_assignment": {},
}
OK = httpx2.Response(200, json={"data": SUMMARY, "meta": {"request_id": "req_ok", "ts": "-"}})


def error(status: int, code: str, retry_after: str | None = None) -> httpx2.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"code": code, "message": code}, "meta": {"request_id": "req_e", "ts": "-"}}
    return httpx2.Response(status, json=body, headers=headers)


class Script(httpx2.MockTransport):
    """Answers each request with the next outcome of the script, and keeps the requests."""

    def __init__(self, *outcomes: httpx2.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx2.Request] = []
        super().__init__(self.answer)

    def answer(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx2.Response(
            outcome.status_code, headers=outcome.headers, content=outcome.content
        )


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    return delays


def client(script: Script, **options: int) -> Client:
    return Client("http://callplane.test", "sk_test", transport=script, **options)  # type: ignore[arg-type]


def test_a_read_is_retried_on_503_with_growing_jittered_backoff(slept: list[float]) -> None:
    script = Script(error(503, "provider_unavailable"), error(500, "internal_error"), OK)
    assert client(script).numbers.summary().total == 0
    assert len(script.requests) == 3
    assert 0.375 <= slept[0] <= 0.5 and 0.75 <= slept[1] <= 1.0
    # Every attempt of one call carries the same request id, so the server's log ties them up.
    assert len({r.headers["X-Request-ID"] for r in script.requests}) == 1


def test_429_waits_as_long_as_retry_after_says(slept: list[float]) -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = Script(error(429, "rate_limited", "3"), error(429, "rate_limited", later), OK)
    client(script).numbers.summary()
    assert slept[0] == 3.0 and 28 <= slept[1] <= 30


def test_a_retry_after_beyond_a_minute_goes_to_the_caller(slept: list[float]) -> None:
    script = Script(error(429, "rate_limited", "120"))
    with pytest.raises(RateLimited) as limited:
        client(script).numbers.summary()
    assert limited.value.retry_after == 120 and slept == [] and len(script.requests) == 1


def test_retries_give_up_after_max_retries(slept: list[float]) -> None:
    script = Script(*(error(503, "provider_unavailable") for _ in range(4)))
    with pytest.raises(ServerError):
        client(script, max_retries=3).numbers.get("+12025550143")
    assert len(script.requests) == 4 and len(slept) == 3
    assert slept[2] <= 2.0


def test_max_retries_zero_turns_retries_off(slept: list[float]) -> None:
    script = Script(error(503, "provider_unavailable"))
    with pytest.raises(ServerError):
        client(script, max_retries=0).numbers.summary()
    assert len(script.requests) == 1 and slept == []
    shared = client(Script(error(503, "x")))
    assert shared.with_options(max_retries=0).max_retries == 0 and shared.max_retries == 2


def test_puts_and_deletes_are_retried_unkeyed_posts_are_not(slept: list[float]) -> None:
    deleted = Script(error(502, "bad_gateway"), error(404, "number_not_found"))
    with pytest.raises(Exception, match="number_not_found"):
        client(deleted).numbers.delete("+12025550143")
    assert [r.method for r in deleted.requests] == ["DELETE", "DELETE"]

    posted = Script(error(503, "unavailable"))
    with pytest.raises(ServerError):
        client(posted).routing.select_caller_id("agt_x", "+12125550199")
    assert len(posted.requests) == 1  # a caller ID may have been taken: never sent twice
    assert "idempotency-key" not in posted.requests[0].headers

    read_timeout = Script(httpx2.ReadTimeout("slow"))
    with pytest.raises(RequestTimeout):
        client(read_timeout).routing.select_caller_id("agt_x", "+12125550199")
    assert len(read_timeout.requests) == 1


def test_a_post_is_retried_when_the_server_did_nothing(slept: list[float]) -> None:
    selection = Script(
        httpx2.ConnectError("refused"),  # never left the machine
        error(429, "rate_limited", "1"),  # refused before any work
        error(409, "concurrent_modification"),  # rolled back, and the server says so
        error(409, "number_already_assigned"),  # a real conflict: final
    )
    with pytest.raises(Conflict) as conflict:
        client(selection, max_retries=5).numbers.assign("+12025550143", "agt_x")
    assert conflict.value.code == "number_already_assigned"
    assert [r.method for r in selection.requests] == ["POST"] * 4


def test_connection_errors_end_as_a_transport_error(slept: list[float]) -> None:
    script = Script(*(httpx2.ConnectError("refused") for _ in range(3)))
    with pytest.raises(ClientTransportError) as down:
        client(script).agents.get("agt_x")
    assert len(script.requests) == 3 and "http://callplane.test" in str(down.value)


def test_the_async_client_retries_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr("callplane.client._client.anyio.sleep", record)
    script = Script(error(429, "rate_limited", "2"), error(503, "provider_unavailable"), OK)

    async def main() -> int:
        async with AsyncClient("http://callplane.test", "k", transport=script) as client:
            return (await client.numbers.summary()).total

    assert asyncio.run(main()) == 0
    assert delays[0] == 2.0 and 0.75 <= delays[1] <= 1.0 and len(script.requests) == 3
