"""Raw database access for the per-call paths: a small pool of DBAPI connections, no ORM.

Each call of callplane's hot paths (inbound resolution, caller-ID selection) is a handful of
fixed statements. Through the ORM their Python cost was ten times the database's; here each is
a prepared statement on a connection in autocommit mode (no BEGIN/COMMIT round trip for a
single read, no liveness ping), and transactions are written out where one is needed.

The statements are written once with ``:name`` parameters; this module adapts them, and the
values that SQLAlchemy stores differently per database (UUIDs, timestamps, JSON, booleans),
to the driver in use, so the rows read and written here are the rows the ORM reads and writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from anyio import CapacityLimiter, to_thread
from sqlalchemy import Engine

T = TypeVar("T")
Row = Sequence[Any]
_PARAMETER = re.compile(r"(?<!:):(\w+)")
# SQLAlchemy's text form of a timestamp on SQLite; text order is time order.
_SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


class Transaction:
    discarded = False

    def discard(self) -> None:
        """Roll back instead of committing: a dry run that decides everything and keeps nothing."""
        self.discarded = True


class HotConnection:
    """One raw connection with the project's value conventions."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def one(self, sql: str, params: dict[str, Any]) -> Row | None:
        row: Row | None = self.raw.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: dict[str, Any]) -> list[Row]:
        rows: list[Row] = self.raw.execute(sql, params).fetchall()
        return rows

    def run(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.raw.execute(sql, params or {})

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """BEGIN (IMMEDIATE on SQLite: writers queue on the lock instead of failing late);
        COMMIT at the end unless the block raised or called ``discard()``."""
        self.raw.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        transaction = Transaction()
        try:
            yield transaction
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("ROLLBACK" if transaction.discarded else "COMMIT")

    def uuid(self, value: uuid.UUID) -> uuid.UUID | str:
        return uuid_for(value, self.postgres)

    def timestamp(self, value: dt.datetime) -> dt.datetime | str:
        return timestamp_for(value, self.postgres)


def uuid_for(value: uuid.UUID, postgres: bool) -> uuid.UUID | str:
    """A UUID as SQLAlchemy stores it: native on PostgreSQL, 32 hex digits on SQLite."""
    return value if postgres else value.hex


def timestamp_for(value: dt.datetime, postgres: bool) -> dt.datetime | str:
    """A timestamp as SQLAlchemy stores it: native on PostgreSQL, UTC text on SQLite."""
    return value if postgres else value.astimezone(dt.UTC).strftime(_SQLITE_TIMESTAMP)


def uuid_of(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


def json_of(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def timestamp_of(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value is not None else None
    return dt.datetime.strptime(value, _SQLITE_TIMESTAMP).replace(tzinfo=dt.UTC)


class HotPool:
    """At most ``size`` raw connections, each used by one worker thread at a time; and, for
    single reads, connections the event loop uses itself (``one``)."""

    def __init__(self, engine: Engine, size: int) -> None:
        self.size = size
        url = engine.url
        self.postgres = url.get_backend_name() == "postgresql"
        if self.postgres:
            self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.errors: tuple[type[Exception], ...] = (psycopg.OperationalError,)
        else:
            self._path = url.database or ""
            self.errors = (sqlite3.OperationalError,)
        self._idle: queue.SimpleQueue[HotConnection] = queue.SimpleQueue()
        self._limiter = CapacityLimiter(size)
        self._reads: _LoopReads | None = None

    def uuid(self, value: uuid.UUID) -> uuid.UUID | str:
        return uuid_for(value, self.postgres)

    async def one(self, sql: str, params: dict[str, Any]) -> Row | None:
        """One read on the event loop itself, without a worker thread.

        A read is one indexed statement: handing it to a thread cost more than the statement
        (docs/benchmarks.md, per-call paths). SQLite answers in microseconds in this process
        and a WAL reader takes no lock, so it runs inline; PostgreSQL is awaited on an
        asynchronous connection. There, in autocommit, it may also be a write that is whole in
        one statement (a caller-ID selection): retried on a new connection only when the old
        one was dropped, which at worst counts a selection twice (a cap stricter, never looser).
        """
        rows = await self._loop_reads().query(sql, params, first=True)
        return rows[0] if rows else None

    async def all(self, sql: str, params: dict[str, Any]) -> list[Row]:
        """Every row of one read, on the event loop itself like ``one``."""
        return await self._loop_reads().query(sql, params, first=False)

    def _loop_reads(self) -> _LoopReads:
        loop = asyncio.get_running_loop()
        if self._reads is None or self._reads.loop is not loop:
            if self._reads is not None:
                self._reads.abandon()
            self._reads = _LoopReads(loop, self)
        return self._reads

    async def write(self, sql: str, params: dict[str, Any]) -> Row | None:
        """One statement that writes, committed on its own (autocommit), and its first row.

        On PostgreSQL it is awaited on the event loop's connections, like ``one``, and waits
        for the disk like any commit: a caller-ID selection is written there too, and a cap
        must not be forgotten by a crash (not waiting measured no faster for the Twilio replay
        record, docs/benchmarks.md). On SQLite it goes to a worker thread: a writer may wait
        for the database's one write lock, and on the loop's own connection that wait would
        stall every other request.
        """
        if self.postgres:
            return await self.one(sql, params)
        return await self.run(lambda connection: connection.one(sql, params))

    def timestamp(self, value: dt.datetime) -> dt.datetime | str:
        return timestamp_for(value, self.postgres)

    def statement(self, sql: str, *, postgres_only: str = "") -> str:
        """``:name`` parameters in the driver's style; ``postgres_only`` appended there only."""
        if not self.postgres:
            return sql
        return _PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%")) + postgres_only

    async def run(self, work: Callable[[HotConnection], T]) -> T:
        return await to_thread.run_sync(self._run, work, limiter=self._limiter)

    def _run(self, work: Callable[[HotConnection], T]) -> T:
        """``work`` on a pooled connection; a connection that broke (a restart) is replaced once.

        Only a failure to reach the database is retried: ``work`` is all or nothing (one
        statement, or one transaction), so a retry on a fresh connection cannot apply it twice.
        """
        for attempt in (1, 2):
            connection = self._checkout()
            try:
                result = work(connection)
            except self.errors:
                broken = self._broken(connection)
                connection.raw.close()
                if attempt == 2 or not broken:
                    raise
                continue
            except BaseException:
                self._idle.put(connection)
                raise
            self._idle.put(connection)
            return result
        raise AssertionError("unreachable")

    def _broken(self, connection: HotConnection) -> bool:
        return bool(self.postgres and connection.raw.closed)

    def _checkout(self) -> HotConnection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return HotConnection(self._connect(), self.postgres)

    def _connect(self) -> Any:
        if self.postgres:
            # prepare_threshold=0: each statement is prepared on its first use.
            return psycopg.connect(
                self._conninfo, autocommit=True, prepare_threshold=0, connect_timeout=5
            )
        raw = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        raw.execute("PRAGMA busy_timeout=30000")
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA synchronous=NORMAL")  # as the engine's connections: WAL, no fsync
        return raw

    def close(self) -> None:
        if self._reads is not None:
            self._reads.abandon()
            self._reads = None
        while True:
            try:
                self._idle.get_nowait().raw.close()
            except queue.Empty:
                return


class _LoopReads:
    """The read connections of one event loop (a test client may start several loops)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pool: HotPool) -> None:
        self.loop = loop
        self.pool = pool
        self._sqlite: sqlite3.Connection | None = None
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(pool.size)

    async def query(self, sql: str, params: dict[str, Any], first: bool) -> list[Row]:
        """The rows of one statement; only the first (if any) when ``first``."""
        if not self.pool.postgres:
            if self._sqlite is None:
                self._sqlite = self.pool._connect()
                # Blocking the loop is acceptable for microseconds, never for a lock wait.
                self._sqlite.execute("PRAGMA busy_timeout=250")
            found = self._sqlite.execute(sql, params)
            if first:
                row = found.fetchone()
                return [] if row is None else [row]
            rows: list[Row] = found.fetchall()
            return rows
        async with self._slots:
            for attempt in (1, 2):
                connection = self._idle.pop() if self._idle else await self._connect()
                try:
                    cursor = await connection.execute(sql, params)
                    if first:
                        row = await cursor.fetchone()
                        rows = [] if row is None else [row]
                    else:
                        rows = await cursor.fetchall()
                except psycopg.OperationalError:
                    broken = connection.closed
                    await connection.close()
                    if attempt == 2 or not broken:
                        raise
                    continue  # a connection the server dropped (a restart): once, on a new one
                except BaseException:
                    await connection.close()
                    raise
                self._idle.append(connection)
                return rows
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.pool._conninfo, autocommit=True, prepare_threshold=0, connect_timeout=5
        )

    def abandon(self) -> None:
        """Close what this loop held; its loop may be gone, so without awaiting."""
        if self._sqlite is not None:
            self._sqlite.close()
        for connection in self._idle:
            connection.pgconn.finish()
        self._idle.clear()
