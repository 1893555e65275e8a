"""In-process caches for the hot path, and how they learn about changes made anywhere.

A resolution must see a change as soon as the change has committed, on every process. Each
cache entry remembers the generation of its workspace when it was loaded; a change notification
bumps that generation, which makes every older entry stale at once. Notifications come from
PostgreSQL ``LISTEN/NOTIFY`` (sent in the transaction that made the change, so only committed
changes are announced) or, on SQLite, from ``PRAGMA data_version``, which moves whenever any
other connection, in any process, commits. Both are checked before every lookup, without waiting.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from callplane.events.service import CHANGES_CHANNEL

log = logging.getLogger("callplane.routing")
V = TypeVar("V")
_MISSING = object()


class ChangeFeed(Protocol):
    def poll(self, on_workspace: Callable[[uuid.UUID], None], on_all: Callable[[], None]) -> bool:
        """Apply pending notifications; False while the feed is down (caches must not be used)."""
        ...

    def fileno(self) -> int | None: ...

    def close(self) -> None: ...


class PostgresChangeFeed:
    """A dedicated LISTEN connection, drained without blocking before each lookup."""

    RECONNECT_SECONDS = 1.0

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._next_attempt = 0.0
        self._connect()

    def _connect(self) -> None:
        try:
            connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3)
            connection.execute(f"LISTEN {CHANGES_CHANNEL}")
            self._connection = connection
        except psycopg.Error:
            log.warning("change feed: cannot LISTEN; caches off until it reconnects")
            self._connection = None
            self._next_attempt = time.monotonic() + self.RECONNECT_SECONDS

    def fileno(self) -> int | None:
        return self._connection.pgconn.socket if self._connection else None

    def poll(self, on_workspace: Callable[[uuid.UUID], None], on_all: Callable[[], None]) -> bool:
        if self._connection is None:
            if time.monotonic() < self._next_attempt:
                return False
            self._connect()
            if self._connection is None:
                return False
            on_all()  # whatever happened while we were deaf
        pgconn = self._connection.pgconn
        try:
            pgconn.consume_input()
            while (notice := pgconn.notifies()) is not None:
                try:
                    on_workspace(uuid.UUID(notice.extra.decode()))
                except ValueError:
                    on_all()
        except psycopg.Error:
            log.warning("change feed: connection lost; caches off until it reconnects")
            self.close()
            self._next_attempt = time.monotonic() + self.RECONNECT_SECONDS
            on_all()
            return False
        return True

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SqliteChangeFeed:
    """SQLite has no notifications. ``PRAGMA data_version`` moves on every commit of another
    connection (any process); only then are the per-workspace change counters read, and only
    the workspaces whose counter moved are retired."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._data_version = self._read_data_version()
        self._counters = self._read_counters()

    def _read_data_version(self) -> int:
        return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def _read_counters(self) -> dict[str, int]:
        rows = self._connection.execute("SELECT workspace_id, version FROM change_counters")
        return {str(workspace): int(version) for workspace, version in rows}

    def fileno(self) -> int | None:
        return None

    def poll(self, on_workspace: Callable[[uuid.UUID], None], on_all: Callable[[], None]) -> bool:
        data_version = self._read_data_version()
        if data_version == self._data_version:
            return True
        self._data_version = data_version
        counters = self._read_counters()
        for workspace, version in counters.items():
            if self._counters.get(workspace) != version:
                on_workspace(uuid.UUID(workspace))
        self._counters = counters
        return True

    def close(self) -> None:
        self._connection.close()


def change_feed_for(engine: Engine) -> ChangeFeed:
    url = engine.url
    if url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresChangeFeed(conninfo)
    database = make_url(str(url)).database or ""
    return SqliteChangeFeed(database)


class WorkspaceCache(Generic[V]):
    """A bounded LRU whose entries die when their workspace changes."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[uuid.UUID, str], tuple[int, int, V]] = OrderedDict()
        self._generations: dict[uuid.UUID, int] = {}
        self._epoch = 0

    def generation(self, workspace_id: uuid.UUID) -> tuple[int, int]:
        return self._epoch, self._generations.get(workspace_id, 0)

    def get(self, workspace_id: uuid.UUID, key: str) -> V | object:
        entry = self._entries.get((workspace_id, key))
        if entry is None or (entry[0], entry[1]) != self.generation(workspace_id):
            return _MISSING
        self._entries.move_to_end((workspace_id, key))
        return entry[2]

    def put(self, workspace_id: uuid.UUID, key: str, value: V, generation: tuple[int, int]) -> None:
        if self.max_entries <= 0 or generation != self.generation(workspace_id):
            return  # loaded before a change: never store what may already be stale
        self._entries[(workspace_id, key)] = (generation[0], generation[1], value)
        self._entries.move_to_end((workspace_id, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate_workspace(self, workspace_id: uuid.UUID) -> None:
        self._generations[workspace_id] = self._generations.get(workspace_id, 0) + 1

    def invalidate_all(self) -> None:
        self._epoch += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


MISSING = _MISSING
