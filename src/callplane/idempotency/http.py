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
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.orm import Session, SessionTransaction
from starlette.concurrency import run_in_threadpool

from callplane.core.error_handlers import problem_of, render_problem
from callplane.core.errors import DomainError
from callplane.core.http import CurrentActor, DbSession
from callplane.idempotency import service
from callplane.idempotency.service import Fingerprint, Scope, StoredAnswer

HEADER = "Idempotency-Key"  # the native API's; the vendors' routes name their own
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


def idempotent(header: str = HEADER) -> Any:
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


class IdempotentRoute(APIRoute):
    """Runs a route and, when it holds an idempotency key, keeps or replays the answer.

    Its synchronous endpoints answer and commit in their own worker thread (``_in_thread``).
    The endpoint is wrapped before FastAPI reads it: a router's ``include_router`` builds the
    route's dependant anew from the endpoint, so a wrapper set on ``self.dependant`` later
    would not be the one that runs.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = self._in_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def _in_thread(self, call: Callable[..., Any]) -> Callable[..., Any]:
        """A synchronous endpoint, its JSON answer and its COMMIT in one worker thread.

        Committed by the session dependency instead, the transaction stayed open (on SQLite:
        the write lock stayed taken) while the commit waited for the event loop and a second
        thread, behind every other request's work (docs/benchmarks.md, writes); and FastAPI
        validates and serialises a synchronous endpoint's answer in one more worker thread.
        A request holding an idempotency key is committed by the route's handler: its answer
        is recorded first, in the transaction.
        """

        @functools.wraps(call)
        def run(**values: Any) -> Any:
            result = call(**values)
            session = values.get("session")
            if isinstance(session, Session) and not session.info.get(_CLAIMED):
                session.commit()
            return self._answer(result, values)

        return run

    def _answer(self, result: Any, values: dict[str, Any]) -> Any:
        """What FastAPI's handler makes of ``result`` (validated by the response model, as
        JSON, with the headers and status set on the endpoint's ``Response`` parameter)."""
        field = self.response_field
        if field is None or isinstance(result, Response) or not self._plain_json:
            return result
        value, errors = field.validate(result, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=result)
        body = field.serialize_json(
            value,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )
        given = next((v for v in values.values() if isinstance(v, Response)), None)
        status = (given.status_code if given else None) or self.status_code or 200
        content = body if is_body_allowed_for_status_code(status) else b""
        answer = Response(content, status_code=status, media_type="application/json")
        if given is not None:
            answer.headers.raw.extend(given.headers.raw)
        return answer

    @functools.cached_property
    def _plain_json(self) -> bool:
        """FastAPI's default response class: a route that names its own class keeps it."""
        return isinstance(self.response_class, DefaultPlaceholder)

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
