"""API keys as the native API's authenticator: what ``core.http`` asks of every request.

The key is read with one prepared statement on the hot pool (``core.hotdb``), on the event
loop, before the request's own transaction begins: through the ORM the read cost more Python
than the write it guarded, and on SQLite it held the write lock while it ran
(docs/benchmarks.md, writes). Not cached: a revoked key stops working at once, on every server.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from callplane.core.context import Actor
from callplane.core.errors import Unauthenticated
from callplane.core.hotdb import HotPool, Row, timestamp_of, uuid_of
from callplane.core.secrets import hash_api_key
from callplane.workspaces import service
from callplane.workspaces.key_usage import KeyUsage

# The key's columns, first in every hot-path statement that authenticates (``key_actor``).
KEY_COLUMNS_SQL = "k.workspace_id, k.id, k.revoked_at, k.expires_at, k.scope"
KEY_COLUMNS = 5
KEY_SQL = f"SELECT {KEY_COLUMNS_SQL} FROM api_keys k WHERE k.key_hash = :key_hash"  # noqa: S608


def key_actor(row: Row | None, request_id: str) -> Actor:
    """The actor of a row that starts with ``KEY_COLUMNS_SQL``, by the rules of
    ``service.authenticate`` (which the dashboard's sign-in uses through the ORM)."""
    if row is None:
        raise Unauthenticated("invalid_api_key", "the API key is not valid")
    service.check_key_usable(timestamp_of(row[2]), timestamp_of(row[3]))
    return Actor(uuid_of(row[0]), uuid_of(row[1]), request_id, row[4])


class KeyAuthenticator:
    """Bearer tokens checked against the hashed API keys; uses recorded through ``KeyUsage``."""

    def __init__(self, secret: str, usage: KeyUsage, pool: HotPool) -> None:
        self._secret = secret
        self._usage = usage
        self._pool = pool
        self._key_sql = pool.statement(KEY_SQL)

    async def authenticate(self, token: str | None, request_id: str) -> Actor:
        actor, _ = await self.authenticate_reading(token, request_id, self._key_sql)
        return actor

    async def authenticate_reading(
        self, token: str | None, request_id: str, statement: str, **params: Any
    ) -> tuple[Actor, Row]:
        """The actor, and the row of ``statement`` (its columns start with KEY_COLUMNS_SQL; it
        takes the key's hash): a write that needs more of the workspace than the key reads it
        in the same round trip (``numbers.hot_path``)."""
        key_hash = hash_api_key(service.require_token(token), self._secret)
        row = await self._pool.one(statement, {**params, "key_hash": key_hash})
        actor = key_actor(row, request_id)
        assert row is not None  # key_actor refuses a missing row
        return actor, row

    def require_full_scope(self, actor: Actor) -> None:
        service.require_full_scope(actor)

    def note_use(self, actor: Actor) -> Callable[[], None] | None:
        key_id = actor.key_id
        if key_id is None or not self._usage.due(key_id):
            return None
        return partial(self._usage.record, key_id)
