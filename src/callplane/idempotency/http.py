"""Idempotency keys on routes: declared per route, kept by the route class that runs them.

A route takes part by listing ``idempotent()`` in its dependencies (which also puts the header
in the OpenAPI document) on a router whose ``route_class`` is :class:`IdempotentRoute`::

    router = APIRouter(prefix="/v1/things", route_class=IdempotentRoute)

    @router.post("", dependencies=[idempotent()])

The dependency claims the key inside the request's transaction and opens a savepoint for the
endpoint's work. The route class sees the finished answer before the request's transaction
commits (FastAPI builds the response inside the function-scoped dependencies) and records it
in that same transaction: a success with its change; a refusal of the endpoint with the change
rolled back to the savepoint.

Which answers are kept: every 2xx, and every 4xx refusal the endpoint itself raised (a repeat
gets the same refusal, as Stripe does). Not kept, so that a retry runs again: 5xx, 429, 409
``concurrent_modification`` (all three say "retry"), and whatever was refused before the
endpoint ran (authentication, an unreadable body or key, the in-flight 409).
"""

# No ``from __future__ import annotations``: FastAPI reads the annotations of ``claim_key``,
# whose header alias is a local of ``idempotent``, at run time.
import functools
import inspect
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, SessionTransaction
from starlette.concurrency import run_in_threadpool

from callplane.core.error_handlers import problem_of, render_problem
from callplane.core.errors import DomainError
from callplane.core.http import CurrentActor, DbSession
from callplane.idempotency import service
from callplane.idempotency.service import Fingerprint, Scope, StoredAnswer

REPLAYED_HEADER = "Idempotent-Replayed"
RETRY_CODES = frozenset({"concurrent_modification"})
_STATE = "idempotency"
_CLAIMED = "callplane.idempotency_claimed"  # in session.info: the answer is still to record


class Replay(Exception):
    """The request repeats one already answered: send that answer instead of running it."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("idempotent replay")
        self.answer = answer

    def response(self) -> Response:
        headers = {**self.answer.headers, REPLAYED_HEADER: "true"}
        return Response(self.answer.body, status_code=self.answer.status, headers=headers)


@dataclass(slots=True)
class Claim:
    """A key this request holds, and the savepoint the endpoint's work runs in."""

    session: Session
    claim_id: uuid.UUID
    work: SessionTransaction

    def keep(self, response: Response, *, undo_work: bool) -> None:
        if undo_work:
            self.work.rollback()
        elif self.work.is_active:
            self.work.commit()
        headers = {
            name: response.headers[name]
            for name in service.REPLAYED_HEADERS
            if name in response.headers
        }
        answer = StoredAnswer(response.status_code, headers, bytes(response.body))
        service.record(self.session, self.claim_id, answer)


def idempotent(header: str = "Idempotency-Key") -> Any:
    """The dependency that makes a route honour ``header`` (the vendors name it differently)."""

    async def fingerprint_of(request: Request) -> Fingerprint | None:
        """On the event loop, where the body is awaited; only for a request with a key."""
        if header not in request.headers:
            return None
        query = "&".join(sorted(request.url.query.split("&"))) if request.url.query else ""
        path = request.url.path + (f"?{query}" if query else "")
        return Fingerprint.of(request.method, path, await request.body())

    async def claim_key(
        request: Request,
        session: DbSession,
        actor: CurrentActor,
        fingerprint: Annotated[Fingerprint | None, Depends(fingerprint_of)],
        key: Annotated[
            str | None,
            Header(
                alias=header,
                description="A key of your choice (a UUID, say) to retry this request safely: "
                "for 24 hours a repeat with the same key and body gets the first answer again "
                f"(with `{REPLAYED_HEADER}: true`) instead of doing it twice.",
            ),
        ] = None,
    ) -> None:
        if key is None or fingerprint is None:
            return
        if not isinstance(request.scope.get("route"), IdempotentRoute):
            raise RuntimeError(
                f"{request.url.path}: idempotent() needs route_class=IdempotentRoute"
            )
        key = service.checked_key(header, key)
        if actor.key_id is None:  # every actor of the API has its key; the keys are its keys
            raise RuntimeError("an idempotency key without an API key")
        scope = Scope(actor.workspace_id, actor.key_id)
        claim = await run_in_threadpool(_claim, session, scope, key, fingerprint)
        setattr(request.state, _STATE, claim)

    return Depends(claim_key)


def _claim(session: Session, scope: Scope, key: str, fingerprint: Fingerprint) -> Claim:
    """The request's claim on ``key``, in a worker thread; a Replay when it was answered."""
    found = service.claim(session, scope, key, fingerprint)
    if isinstance(found, StoredAnswer):
        raise Replay(found)
    session.info[_CLAIMED] = True
    return Claim(session, found, session.begin_nested())


def _committing(call: Callable[..., Any]) -> Callable[..., Any]:
    """A synchronous endpoint, then its transaction's COMMIT in the same worker thread.

    Committed by the session dependency instead, the transaction stayed open (on SQLite: the
    write lock stayed taken) while the commit waited for the event loop and a second thread,
    behind every other request's work (docs/benchmarks.md, writes). A request holding an
    idempotency key is committed there still: its answer is recorded first, in the
    transaction.
    """

    @functools.wraps(call)
    def run(**values: Any) -> Any:
        result = call(**values)
        session = values.get("session")
        if isinstance(session, Session) and not session.info.get(_CLAIMED):
            session.commit()
        return result

    return run


class IdempotentRoute(APIRoute):
    """Runs a route and, when it holds an idempotency key, keeps or replays the answer.

    Its synchronous endpoints commit in their own worker thread (``_committing``). The
    endpoint is wrapped before FastAPI reads it: a router's ``include_router`` builds the
    route's dependant anew from the endpoint, so a wrapper set on ``self.dependant`` later
    would not be the one that runs.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response()
            except DomainError as exc:
                claim: Claim | None = getattr(request.state, _STATE, None)
                if claim is None or not _kept(exc):
                    raise
                refusal = render_problem(request, problem_of(exc))
                undo = not exc.keeps_audit_event
                await run_in_threadpool(claim.keep, refusal, undo_work=undo)
                return refusal
            claim = getattr(request.state, _STATE, None)
            if claim is not None:
                await run_in_threadpool(claim.keep, response, undo_work=False)
            return response

        return run


def _kept(exc: DomainError) -> bool:
    return exc.status < 500 and exc.status != 429 and exc.code not in RETRY_CODES


# The native API's header; list it in a route's ``dependencies``.
IDEMPOTENCY_KEY = idempotent()
