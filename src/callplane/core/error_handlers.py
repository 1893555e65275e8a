"""Rendering errors: domain errors, validation errors and the unexpected, per API surface.

Each surface (native, and later each vendor's compatible API) registers a renderer for its
path prefix; the rules that raised the error never know which shape it will take.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from callplane.core.conditional import NotModified
from callplane.core.envelope import error_body
from callplane.core.errors import Conflict, DomainError, InvalidInput

log = logging.getLogger("callplane.errors")


@dataclass(frozen=True, slots=True)
class Problem:
    """An error ready to render: the native status, a stable code, a message, details."""

    status: int
    code: str
    message: str
    details: Any = None
    validation: list[dict[str, Any]] | None = None  # pydantic errors, for surfaces that echo them
    extra_headers: tuple[tuple[str, str], ...] = ()  # e.g. Allow on a 405, Connection on a 413

    @property
    def headers(self) -> dict[str, str]:
        """Headers every surface sends with this problem (how to authenticate, when to retry)."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}
        if isinstance(self.details, dict) and "retry_after" in self.details:
            headers["Retry-After"] = str(self.details["retry_after"])
        if self.status == 412 and isinstance(self.details, dict) and "etag" in self.details:
            headers["ETag"] = str(self.details["etag"])
        headers.update(self.extra_headers)
        return headers


Renderer = Callable[[Request, Problem], JSONResponse]


def render_native(request: Request, problem: Problem) -> JSONResponse:
    details = native_details(problem)
    body = error_body(request.state.request_id, problem.code, problem.message, details)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers)


def native_details(problem: Problem) -> dict[str, Any]:
    """The native API's ``details``: always an object, and field errors always in one shape.

    A refusal about fields lists them as ``errors: [{field, message, type, …}]`` whether
    pydantic or a service found them: a service naming one ``field`` becomes a one-item list
    (its other details go with the item), a batch's items say ``type``. Other refusals keep
    their own keys (``missing``, ``limit``, ``retry_after`` …), listed per code in the docs.
    """
    details = problem.details
    if not isinstance(details, dict) or not details:
        return {}
    if isinstance(details.get("errors"), list):
        return {**details, "errors": [_field_error(e, problem) for e in details["errors"]]}
    if isinstance(details.get("field"), str):
        return {"errors": [_field_error(details, problem)]}
    return details


def _field_error(item: Any, problem: Problem) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"field": "body", "message": str(item), "type": problem.code}
    extra = {k: v for k, v in item.items() if k not in ("field", "message", "type", "code")}
    return {
        "field": str(item.get("field", "body")),
        "message": str(item.get("message", problem.message)),
        "type": str(item.get("type", item.get("code", problem.code))),
        **extra,
    }


_renderers: list[tuple[str, Renderer]] = []
_error_schemas: dict[str, dict[str, Any]] = {}
# Until a surface declares the JSON schema of its error body, the document promises an object.
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def register_surface(
    prefix: str, renderer: Renderer, error_schema: dict[str, Any] | None = None
) -> None:
    _renderers.append((prefix, renderer))
    _error_schemas[prefix] = error_schema or ANY_OBJECT


def error_schema_for(path: str) -> dict[str, Any] | None:
    """The schema of the error bodies a surface renders; None for the native envelope."""
    return next((s for prefix, s in _error_schemas.items() if path.startswith(prefix)), None)


def render_problem(request: Request, problem: Problem) -> JSONResponse:
    """The problem in the shape of the surface the request's path belongs to."""
    for prefix, renderer in _renderers:
        if request.url.path.startswith(prefix):
            return renderer(request, problem)
    return render_native(request, problem)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


# What pydantic says when the body is not a JSON object: often a body sent as a form or text.
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})
JSON_HINT = "send a JSON object with the header Content-Type: application/json"


def problem_from_validation(
    exc: RequestValidationError, content_type: str | None = None
) -> Problem:
    """The refusal of a request that failed validation, in callplane's words.

    ``content_type`` is the request's header: a body that is not a JSON object because it was
    sent as something else is told to send JSON, not that "input should be a dictionary".
    """
    errors = list(exc.errors())
    invalid_json = [e for e in errors if e.get("type") == "json_invalid"]
    if invalid_json:
        where = invalid_json[0]["loc"][-1]
        place = f" at character {where + 1}" if isinstance(where, int) else ""
        return Problem(
            400,
            "malformed_json",
            f"the request body is not valid JSON{place}: {JSON_HINT}",
            {
                "errors": [
                    {"field": "body", "message": f"not valid JSON{place}", "type": "json_invalid"}
                ]
            },
            validation=errors,
        )
    if _body_not_an_object(errors) and not _is_json(content_type):
        sent = f"'{content_type}'" if content_type else "no Content-Type"
        return Problem(
            422,
            "invalid_content_type",
            f"the request body was sent with {sent}; {JSON_HINT}",
            {"errors": [{"field": "body", "message": JSON_HINT, "type": "content_type"}]},
            validation=errors,
        )
    fields = [
        {"field": _field(e["loc"]), "message": _message(e), "type": e["type"]} for e in errors
    ]
    first = fields[0]
    message = f"{first['field']}: {first['message']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    return Problem(422, "invalid_request", message, {"errors": fields}, validation=errors)


def _body_not_an_object(errors: list[Any]) -> bool:
    return any(e.get("type") in _NOT_AN_OBJECT and tuple(e["loc"]) == ("body",) for e in errors)


def _is_json(content_type: str | None) -> bool:
    return content_type is not None and "json" in content_type.lower()


def _message(error: dict[str, Any]) -> str:
    """Pydantic's sentence, but for a missing body: that one names the fix."""
    if error["type"] == "missing" and tuple(error["loc"]) == ("body",):
        return f"this request needs a body: {JSON_HINT}"
    return str(error["msg"])


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return render_problem(request, problem_of(exc))

    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = problem_from_validation(exc, request.headers.get("content-type"))
        return render_problem(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        if exc.status_code == 404:
            problem = Problem(
                404, "route_not_found", f"no such path: {path} (the API reference is at /docs)"
            )
        elif exc.status_code == 405:
            allow = _allowed_methods(request, (exc.headers or {}).get("Allow", ""))
            problem = Problem(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed on {path}; it allows {allow}",
                extra_headers=(("Allow", allow),),
            )
        else:
            problem = Problem(
                exc.status_code,
                "http_error",
                str(exc.detail),
                extra_headers=tuple((exc.headers or {}).items()),
            )
        return render_problem(request, problem)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint caught what a concurrent request changed between our read and write.
        log.info("integrity conflict: %s", type(exc.orig).__name__)
        return render_problem(
            request,
            problem_of(
                Conflict(
                    "concurrent_modification",
                    "a concurrent request changed the same resource; nothing was changed, retry",
                )
            ),
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # Input the validators let through but the database cannot store (a last line).
        log.info("database refused a value: %s", type(exc.orig).__name__)
        return render_problem(
            request,
            problem_of(
                InvalidInput(
                    "unstorable_value",
                    "a value in the request cannot be stored; nothing was changed",
                )
            ),
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if _is_retryable(exc):
            return render_problem(
                request,
                problem_of(
                    Conflict(
                        "concurrent_modification",
                        "the database aborted this request to resolve a conflict; retry",
                    )
                ),
            )
        log.exception("database error")
        return render_problem(request, Problem(500, "internal_error", "internal server error"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        # Runs outside the request-context middleware: name the request id explicitly.
        request_id = request.state.request_id
        log.exception("unhandled error in request %s", request_id)
        response = render_problem(request, Problem(500, "internal_error", "internal server error"))
        response.headers["X-Request-ID"] = request_id
        return response


_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request, fallback: str) -> str:
    """The methods the OpenAPI document gives the resource at this path.

    Starlette names only the first matching route's methods. A literal path wins over a
    template that also matches it: ``/v1/numbers/assign`` allows POST, not the GET of
    ``/v1/numbers/{number}``. Paths outside the document keep Starlette's answer.
    """
    path = request.url.path
    best: tuple[int, set[str]] | None = None
    for template, item in request.app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        if not re.fullmatch(pattern, path):
            continue
        methods = {method.upper() for method in item} & set(_METHODS)
        params = template.count("{")
        if best is None or params < best[0]:
            best = (params, methods)
        elif params == best[0]:
            best[1].update(methods)
    return ", ".join(sorted(best[1])) if best else fallback


def problem_of(exc: DomainError) -> Problem:
    return Problem(exc.status, exc.code, exc.message, exc.details or None)


def _is_retryable(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in {"40001", "40P01", "55P03"} or "database is locked" in str(exc.orig)
