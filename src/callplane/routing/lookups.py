"""The per-call lookups: one prepared statement, one round trip, and no cache.

Every call asks who answers a number, and the answer must reflect every change another server
has already acknowledged. An in-process cache can promise that only if each server hears of a
change before its next lookup; a notification cannot promise it (it may still be in flight when
the next call arrives), and checking a version per lookup costs the same round trip as the
lookup itself. So the lookup *is* the check: authentication, the number, its inbound agent and
the workspace's stream URL come back from one indexed query, always current, on every server.
Measured against the cached design in docs/benchmarks.md.

The statements bypass the ORM (a miss through it cost ten times the query) and run on a small
pool of raw DBAPI connections in autocommit mode: no BEGIN/COMMIT round trips, no liveness
ping, and on PostgreSQL server-side prepared statements.
"""

from __future__ import annotations

import json
import queue
import re
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from anyio import CapacityLimiter, to_thread
from sqlalchemy import Engine

from callplane.core.context import Actor
from callplane.core.errors import Unauthenticated
from callplane.core.secrets import hash_api_key
from callplane.routing.service import AgentRoute, InboundRoute

Row = Sequence[Any]

_ROUTE_COLUMNS = """
    n.id, n.e164, n.status, n.allowed_inbound_countries, n.fallback_action,
    n.fallback_destination, w.default_stream_url,
    a.id, a.name, a.type, a.persona, a.instructions, a.voice, a.language, a.webhook_url,
    a.voicemail_action, a.stream_url, a.archived_at
"""
_ROUTE_JOINS = """
    LEFT JOIN phone_numbers n ON n.workspace_id = w.id AND n.e164 = :e164
    LEFT JOIN assignments s ON s.number_id = n.id AND s.direction = 'inbound'
    LEFT JOIN agents a ON a.id = s.agent_id
"""
# The key, and the number in the key's workspace (NULLs when the number is not there).
RESOLVE_SQL = f"""
SELECT k.workspace_id, k.id, k.revoked_at, {_ROUTE_COLUMNS}
FROM api_keys k
JOIN workspaces w ON w.id = k.workspace_id
{_ROUTE_JOINS}
WHERE k.key_hash = :key_hash
"""  # noqa: S608 - constant fragments; values are bound parameters
# The workspace's Twilio settings, and the dialed number in it.
TWILIO_SQL = f"""
SELECT w.twilio_auth_token, {_ROUTE_COLUMNS}
FROM workspaces w
{_ROUTE_JOINS}
WHERE w.id = :workspace_id
"""  # noqa: S608 - constant fragments; values are bound parameters


@dataclass(frozen=True, slots=True)
class TelephonySettings:
    twilio_auth_token: str | None
    default_stream_url: str | None


class _Driver:
    """What differs between the databases: connecting, parameters and column decoding."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        self.postgres = url.get_backend_name() == "postgresql"
        if self.postgres:
            self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        else:
            self._path = url.database or ""

    def connect(self) -> Any:
        if self.postgres:
            # prepare_threshold=0: prepare on first use; autocommit: one round trip per lookup.
            return psycopg.connect(
                self._conninfo, autocommit=True, prepare_threshold=0, connect_timeout=5
            )
        connection = sqlite3.connect(
            self._path, check_same_thread=False, isolation_level=None, timeout=30
        )
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    def statement(self, sql: str) -> str:
        return re.sub(r":(\w+)", r"%(\1)s", sql) if self.postgres else sql

    def uuid_param(self, value: uuid.UUID) -> uuid.UUID | str:
        return value if self.postgres else value.hex

    def uuid_column(self, value: Any) -> uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)

    def json_column(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        return (psycopg.OperationalError,) if self.postgres else (sqlite3.OperationalError,)


class RouteLookups:
    """The hot path's reads, each one statement on a pooled raw connection in a worker thread."""

    def __init__(
        self, engine: Engine, secret: str, default_stream_url: str | None, connections: int
    ) -> None:
        self.secret = secret
        self.default_stream_url = default_stream_url
        self._driver = _Driver(engine)
        self._resolve_sql = self._driver.statement(RESOLVE_SQL)
        self._twilio_sql = self._driver.statement(TWILIO_SQL)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Bounds both the threads and the connections the hot path can hold at once.
        self._limiter = CapacityLimiter(connections)

    async def resolve(
        self, token: str, e164: str | None, request_id: str
    ) -> tuple[Actor, InboundRoute | None]:
        """The key's actor and the route of ``e164`` in its workspace, in one round trip."""
        row = await self._fetch(
            self._resolve_sql, {"key_hash": hash_api_key(token, self.secret), "e164": e164}
        )
        if row is None:
            raise Unauthenticated("invalid_api_key", "the API key is not valid")
        if row[2] is not None:
            raise Unauthenticated("revoked_api_key", "the API key has been revoked")
        workspace_id = self._driver.uuid_column(row[0])
        actor = Actor(workspace_id, self._driver.uuid_column(row[1]), request_id)
        return actor, self._route(workspace_id, row[3:])

    async def twilio(
        self, workspace_id: uuid.UUID, e164: str | None
    ) -> tuple[TelephonySettings, InboundRoute | None] | None:
        """The workspace's Twilio settings and the dialed number's route; None: no workspace."""
        row = await self._fetch(
            self._twilio_sql,
            {"workspace_id": self._driver.uuid_param(workspace_id), "e164": e164},
        )
        if row is None:
            return None
        settings = TelephonySettings(row[0], row[7] or self.default_stream_url)
        return settings, self._route(workspace_id, row[1:])

    def _route(self, workspace_id: uuid.UUID, row: Row) -> InboundRoute | None:
        if row[0] is None:
            return None
        (number_id, e164, status, countries, fallback_action, fallback_destination) = row[:6]
        workspace_stream_url, agent_id = row[6], row[7]
        agent = None
        if agent_id is not None:
            agent = AgentRoute(
                id=self._driver.uuid_column(agent_id),
                name=row[8],
                type=row[9],
                persona=row[10],
                instructions=row[11],
                voice=row[12],
                language=row[13],
                webhook_url=row[14],
                voicemail_action=row[15],
                stream_url=row[16] or workspace_stream_url or self.default_stream_url,
                archived=row[17] is not None,
            )
        countries = self._driver.json_column(countries)
        return InboundRoute(
            workspace_id=workspace_id,
            number_id=self._driver.uuid_column(number_id),
            e164=e164,
            status=status,
            allowed_inbound_countries=tuple(countries) if countries is not None else None,
            fallback_action=fallback_action,
            fallback_destination=fallback_destination,
            agent=agent,
        )

    async def _fetch(self, sql: str, params: dict[str, Any]) -> Row | None:
        return await to_thread.run_sync(self._run, sql, params, limiter=self._limiter)

    def _run(self, sql: str, params: dict[str, Any]) -> Row | None:
        """One statement; a connection that broke (a database restart) is replaced once."""
        for attempt in (1, 2):
            connection = self._checkout()
            try:
                row: Row | None = connection.execute(sql, params).fetchone()
            except self._driver.errors:
                connection.close()
                if attempt == 2:
                    raise
                continue
            self._idle.put(connection)
            return row
        raise AssertionError("unreachable")

    def _checkout(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._driver.connect()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
