"""The hot path's state in one process: cached keys, routes and workspace settings.

Cache hits never leave the event loop; a miss loads from the database in a worker thread.
Before every lookup the change feed is drained, so a committed change anywhere is seen by the
next lookup here (see ``cache.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session

from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.core.errors import Unauthenticated
from callplane.core.secrets import hash_api_key
from callplane.routing.cache import MISSING, ChangeFeed, WorkspaceCache, change_feed_for
from callplane.routing.service import InboundRoute, load_inbound_route
from callplane.workspaces.models import Workspace
from callplane.workspaces.service import authenticate

T = TypeVar("T")
ANY_KEY = "*"


@dataclass(frozen=True, slots=True)
class TelephonySettings:
    twilio_auth_token: str | None
    default_stream_url: str | None


@dataclass(frozen=True, slots=True)
class _Key:
    """A verified, unrevoked key; a revocation is a workspace change and evicts it."""

    workspace_id: uuid.UUID
    key_id: uuid.UUID | None


class RoutingRuntime:
    def __init__(
        self, database: Database, secret: str, default_stream_url: str | None, max_entries: int
    ) -> None:
        self.database = database
        self.secret = secret
        self.default_stream_url = default_stream_url
        self.routes: WorkspaceCache[InboundRoute | None] = WorkspaceCache(max_entries)
        self.settings: WorkspaceCache[TelephonySettings | None] = WorkspaceCache(max_entries)
        self._keys: dict[str, tuple[tuple[int, int], _Key]] = {}
        self._changes = 0  # any invalidation; a key loaded across one is not cached
        self.feed: ChangeFeed | None = None
        self.usable = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader_fd: int | None = None

    def start(self) -> None:
        """Open the change feed; on PostgreSQL also drain it as soon as anything arrives."""
        self.feed = change_feed_for(self.database.engine)
        self._loop = asyncio.get_running_loop()
        self._watch()

    def stop(self) -> None:
        if self._loop is not None and self._reader_fd is not None:
            self._loop.remove_reader(self._reader_fd)
        if self.feed is not None:
            self.feed.close()
        self.feed = None

    def sync(self) -> None:
        """Apply pending changes. Every request calls it once, before its first lookup.

        While the feed is down (or not started) ``usable`` is False and lookups bypass the
        caches, so nothing stale is ever served.
        """
        if self.feed is None:
            self.usable = False
            return
        self.usable = self.feed.poll(self._invalidate_workspace, self._invalidate_all)
        self._watch()

    def _watch(self) -> None:
        fd = self.feed.fileno() if self.feed else None
        if fd == self._reader_fd or self._loop is None:
            return
        if self._reader_fd is not None:
            self._loop.remove_reader(self._reader_fd)
        if fd is not None:
            self._loop.add_reader(fd, self.sync)  # drain eagerly, not only on lookups
        self._reader_fd = fd

    def _invalidate_workspace(self, workspace_id: uuid.UUID) -> None:
        self._changes += 1
        self.routes.invalidate_workspace(workspace_id)
        self.settings.invalidate_workspace(workspace_id)

    def _invalidate_all(self) -> None:
        self._changes += 1
        self.routes.invalidate_all()
        self.settings.invalidate_all()
        self._keys.clear()

    async def actor_for(self, token: str | None, request_id: str) -> Actor:
        usable = self.usable
        if not token:
            raise Unauthenticated(
                "missing_api_key", "Authorization header with 'Bearer <api key>' is required"
            )
        key_hash = hash_api_key(token, self.secret)
        cached = self._keys.get(key_hash) if usable else None
        if cached is not None and cached[0] == self.routes.generation(cached[1].workspace_id):
            return Actor(cached[1].workspace_id, cached[1].key_id, request_id)
        changes = self._changes
        actor = await self._load(lambda s: authenticate(s, token, self.secret, request_id))
        generation = self.routes.generation(actor.workspace_id)
        if usable and changes == self._changes and len(self._keys) < 10_000:
            self._keys[key_hash] = (generation, _Key(actor.workspace_id, actor.key_id))
        return actor

    async def inbound_route(self, workspace_id: uuid.UUID, e164: str) -> InboundRoute | None:
        usable = self.usable
        cached = self.routes.get(workspace_id, e164) if usable else MISSING
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        generation = self.routes.generation(workspace_id)
        route = await self._load(
            lambda s: load_inbound_route(s, workspace_id, e164, self.default_stream_url)
        )
        if usable:
            self.routes.put(workspace_id, e164, route, generation)
        return route

    async def telephony_settings(self, workspace_id: uuid.UUID) -> TelephonySettings | None:
        usable = self.usable
        cached = self.settings.get(workspace_id, ANY_KEY) if usable else MISSING
        if cached is not MISSING:
            return cached  # type: ignore[return-value]
        generation = self.settings.generation(workspace_id)

        def load(session: Session) -> TelephonySettings | None:
            workspace = session.get(Workspace, workspace_id)
            if workspace is None:
                return None
            return TelephonySettings(workspace.twilio_auth_token, workspace.default_stream_url)

        settings = await self._load(load)
        if usable:
            self.settings.put(workspace_id, ANY_KEY, settings, generation)
        return settings

    async def _load(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.database.session(write=False) as session:
                return work(session)

        return await to_thread.run_sync(run)
