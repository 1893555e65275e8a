"""Request-scoped dependencies: one session and one transaction per request, and the Actor.

The session dependency is function-scoped: its commit runs when the endpoint returns and before
the response is sent, so a client never sees a 2xx for a change that failed to commit.

Who a bearer token belongs to is the workspaces package's business: the app wires an
``Authenticator`` into ``app.state.authenticator`` and this module only asks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Protocol, TypeVar

import anyio
from anyio import to_thread
from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session

from callplane.core.auth_guard import FailedAuthGuard, client_address
from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.core.envelope import Envelope, ListEnvelope, Pagination, meta
from callplane.core.errors import DomainError, Unauthenticated
from callplane.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from callplane.core.ratelimit import RateLimiter

T = TypeVar("T")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COUNTED = "callplane.rate_counted"  # in the ASGI scope: the key whose limit counted it


def request_id(request: Request) -> str:
    return str(request.state.request_id)


async def _db_session(request: Request) -> AsyncIterator[Session]:
    """Made on the event loop (a session holds no connection before its first statement);
    committed and closed in one worker thread: a thread hop cost more than making it."""
    database: Database = request.app.state.database
    session = database.session(write=request.method not in READ_METHODS)
    try:
        yield session
    except DomainError as exc:
        await _finish(session, commit=exc.keeps_audit_event)
        raise
    except BaseException:
        await _finish(session, commit=False)
        raise
    await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    if not session.in_transaction():  # committed by the endpoint itself: nothing to wait for
        session.close()
        return

    def finish() -> None:
        with session:
            if commit:
                session.commit()

    with anyio.CancelScope(shield=True):  # a cancelled request still returns its connection
        await to_thread.run_sync(finish)


DbSession = Annotated[Session, Depends(_db_session, scope="function")]


class Authenticator(Protocol):
    """Turns a bearer token into the Actor of a request, and knows what a key may do."""

    async def authenticate(self, token: str | None, request_id: str) -> Actor:
        """The actor the token belongs to; an Unauthenticated error when it belongs to none.

        Outside the request's transaction: a writing request begins it (on SQLite, takes the
        write lock) only once it is known who asks."""
        ...

    def require_full_scope(self, actor: Actor) -> None:
        """Refuse (Forbidden) an actor whose key may not change anything."""
        ...

    def note_use(self, actor: Actor) -> Callable[[], None] | None:
        """Work to run after the response to remember that the actor's key was used, if due."""
        ...


def bearer_token(request: Request) -> str | None:
    """The API key of ``Authorization: Bearer <key>``; None without the header.

    A header in another form is refused with the fix, rather than read as a missing key.
    """
    header = request.headers.get("authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated(
            "malformed_authorization",
            "the Authorization header must read 'Bearer <api key>': "
            "put the word Bearer and a space before the key",
        )
    if not token.strip():
        raise Unauthenticated(
            "malformed_authorization",
            "the Authorization header says Bearer but carries no key: send 'Bearer <api key>'",
        )
    return token.strip()


def authenticator(request: Request) -> Authenticator:
    wired: Authenticator = request.app.state.authenticator
    return wired


async def _authenticated(request: Request, later: BackgroundTasks) -> Actor:
    """Who asks, then their rate limit, on the event loop: a worker thread costs more than
    either (the limiter's Redis call must not hold one). Plain calls rather than nested
    dependencies: FastAPI's solving of each level cost about as much as the check itself."""
    guard: FailedAuthGuard = request.app.state.auth_guard
    keys = authenticator(request)
    with guard.watch(client_address(request)):
        actor = await keys.authenticate(bearer_token(request), request_id(request))
    record_use = keys.note_use(actor)
    if record_use is not None:
        later.add_task(record_use)
    await count_request(request, actor)
    return actor


async def count_request(request: Request, actor: Actor) -> None:
    """The key's rate limit, counted once per request: a fast path that hands its request on
    to the route behind it (``numbers.router.QuickCreate``) has counted it already."""
    if request.scope.get(_COUNTED) == actor.key_id:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.check(actor.key_id)
    request.scope[_COUNTED] = actor.key_id


async def _current_actor(request: Request, later: BackgroundTasks) -> Actor:
    actor = await _authenticated(request, later)
    if request.method not in READ_METHODS:
        authenticator(request).require_full_scope(actor)
    return actor


# Reads take any key; changes need a full one. RoutingActor: the routing questions, which a
# read key (the media plane's) may ask whatever their method.
CurrentActor = Annotated[Actor, Depends(_current_actor)]
RoutingActor = Annotated[Actor, Depends(_authenticated)]


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


# Parametrized once and kept: pydantic caches a parametrized model only weakly, so one made in
# each call was collected by the next garbage collection and built again (about 0.24 ms, a
# fifth of a create's server time on the event loop; docs/benchmarks.md, writes).
_ENVELOPE: Any = Envelope[T]  # type: ignore[valid-type]
_LIST_ENVELOPE: Any = ListEnvelope[T]  # type: ignore[valid-type]


def ok(data: T, actor: Actor) -> Envelope[T]:
    envelope: Envelope[T] = _ENVELOPE(data=data, meta=meta(actor.request_id or "-"))
    return envelope


def paged(items: list[T], next_cursor: str | None, limit: int, actor: Actor) -> ListEnvelope[T]:
    envelope: ListEnvelope[T] = _LIST_ENVELOPE(
        data=items,
        meta=meta(actor.request_id or "-"),
        pagination=Pagination(
            limit=limit, has_more=next_cursor is not None, next_cursor=next_cursor
        ),
    )
    return envelope
