"""Redis down or black-holed: every surface keeps answering, limits hold per process, and
``/readyz`` says so. (The shared Redis of the test machine is never stopped: a closed port and a
socket that never answers stand in for it.)"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from callplane.core import ratelimit
from callplane.core.ratelimit import RateLimited, RateLimiter, SharedCounter
from tests.helpers import Tenant, settings_for
from tests.live_server import free_port, live_server


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture(params=["stopped", "black_hole"])
def broken_redis(request: pytest.FixtureRequest) -> str:
    if request.param == "stopped":
        return f"redis://127.0.0.1:{free_port()}/0"
    return str(request.getfixturevalue("black_hole"))


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def a_fresh_window(margin: float = 15.0) -> None:
    """Wait, if need be, until the rate limit's minute has ``margin`` seconds left: a test that
    counts requests against the limit must not see the window turn between them."""
    left = ratelimit.WINDOW_SECONDS - time.time() % ratelimit.WINDOW_SECONDS
    if left < margin:
        time.sleep(left + 0.05)


def test_every_surface_answers_and_limits_per_process(
    tenant: Tenant, broken_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tenant.backend).model_copy(
        update={"rate_limit_per_minute": 3, "redis_url": broken_redis}
    )
    asked: list[str] = []
    ask_redis = ratelimit.RedisCounter.increment

    async def counted(self: ratelimit.RedisCounter, key: str, window: int) -> int:
        asked.append(key)
        return await ask_redis(self, key, window)

    monkeypatch.setattr(ratelimit.RedisCounter, "increment", counted)
    recorder = Recorder()
    logging.getLogger("callplane.ratelimit").addHandler(recorder)
    with TestClient(create_app(settings, tenant.backend.database)) as client:
        a_fresh_window()
        statuses = [
            client.get(path, headers=tenant.auth).status_code
            for path in (
                "/v1/agents",
                "/v1/routing/inbound?to=%2B12025550100",
                "/compat/callingbox/v1/agents/nope",
                "/v1/agents",
            )
        ]
        assert statuses == [200, 404, 404, 429]  # the fourth is over 3 a minute: still limited
        assert len(asked) == 1  # one Redis timeout at most, not one per request
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "degraded", "database": "ok", "redis": "unreachable"}
    logging.getLogger("callplane.ratelimit").removeHandler(recorder)
    warnings = recorder.records
    assert len(warnings) == 1  # one line per interval, not one per request
    assert "counted per process" in warnings[0].getMessage()


def test_readyz_says_ok_with_a_healthy_redis(tenant: Tenant) -> None:
    settings = settings_for(tenant.backend).model_copy(
        update={"redis_url": "redis://127.0.0.1:6379/0"}
    )
    with TestClient(create_app(settings, tenant.backend.database)) as client:
        assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_a_black_holed_redis_never_blocks_the_event_loop(
    tenant: Tenant, black_hole: str, tmp_path: Path
) -> None:
    tenant.number("+12025550170")
    settings = {
        "CALLPLANE_REDIS_URL": black_hole,
        "CALLPLANE_RATE_LIMIT_PER_MINUTE": "1000",
        "CALLPLANE_REDIS_TIMEOUT_SECONDS": "3",  # long, so that a blocked loop shows plainly
    }

    async def load(base_url: str) -> tuple[float, float]:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        async with httpx2.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
            keyed = [
                client.get(path)
                for path in ("/v1/agents", "/v1/routing/inbound?to=%2B12025550170") * 5
            ]
            started = time.monotonic()
            waiting = asyncio.gather(*keyed)
            await asyncio.sleep(0.5)  # the ten are waiting for Redis by now
            asked = time.monotonic()
            assert (await client.get("/healthz")).status_code == 200
            health = time.monotonic() - asked
            responses = await waiting
            assert {r.status_code for r in responses} == {200}
            return time.monotonic() - started, health

    with live_server(tenant.backend.url, tmp_path / "server.log", settings) as base_url:
        everything, health = asyncio.run(load(base_url))
        # A synchronous Redis call would hold the loop 3 s per request (30 s for the ten, and
        # the probe, asked half a second in, behind at least 2.5 s of it); awaited, the ten
        # wait out one timeout together and the probe waits for none. The bounds leave room
        # for a busy test machine.
        assert health < 2.0
        assert everything < 10.0
        assert httpx2.get(f"{base_url}/readyz").json()["redis"] == "unreachable"


class FlakyRedis:
    """Stands in for RedisCounter: down until ``up`` is set."""

    url = "redis://flaky"

    def __init__(self) -> None:
        self.up = False
        self.counts: dict[str, int] = {}

    async def increment(self, key: str, window: int) -> int:
        if not self.up:
            raise ConnectionError("down")
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    async def ping(self) -> None:
        if not self.up:
            raise ConnectionError("down")


def test_the_limiter_goes_back_to_redis_when_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_SECONDS", 0.0)
    redis = FlakyRedis()
    counter = SharedCounter(redis)  # type: ignore[arg-type]
    limiter = RateLimiter(2, counter)

    async def scenario() -> None:
        await limiter.check("key")  # Redis down: counted here
        assert counter.degraded is not None
        redis.up = True
        await limiter.check("key")  # still local; a probe starts in the background
        await asyncio.sleep(0)
        assert counter.degraded is None
        await limiter.check("key")  # shared again
        assert redis.counts == {"key": 1}
        await limiter.check("key")
        with pytest.raises(RateLimited):
            await limiter.check("key")  # two in Redis, then the third

    asyncio.run(scenario())
    assert counter.degraded_total == 2
