from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from callplane.core import conditional
from callplane.core.auth_guard import client_address
from callplane.core.conditional import NOT_MODIFIED, IfNoneMatch, PreconditionHeaders
from callplane.core.context import Actor
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.errors import DomainError
from callplane.core.hotdb import HotPool, Row
from callplane.core.http import (
    CurrentActor,
    DbSession,
    bearer_token,
    clamp_limit,
    count_request,
    ok,
    paged,
    request_id,
)
from callplane.core.middleware import replay_body
from callplane.core.phone import parse_e164
from callplane.idempotency.http import HEADER, IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers import hot_path, service
from callplane.numbers.schemas import (
    NumberBatch,
    NumberCreate,
    NumberOut,
    NumberUpdate,
    SummaryOut,
)
from callplane.numbers.summary import summarize
from callplane.workspaces.authenticator import KeyAuthenticator

router = APIRouter(prefix="/v1/numbers", tags=["numbers"], route_class=IdempotentRoute)


@router.post("", status_code=201, dependencies=[IDEMPOTENCY_KEY])
def import_number(
    body: NumberCreate, actor: CurrentActor, session: DbSession
) -> Envelope[NumberOut]:
    return ok(NumberOut.of(service.import_number(session, actor, body.to_input())), actor)


@router.post("/batch", status_code=201, dependencies=[IDEMPOTENCY_KEY])
def import_batch(
    body: NumberBatch, actor: CurrentActor, session: DbSession
) -> Envelope[list[NumberOut]]:
    """Import up to 1,000 numbers in one transaction; any refused item refuses the batch."""
    created = service.import_batch(session, actor, [n.to_input() for n in body.numbers])
    return ok([NumberOut.of(v) for v in created], actor)


@router.get("")
def list_numbers(
    actor: CurrentActor,
    session: DbSession,
    agent_id: str | None = None,
    assignment: Literal["inbound", "outbound", "none"] | None = None,
    country_code: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    number_type: Literal["local", "mobile", "toll_free", "other"] | None = None,
    status: Literal["active", "suspended"] | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[NumberOut]:
    size = clamp_limit(limit)
    filters = service.NumberFilters(agent_id, assignment, country_code, number_type, status, q)
    page = service.list_numbers(session, actor, filters, cursor=cursor, limit=size)
    return paged([NumberOut.of(v) for v in page.items], page.next_cursor, size, actor)


@router.get("/summary")
def numbers_summary(actor: CurrentActor, session: DbSession) -> Envelope[SummaryOut]:
    """Counts by status, country, type, provider and assignment, and the total monthly cost."""
    return ok(SummaryOut.of(summarize(session, actor)), actor)


@router.get("/{number}", responses=NOT_MODIFIED)
def get_number(
    number: str,
    actor: CurrentActor,
    session: DbSession,
    response: Response,
    if_none_match: IfNoneMatch,
) -> Envelope[NumberOut]:
    """The number, with its ETag; 304 when ``If-None-Match`` names its current one."""
    found = NumberOut.of(service.get_number_view(session, actor, number))
    conditional.tag(response, found.etag, if_none_match)
    return ok(found, actor)


@router.patch("/{number}")
def update_number(
    number: str,
    body: NumberUpdate,
    actor: CurrentActor,
    session: DbSession,
    response: Response,
    preconditions: PreconditionHeaders,
) -> Envelope[NumberOut]:
    """Change the number's settings; with ``If-Match``, only if nobody changed it meanwhile."""
    changed = service.update_number(session, actor, number, body.changes(), preconditions)
    updated = NumberOut.of(changed)
    conditional.tag(response, updated.etag)
    return ok(updated, actor)


@router.delete("/{number}")
def delete_number(
    number: str, actor: CurrentActor, session: DbSession, preconditions: PreconditionHeaders
) -> Envelope[NumberOut]:
    """Detach the number from every agent and remove it; the body is the number as it was."""
    return ok(NumberOut.of(service.delete_number(session, actor, number, preconditions)), actor)


class QuickRoute:
    """A write on the event loop, for its usual case on PostgreSQL, in front of its route.

    The route behind it still answers everything else exactly as before (``_hand_on``). What
    is decided here is decided by the same code as there: the key (a refusal is the same
    refusal), its rate limit (counted once: the route does not count a request handed on
    again), and the rows (``hot_path``). Measured in docs/benchmarks.md, writes.
    """

    def __init__(self, route: APIRoute, pool: HotPool) -> None:
        self._route = route
        self._pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError

    def _usual(self, request: Request) -> bool:
        """PostgreSQL (SQLite's writers queue for one lock anyway), without a header that
        asks for the route's own work: an idempotency key, preconditions."""
        headers = request.headers
        return self._pool.postgres and not any(h in headers for h in ROUTE_HEADERS)

    async def _json_body(self, request: Request, send: Send) -> tuple[bytes, Receive] | None:
        """A usual request's body if it is plain JSON, and the ``receive`` that replays it to
        the route; None when the request went to the route (not usual, or another body)."""
        if not self._usual(request) or not plain_json(request):
            await self._hand_on(request.scope, request.receive, send)
            return None
        body = await request.body()
        return body, replay_body(body, request.receive)

    async def _authenticated(self, request: Request, statement: str, **params: Any) -> Read:
        """The actor and the row of ``statement``, which also reads what the write needs."""
        keys: KeyAuthenticator = request.app.state.authenticator
        with request.app.state.auth_guard.watch(client_address(request)):
            actor, row = await keys.authenticate_reading(
                bearer_token(request), request_id(request), statement, **params
            )
        keys.require_full_scope(actor)
        await count_request(request, actor)
        return Read(actor, row, keys.note_use(actor))

    async def _hand_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, route_scope = self._route.matches(scope)
        scope.update(route_scope)
        await self._route.handle(scope, receive, send)


@dataclass(frozen=True, slots=True)
class Read:
    actor: Actor
    row: Row
    record_use: Callable[[], None] | None  # the key's use, to record after the answer


ROUTE_HEADERS = (HEADER, "if-match", "if-none-match")


async def answer_with(read: Read, status: int, view: service.NumberView, *asgi: Any) -> None:
    body = ok(NumberOut.of(view), read.actor).model_dump_json()
    use = read.record_use
    background = BackgroundTask(use) if use is not None else None
    response = StarletteResponse(body, status, media_type="application/json", background=background)
    await response(*asgi)


class QuickCreate(QuickRoute):
    """``POST /v1/numbers``: a new number. Handed on: a body that is not plain JSON or that
    the schema or the E.164 rules refuse, and a number already held (the service says by
    whom)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if (got := await self._json_body(request, send)) is None:
            return
        body, again = got
        read = await self._authenticated(request, hot_path.CREATE_READ_SQL)
        try:
            data = NumberCreate.model_validate_json(body)
            parsed = parse_e164(data.e164, "e164")
        except (ValidationError, DomainError):
            await self._hand_on(scope, again, send)
            return
        created = await hot_path.insert_number(
            self._pool,
            read.actor,
            parsed,
            data.to_input(),
            hot_path.policy_row_of(read.row),
            hot_path.subscribers_of(read.row),
        )
        if created is None:
            await self._hand_on(scope, again, send)
            return
        await answer_with(read, 201, created, scope, receive, send)


class QuickDelete(QuickRoute):
    """``DELETE /v1/numbers/{number}``: a number no agent holds and that leaves no promise
    behind (not bought through a provider). Handed on: a reference the rules refuse, a
    number not found, held by agents, to release at its provider, or changed meanwhile."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if not self._usual(request):
            await self._hand_on(scope, receive, send)
            return
        key = hot_path.ref_key(request.path_params["number"], "number")
        by, value = key or ("id", None)
        read = await self._authenticated(request, hot_path.DELETE_READ_SQL[by], ref=value)
        found = hot_path.found_of(read.row)
        if found is None or not found.deletable:
            await self._hand_on(scope, receive, send)
            return
        subscribers = hot_path.subscribers_of(read.row)
        if not await hot_path.delete_number(self._pool, read.actor, found.view, subscribers):
            await self._hand_on(scope, receive, send)
            return
        await answer_with(read, 200, found.view, scope, receive, send)


QUICK_ROUTES: list[tuple[type[QuickRoute], APIRouter, str, str]] = [
    (QuickCreate, router, router.prefix, "POST"),
    (QuickDelete, router, router.prefix + "/{number}", "DELETE"),
]


def install(
    app: Starlette, pool: HotPool, quick: list[tuple[type[QuickRoute], APIRouter, str, str]]
) -> None:
    """Put quick routes in front of the routes they stand for (routes match in order)."""
    for kind, owner, path, method in quick:
        route = next(
            r
            for r in owner.routes
            if isinstance(r, APIRoute) and r.path == path and method in (r.methods or ())
        )
        app.router.routes.insert(0, Route(path, kind(route, pool), methods=[method]))


def plain_json(request: Request) -> bool:
    """A JSON body as FastAPI reads one; anything else goes to the route, which says why not."""
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
