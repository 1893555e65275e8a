"""The per-call lookups: one prepared statement, one round trip, and no cache.

Every call asks who answers a number, and the answer must reflect every change another server
has already acknowledged. An in-process cache can promise that only if each server hears of a
change before its next lookup; a notification cannot promise it (it may still be in flight when
the next call arrives), and checking a version per lookup costs the same round trip as the
lookup itself. So the lookup *is* the check: authentication, the number, its inbound agent and
the workspace's stream URL come back from one indexed query, always current, on every server.
Measured against the cached design in docs/benchmarks.md.

The statements bypass the ORM (a lookup through it cost ten times the query): see ``hotdb``.
On PostgreSQL the resolutions (and the key-and-agent reads of caller-ID selections) asked while
a statement is out share the next one (one round trip, one wake-up of the database's process
instead of one each): it is sent after every one of them arrived, so each still sees every
change acknowledged before its call.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from callplane.core.context import Actor
from callplane.core.crypto import open_stored
from callplane.core.hotdb import Coalesced, HotPool, Row, json_of, uuid_of
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
_AGENT_COLUMNS = """
  a.id, a.type, a.archived_at, a.outbound_strategy, a.allowed_outbound_countries,
  a.when_all_benched, p.warming_daily_caps, p.sticky_window_hours
"""
_AGENT_JOINS = """
LEFT JOIN caller_id_policies p ON p.workspace_id = k.workspace_id
"""
# The key, an agent of the key's workspace (NULLs when there is no such agent), and the
# workspace's caller-ID policy (NULLs: the defaults).
AGENT_SQL = f"""
SELECT {KEY_COLUMNS_SQL}, {_AGENT_COLUMNS}
FROM api_keys k
LEFT JOIN agents a ON a.workspace_id = k.workspace_id AND a.id = :agent_id
{_AGENT_JOINS}
WHERE k.key_hash = :key_hash
"""  # noqa: S608 - constant fragments; values are bound parameters
# PostgreSQL: AGENT_SQL for many (key, agent) pairs at once, as RESOLVE_MANY_SQL.
AGENT_MANY_SQL = f"""
SELECT q.i, {KEY_COLUMNS_SQL}, {_AGENT_COLUMNS}
FROM unnest(%(key_hashes)s::text[], %(agent_ids)s::uuid[])
  WITH ORDINALITY AS q(key_hash, agent_id, i)
JOIN api_keys k ON k.key_hash = q.key_hash
LEFT JOIN agents a ON a.workspace_id = k.workspace_id AND a.id = q.agent_id
{_AGENT_JOINS}
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
            Coalesced(self._resolve_many, COALESCED_READS) if pool.postgres else None
        )
        self._agents = Coalesced(self._agent_many, COALESCED_READS) if pool.postgres else None

    async def resolve(
        self, token: str, e164: str | None, request_id: str
    ) -> tuple[Actor, InboundRoute | None]:
        """The key's actor and the route of ``e164`` in its workspace, in one round trip."""
        key_hash = hash_api_key(token, self.secret)
        if self._resolutions is not None:
            row = await self._resolutions.one((key_hash, e164))
        else:
            row = await self.pool.one(self._resolve_sql, {"key_hash": key_hash, "e164": e164})
        actor, row = _authenticated(row, request_id)
        return actor, self._route(actor.workspace_id, row[KEY_COLUMNS:])

    async def agent(
        self, token: str, agent_id: uuid.UUID | None, request_id: str
    ) -> tuple[Actor, AgentFacts | None]:
        """The key's actor and one agent of its workspace, in one round trip."""
        key_hash = hash_api_key(token, self.secret)
        if self._agents is not None:
            row = await self._agents.one((key_hash, agent_id))
        else:
            agent_key = self.pool.uuid(agent_id) if agent_id else None
            params = {"key_hash": key_hash, "agent_id": agent_key}
            row = await self.pool.one(self._agent_sql, params)
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

    async def _resolve_many(self, pairs: list[tuple[str, str | None]]) -> list[Row | None]:
        """RESOLVE_SQL's row for each (key hash, number), in one statement."""
        params = {"key_hashes": [p[0] for p in pairs], "numbers": [p[1] for p in pairs]}
        return await self._many(RESOLVE_MANY_SQL, params, len(pairs))

    async def _agent_many(self, pairs: list[tuple[str, uuid.UUID | None]]) -> list[Row | None]:
        """AGENT_SQL's row for each (key hash, agent id), in one statement."""
        params = {"key_hashes": [p[0] for p in pairs], "agent_ids": [p[1] for p in pairs]}
        return await self._many(AGENT_MANY_SQL, params, len(pairs))

    async def _many(self, sql: str, params: dict[str, Any], count: int) -> list[Row | None]:
        """The rows of a statement over ``unnest(...) WITH ORDINALITY``, by ordinal (None:
        no row for it, the key is not valid)."""
        found = {row[0]: row[1:] for row in await self.pool.all(sql, params)}
        return [found.get(i) for i in range(1, count + 1)]

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
