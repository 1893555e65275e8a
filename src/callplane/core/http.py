"""Request-scoped dependencies: one session and one transaction per request, and the Actor.

The session dependency is function-scoped: its commit runs when the endpoint returns and before
the response is sent, so a client never sees a 2xx for a change that failed to commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session

from callplane.core.auth_guard import FailedAuthGuard, client_address
from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.core.envelope import Envelope, ListEnvelope, Pagination, meta
from callplane.core.errors import DomainError
from callplane.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from callplane.core.ratelimit import RateLimiter
from callplane.settings import Settings
from callplane.workspaces.key_usage import KeyUsage
from callplane.workspaces.service import authenticate, require_full_scope

T = TypeVar("T")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_id(request: Request) -> str:
    return str(request.state.request_id)


def _db_session(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.database
    with database.session(write=request.method not in READ_METHODS) as session:
        try:
            yield session
        except DomainError as exc:
            if exc.keeps_audit_event:
                session.commit()
            raise
        session.commit()


DbSession = Annotated[Session, Depends(_db_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _authenticated(request: Request, session: DbSession, later: BackgroundTasks) -> Actor:
    settings: Settings = request.app.state.settings
    guard: FailedAuthGuard = request.app.state.auth_guard
    with guard.watch(client_address(request)):
        actor = authenticate(
            session,
            bearer_token(request),
            settings.secret_key.get_secret_value(),
            request_id(request),
        )
    usage: KeyUsage = request.app.state.key_usage
    if actor.key_id is not None and usage.due(actor.key_id):
        later.add_task(usage.record, actor.key_id)
    return actor


async def _any_scope_actor(
    request: Request, actor: Annotated[Actor, Depends(_authenticated)]
) -> Actor:
    """On the event loop: the rate limiter's Redis call must not hold a worker thread."""
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.check(actor.key_id)
    return actor


def _current_actor(request: Request, actor: Annotated[Actor, Depends(_any_scope_actor)]) -> Actor:
    if request.method not in READ_METHODS:
        require_full_scope(actor)
    return actor


# Reads take any key; changes need a full one. RoutingActor: the routing questions, which a
# read key (the media plane's) may ask whatever their method.
CurrentActor = Annotated[Actor, Depends(_current_actor)]
RoutingActor = Annotated[Actor, Depends(_any_scope_actor)]


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def ok(data: T, actor: Actor) -> Envelope[T]:
    return Envelope[T](data=data, meta=meta(actor.request_id or "-"))


def paged(items: list[T], next_cursor: str | None, limit: int, actor: Actor) -> ListEnvelope[T]:
    return ListEnvelope[T](
        data=items,
        meta=meta(actor.request_id or "-"),
        pagination=Pagination(
            limit=limit, has_more=next_cursor is not None, next_cursor=next_cursor
        ),
    )
