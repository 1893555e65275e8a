"""Failed authentications, limited per client address: guessing keys is slow and it shows.

An address that fails ``per_minute`` times in a minute gets 429 for every authenticated request
until the minute is over, whether the next key it tries is right or wrong: otherwise a 200 among
the 429s would still tell a guesser which key works. Successful requests count nothing, so a
busy client with a good key is never slowed down. IPv6 clients count per /64, the block one
subscriber usually holds.

Every failure is logged (address, reason; never the key) until the address is blocked; then one
line says it is blocked, so an attack costs at most ``per_minute`` + 1 log lines per address
and minute. The counts are per process (a deployment of N processes allows N times as many
guesses); the table is bounded, and a flood of addresses that fills it empties it.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from starlette.requests import HTTPConnection

from callplane.core.errors import Unauthenticated
from callplane.core.ratelimit import WINDOW_SECONDS, RateLimited

log = logging.getLogger("callplane.auth")
MAX_ADDRESSES = 100_000


def client_address(connection: HTTPConnection) -> str:
    """The address failures are counted under: the peer, an IPv6 peer by its /64."""
    return _counted_address(connection.client.host if connection.client else "unknown")


@functools.lru_cache(maxsize=4096)
def _counted_address(host: str) -> str:
    """Parsed once per peer: the per-call paths ask on every request (7% of a resolution)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class FailedAuthGuard:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._failures: dict[str, int] = {}

    @contextmanager
    def watch(self, address: str) -> Iterator[None]:
        """Refuse a blocked address; count the Unauthenticated error the body raises."""
        self.check(address)
        try:
            yield
        except Unauthenticated as exc:
            self.failed(address, exc.code)
            raise

    def check(self, address: str) -> None:
        if self.per_minute <= 0:
            return
        with self._lock:
            failures = self._count(address)
        if failures >= self.per_minute:
            raise self._blocked()

    def failed(self, address: str, reason: str) -> None:
        if self.per_minute <= 0:
            return
        with self._lock:
            failures = self._count(address) + 1
            if len(self._failures) >= MAX_ADDRESSES and address not in self._failures:
                self._failures.clear()
            self._failures[address] = failures
        if failures < self.per_minute:
            log.warning("failed authentication from %s: %s", address, reason)
        elif failures == self.per_minute:
            log.warning(
                "failed authentication from %s: %s; %d failures this minute, address blocked",
                address,
                reason,
                failures,
            )

    def _count(self, address: str) -> int:
        window = int(self.clock() // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._failures = window, {}
        return self._failures.get(address, 0)

    def _blocked(self) -> RateLimited:
        retry_after = int(WINDOW_SECONDS - self.clock() % WINDOW_SECONDS) + 1
        return RateLimited(
            "too_many_failed_authentications",
            f"more than {self.per_minute} failed authentications from this address in a "
            f"minute; retry in {retry_after} s",
            {"limit_per_minute": self.per_minute, "retry_after": retry_after},
        )
