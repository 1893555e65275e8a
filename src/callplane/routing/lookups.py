"""The per-call lookups: one prepared statement, one round trip, and no cache.

Every call asks who answers a number, and the answer must reflect every change another server
has already acknowledged. An in-process cache can promise that only if each server hears of a
change before its next lookup; a notification cannot promise it (it may still be in flight when
the next call arrives), and checking a version per lookup costs the same round trip as the
lookup itself. So the lookup *is* the check: authentication, the number, its inbound agent and
the workspace's stream URL come back from one indexed query, always current, on every server.
Measured against the cached design in docs/benchmarks.md.

The statements bypass the ORM (a lookup through it cost ten times the query): see ``hotdb``.
On PostgreSQL the resolutions asked in one turn of the event loop share one statement (one
round trip, one wake-up of the database's process instead of one each): it is sent after every
one of them arrived, so each still sees every change acknowledged before its call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass

from callplane.core.context import Actor
from callplane.core.crypto import open_stored
from callplane.core.hotdb import HotPool, Row, json_of, uuid_of
from callplane.core.secrets import hash_api_key
from callplane.reputation.health import DEFAULT_POLICY
from callplane.routing.service import AgentFacts, AgentRoute, InboundRoute
from callplane.workspaces.authenticator import KEY_COLUMNS, KEY_COLUMNS_SQL, key_actor

_ROUTE_COLUMNS = """
    n.id, n.e164, n.status, n.allowed_inbound_countries, n.fallback_action,
    n.fallback_destination, w.default_stream_url,
    a.id, a.name, a.type, a.persona, a.instructions, a.voice, a.language, a.webhook_url,
    a.voicemail_action, a.stream_url, a.archived_at
"""


def _route_joins(e164: str) -> str:
    """The number ``e164`` (an expression) of workspace ``w``, its inbound agent."""
    return f"""
    LEFT JOIN phone_numbers n ON n.workspace_id = w.id AND n.e164 = {e164}
    LEFT JOIN assignments s ON s.number_id = n.id AND s.direction = 'inbound'
    LEFT JOIN agents a ON a.id = s.agent_id
"""


# The key, and the number in the key's workspace (NULLs when the number is not there).
RESOLVE_SQL = f"""
SELECT {KEY_COLUMNS_SQL}, {_ROUTE_COLUMNS}
FROM api_keys k
JOIN workspaces w ON w.id = k.workspace_id
{_route_joins(":e164")}
WHERE k.key_hash = :key_hash
"""  # noqa: S608 - constant fragments; values are bound parameters
# PostgreSQL: statements of coalesced resolutions out at once. Two keep the event loop busy
# while one is out; more made each carry fewer (measured: the same CPU per call, more
# connections).
COALESCED_READS = 2
# PostgreSQL: RESOLVE_SQL for many (key, number) pairs at once; row i answers pair i (no row:
# the key is not valid).
RESOLVE_MANY_SQL = f"""
SELECT q.i, {KEY_COLUMNS_SQL}, {_ROUTE_COLUMNS}
FROM unnest(%(key_hashes)s::text[], %(numbers)s::text[]) WITH ORDINALITY AS q(key_hash, e164, i)
JOIN api_keys k ON k.key_hash = q.key_hash
JOIN workspaces w ON w.id = k.workspace_id
{_route_joins("q.e164")}
"""  # noqa: S608 - constant fragments; values are bound parameters
# The key, an agent of the key's workspace (NULLs when there is no such agent), and the
# workspace's caller-ID policy (NULLs: the defaults).
AGENT_SQL = f"""
SELECT {KEY_COLUMNS_SQL},
  a.id, a.type, a.archived_at, a.outbound_strategy, a.allowed_outbound_countries,
  a.when_all_benched, p.warming_daily_caps, p.sticky_window_hours
FROM api_keys k
LEFT JOIN agents a ON a.workspace_id = k.workspace_id AND a.id = :agent_id
LEFT JOIN caller_id_policies p ON p.workspace_id = k.workspace_id
WHERE k.key_hash = :key_hash
"""  # noqa: S608 - constant fragments; values are bound parameters
# The workspace's Twilio settings, and the dialed number in it.
TWILIO_SQL = f"""
SELECT w.twilio_auth_token, {_ROUTE_COLUMNS}
FROM workspaces w
{_route_joins(":e164")}
WHERE w.id = :workspace_id
"""  # noqa: S608 - constant fragments; values are bound parameters


@dataclass(frozen=True, slots=True)
class TelephonySettings:
    twilio_auth_token: str | None
    default_stream_url: str | None


class RouteLookups:
    """The hot path's reads: one statement each, on the shared pool of raw connections."""

    def __init__(self, pool: HotPool, secret: str, default_stream_url: str | None) -> None:
        self.pool = pool
        self.secret = secret
        self.default_stream_url = default_stream_url
        self._resolve_sql = pool.statement(RESOLVE_SQL)
        self._twilio_sql = pool.statement(TWILIO_SQL)
        self._agent_sql = pool.statement(AGENT_SQL)
        self._resolutions = (
            _Coalesced(pool, RESOLVE_MANY_SQL, COALESCED_READS) if pool.postgres else None
        )

    async def resolve(
        self, token: str, e164: str | None, request_id: str
    ) -> tuple[Actor, InboundRoute | None]:
        """The key's actor and the route of ``e164`` in its workspace, in one round trip."""
        key_hash = hash_api_key(token, self.secret)
        if self._resolutions is not None:
            row = await self._resolutions.one(key_hash, e164)
        else:
            row = await self.pool.one(self._resolve_sql, {"key_hash": key_hash, "e164": e164})
        actor, row = _authenticated(row, request_id)
        return actor, self._route(actor.workspace_id, row[KEY_COLUMNS:])

    async def agent(
        self, token: str, agent_id: uuid.UUID | None, request_id: str
    ) -> tuple[Actor, AgentFacts | None]:
        """The key's actor and one agent of its workspace, in one round trip."""
        key_hash = hash_api_key(token, self.secret)
        agent_key = self.pool.uuid(agent_id) if agent_id else None
        row = await self.pool.one(self._agent_sql, {"key_hash": key_hash, "agent_id": agent_key})
        actor, row = _authenticated(row, request_id)
        agent = row[KEY_COLUMNS:]
        if agent[0] is None:
            return actor, None
        facts = AgentFacts(
            id=uuid_of(agent[0]),
            type=agent[1],
            archived=agent[2] is not None,
            outbound_strategy=agent[3],
            allowed_outbound_countries=json_of(agent[4]),
            when_all_benched=agent[5],
            warming_daily_caps=DEFAULT_POLICY.warming_daily_caps
            if agent[6] is None
            else tuple(json_of(agent[6])),
            sticky_window=dt.timedelta(
                hours=DEFAULT_POLICY.sticky_window_hours if agent[7] is None else agent[7]
            ),
        )
        return actor, facts

    async def twilio(
        self, workspace_id: uuid.UUID, e164: str | None
    ) -> tuple[TelephonySettings, InboundRoute | None] | None:
        """The workspace's Twilio settings and the dialed number's route; None: no workspace."""
        row = await self.pool.one(
            self._twilio_sql, {"workspace_id": self.pool.uuid(workspace_id), "e164": e164}
        )
        if row is None:
            return None
        settings = TelephonySettings(open_stored(row[0]), row[7] or self.default_stream_url)
        return settings, self._route(workspace_id, row[1:])

    def _route(self, workspace_id: uuid.UUID, row: Row) -> InboundRoute | None:
        if row[0] is None:
            return None
        (number_id, e164, status, countries, fallback_action, fallback_destination) = row[:6]
        workspace_stream_url, agent_id = row[6], row[7]
        agent = None
        if agent_id is not None:
            agent = AgentRoute(
                id=uuid_of(agent_id),
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
        countries = json_of(countries)
        return InboundRoute(
            workspace_id=workspace_id,
            number_id=uuid_of(number_id),
            e164=e164,
            status=status,
            allowed_inbound_countries=tuple(countries) if countries is not None else None,
            fallback_action=fallback_action,
            fallback_destination=fallback_destination,
            agent=agent,
        )


def _authenticated(row: Row | None, request_id: str) -> tuple[Actor, Row]:
    """The key's actor, and the row (whose key columns are then known to be there)."""
    actor = key_actor(row, request_id)
    assert row is not None  # key_actor refuses a missing key
    return actor, row


class _Coalesced:
    """PostgreSQL: resolutions read together, a few statements at a time.

    While ``reads`` statements are out, the resolutions asked meanwhile wait and go together in
    the next one: the busier the server, the more each round trip answers. An idle server sends
    each at once, as single lookups did.
    """

    def __init__(self, pool: HotPool, sql: str, reads: int) -> None:
        self.pool = pool
        self.sql = sql
        self.reads = reads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[str, str | None, asyncio.Future[Row | None]]] = []
        self._out: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references
        self._scheduled = False

    async def one(self, key_hash: str, e164: str | None) -> Row | None:
        """The row RESOLVE_SQL would give for this key and number."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a test client may start several loops in turn
            self._loop, self._pending, self._out, self._scheduled = loop, [], set(), False
        future: asyncio.Future[Row | None] = loop.create_future()
        self._pending.append((key_hash, e164, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the pending ones at the end of this turn of the loop (those asked in the same
        turn join), if a read is free."""
        if not self._scheduled and len(self._out) < self.reads:
            self._scheduled = True
            loop.call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        read = asyncio.ensure_future(self._read(batch))
        self._out.add(read)
        read.add_done_callback(self._done)

    def _done(self, read: asyncio.Task[None]) -> None:
        if read not in self._out:
            return  # a read of an earlier loop
        self._out.remove(read)
        if self._pending and self._loop is not None:
            self._schedule(self._loop)

    async def _read(self, batch: list[tuple[str, str | None, asyncio.Future[Row | None]]]) -> None:
        params = {"key_hashes": [b[0] for b in batch], "numbers": [b[1] for b in batch]}
        try:
            rows = await self.pool.all(self.sql, params)
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each request of the batch raises it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        found = {row[0]: row[1:] for row in rows}
        for i, (_, _, future) in enumerate(batch, start=1):
            if not future.done():  # its request may be gone (the client hung up)
                future.set_result(found.get(i))
