"""Per-key request limits in fixed one-minute windows.

With several server processes the count must be shared, so ``CALLPLANE_REDIS_URL`` selects a
Redis counter; without it each process counts on its own (fine for one process, and for tests).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

from callplane.core.errors import DomainError

WINDOW_SECONDS = 60


class RateLimited(DomainError):
    status = 429


class Counter(Protocol):
    def increment(self, key: str, window: int) -> int: ...


class MemoryCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def increment(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2)

    def increment(self, key: str, window: int) -> int:
        name = f"callplane:ratelimit:{key}:{window}"
        pipeline = self._redis.pipeline()
        pipeline.incr(name)
        pipeline.expire(name, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        return int(count)


class RateLimiter:
    def __init__(self, per_minute: int, counter: Counter) -> None:
        self.per_minute = per_minute
        self.counter = counter

    def check(self, key: object) -> None:
        if self.per_minute <= 0:
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if self.counter.increment(str(key), window) > self.per_minute:
            retry_after = int((window + 1) * WINDOW_SECONDS - now) + 1
            raise RateLimited(
                "rate_limited",
                f"more than {self.per_minute} requests in a minute with this API key; "
                f"retry in {retry_after} s",
                {"limit_per_minute": self.per_minute, "retry_after": retry_after},
            )


def build_rate_limiter(per_minute: int, redis_url: str | None) -> RateLimiter:
    return RateLimiter(per_minute, RedisCounter(redis_url) if redis_url else MemoryCounter())
