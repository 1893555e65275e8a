"""SQLite: the writing transactions of one process take turns, first come first served.

SQLite lets one transaction write at a time. Without this queue, every writer beyond the first
waits in SQLite's busy handler, which sleeps and retries (1, 2, 5 … 100 ms between tries) and
serves nobody in order: under 32 concurrent writers a few waited 2-3 s while the lock was
free most of that time (docs/benchmarks.md, writes). Here a writer waits on a queue instead and
is handed the lock the moment the previous writer's COMMIT or ROLLBACK returns, so writes are
served in arrival order and the database lock is never idle while a writer waits.

The queue is per process and per engine: other processes (``--workers 2``, the CLI) and the
hot path's raw connections still meet at SQLite's own lock, as before. A writer that waits
longer than the connection's busy timeout fails as SQLite's own wait would ("database is
locked"), so a stuck writer cannot hang the others forever.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection


class FifoLock:
    """A lock handed to its waiters in arrival order, with a timeout."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[_Waiter] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            waiter = _Waiter()
            self._waiters.append(waiter)
        if waiter.granted.wait(timeout):
            return True
        with self._mutex:
            if waiter.granted.is_set():  # handed over just as the wait ran out: it is ours
                return True
            self._waiters.remove(waiter)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().granted.set()  # still held: handed straight over
            else:
                self._held = False


class _Waiter:
    __slots__ = ("granted",)

    def __init__(self) -> None:
        self.granted = threading.Event()


def serialize_writes(engine: Engine, write_option: str, timeout: float) -> None:
    """Queue the writing transactions (``write_option`` set) of ``engine`` on a FIFO lock.

    Taken before the ``BEGIN IMMEDIATE`` (so this must be installed before the listener that
    emits it: listeners run in the order they were added), given back once the COMMIT or
    ROLLBACK returned (or the connection was dropped), by the connection that took it.
    """
    lock = FifoLock()
    holder: dict[str, Any] = {"connection": None}

    def give_back(connection: Any) -> None:
        # SQLAlchemy passes the pool's proxy to do_commit/do_rollback, the raw one to events.
        if holder["connection"] is getattr(connection, "dbapi_connection", connection):
            holder["connection"] = None
            lock.release()

    @event.listens_for(engine, "begin")
    def _take(connection: Connection) -> None:
        if not connection.get_execution_options().get(write_option, False):
            return
        if not lock.acquire(timeout):
            raise sqlite3.OperationalError("database is locked")
        holder["connection"] = connection.connection.dbapi_connection

    dialect: Any = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            give_back(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            give_back(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    @event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        give_back(dbapi_connection)

    @event.listens_for(engine, "invalidate")
    def _invalidated(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        give_back(dbapi_connection)
