"""Per-key request limits in fixed one-minute windows, shared through Redis when configured.

With several server processes the count must be shared, so ``CALLPLANE_REDIS_URL`` selects a
Redis counter; without it each process counts on its own (fine for one process, and for tests).

Redis is not allowed to become a single point of failure: every call is asynchronous (the event
loop never waits on a socket) and gives up after ``redis_timeout_seconds``. When Redis fails, the
limiter keeps limiting with a per-process count (so with N processes a key may get up to N times
its limit), logs one warning per ``WARN_INTERVAL_SECONDS`` with the number of checks counted
locally, and lets one background probe per ``RETRY_SECONDS`` find out whether Redis is back; no
request waits on a Redis that is known to be down. ``/readyz`` reports the degradation.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from callplane.core.errors import DomainError

WINDOW_SECONDS = 60
RETRY_SECONDS = 5.0
WARN_INTERVAL_SECONDS = 60.0

log = logging.getLogger("callplane.ratelimit")


class RateLimited(DomainError):
    status = 429


class Counter(Protocol):
    async def increment(self, key: str, window: int) -> int: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    async def increment(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    """One pipelined INCR + EXPIRE per check; no retries, a hard deadline per call."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._redis: redis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> redis.Redis:
        """The client of the running event loop (its connections cannot serve another loop)."""
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = redis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
            self._loop = loop
        return self._redis

    async def increment(self, key: str, window: int) -> int:
        name = f"callplane:ratelimit:{key}:{window}"
        async with asyncio.timeout(self.timeout):
            async with self._client().pipeline() as pipeline:
                pipeline.incr(name)
                pipeline.expire(name, WINDOW_SECONDS * 2)
                count, _ = await pipeline.execute()
        return int(count)

    async def ping(self) -> None:
        async with asyncio.timeout(self.timeout):
            await self._client().ping()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


@dataclass
class Degradation:
    """While Redis is failing: since when, why, and how many checks were counted locally."""

    since: float
    reason: str
    local_checks: int = 0
    last_warning: float = 0.0
    probing: bool = False
    next_probe: float = 0.0


class SharedCounter:
    """The Redis count, or the per-process one while Redis is failing (see the module doc)."""

    def __init__(self, shared: RedisCounter) -> None:
        self.shared = shared
        self.local = MemoryCounter()
        self.degraded: Degradation | None = None
        self.degraded_total = 0  # checks counted locally since start: the warning metric
        self._probe_task: asyncio.Task[None] | None = None  # kept: the loop holds tasks weakly

    async def increment(self, key: str, window: int) -> int:
        if self.degraded is None:
            try:
                return await self.shared.increment(key, window)
            except (RedisError, OSError, TimeoutError) as exc:
                self._fail(exc)
        return await self._increment_locally(key, window)

    async def status(self) -> str:
        """``ok`` or ``unreachable``; asks Redis unless it is already known to be down."""
        if self.degraded is None:
            try:
                await self.shared.ping()
            except (RedisError, OSError, TimeoutError) as exc:
                self._fail(exc)
        if self.degraded is not None:
            self._probe_when_due(self.degraded)
        return "ok" if self.degraded is None else "unreachable"

    def _fail(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.degraded is None:
            reason = f"{type(exc).__name__}: {exc}"[:200]
            self.degraded = Degradation(since=now, reason=reason, next_probe=now + RETRY_SECONDS)

    async def _increment_locally(self, key: str, window: int) -> int:
        degraded = self.degraded
        assert degraded is not None
        degraded.local_checks += 1
        self.degraded_total += 1
        now = time.monotonic()
        if now - degraded.last_warning >= WARN_INTERVAL_SECONDS:
            degraded.last_warning = now
            log.warning(
                "redis unreachable at %s for %.0f s (%s); rate limits are counted per process "
                "(%d checks so far)",
                self.shared.url,
                now - degraded.since,
                degraded.reason,
                degraded.local_checks,
            )
        self._probe_when_due(degraded)
        return await self.local.increment(key, window)

    def _probe_when_due(self, degraded: Degradation) -> None:
        """At most one background probe at a time, one per ``RETRY_SECONDS``."""
        if not degraded.probing and time.monotonic() >= degraded.next_probe:
            degraded.probing = True
            self._probe_task = asyncio.get_running_loop().create_task(self._probe(degraded))

    async def _probe(self, degraded: Degradation) -> None:
        try:
            await self.shared.ping()
        except (RedisError, OSError, TimeoutError):
            degraded.next_probe = time.monotonic() + RETRY_SECONDS
        else:
            log.warning(
                "redis reachable again; rate limits are shared (%d checks were counted "
                "per process)",
                degraded.local_checks,
            )
            self.degraded = None
        finally:
            degraded.probing = False


class RateLimiter:
    def __init__(self, per_minute: int, counter: Counter) -> None:
        self.per_minute = per_minute
        self.counter = counter

    async def check(self, key: object) -> None:
        if self.per_minute <= 0:
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if await self.counter.increment(str(key), window) > self.per_minute:
            retry_after = int((window + 1) * WINDOW_SECONDS - now) + 1
            raise RateLimited(
                "rate_limited",
                f"more than {self.per_minute} requests in a minute with this API key; "
                f"retry in {retry_after} s",
                {"limit_per_minute": self.per_minute, "retry_after": retry_after},
            )

    async def close(self) -> None:
        """Close the Redis connections (at shutdown, on the loop that opened them)."""
        if isinstance(self.counter, SharedCounter):
            await self.counter.shared.close()

    async def redis_status(self) -> str:
        """For ``/readyz``: ``not_configured``, ``ok`` or ``unreachable``."""
        if not isinstance(self.counter, SharedCounter):
            return "not_configured"
        return await self.counter.status()


def build_rate_limiter(per_minute: int, redis_url: str | None, timeout: float) -> RateLimiter:
    counter: Counter = (
        SharedCounter(RedisCounter(redis_url, timeout)) if redis_url else MemoryCounter()
    )
    return RateLimiter(per_minute, counter)
