"""Worker loops: a pass over due work, repeated until stopped, in a thread or a process.

The release worker and the webhook delivery worker share this: a failed pass (a database
restart, a bug on one row) is logged and tried again, never fatal, and an idle pass waits
``poll_seconds`` before the next. The server's timers (pruning, health changes falling due)
are ``every``: the same rule, as a task on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger("callplane.workers")


def poll(stop: threading.Event, poll_seconds: float, work: Callable[[], int], name: str) -> None:
    """Run ``work`` (it returns how much it did) until ``stop`` is set."""
    while not stop.is_set():
        try:
            worked = work()
        except Exception:
            log.exception("%s pass failed; retrying", name)
            worked = 0
        if not worked:
            stop.wait(poll_seconds)


async def every(seconds: float, work: Callable[[], Awaitable[object]], name: str) -> None:
    """Await ``work`` every ``seconds`` for as long as the task runs; a failure is logged."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.warning("%s failed; trying again in %s s", name, seconds, exc_info=True)


class Runs(Protocol):
    """A worker loop that runs until its event is set (releases, webhook deliveries)."""

    def run(self, stop: threading.Event, poll_seconds: float) -> None: ...


class BackgroundWorker:
    """A worker loop as a daemon thread, for ``callplane serve``."""

    def __init__(self, worker: Runs, poll_seconds: float, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run, args=(self._stop, poll_seconds), name=name, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
