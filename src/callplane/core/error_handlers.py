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
    body = error_body(request.state.request_id, problem.code, problem.message, problem.details)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers)


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


def problem_from_validation(exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return Problem(
            400,
            "malformed_json",
            "the request body is not valid JSON",
            {"errors": [e.get("ctx", {}).get("error", "") for e in errors]},
            validation=errors,
        )
    fields = [{"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in errors]
    first = fields[0]
    message = f"{first['field']}: {first['message']}"
    if len(fields) > 1:
        message += f" (and {len(fields) - 1} more)"
    return Problem(422, "invalid_request", message, {"errors": fields}, validation=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return render_problem(request, problem_of(exc))

    @app.exception_handler(NotModified)
    async def _not_modified(_request: Request, exc: NotModified) -> Response:
        return Response(status_code=304, headers={"ETag": exc.etag})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return render_problem(request, problem_from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        headers = tuple((exc.headers or {}).items())
        if exc.status_code == 405:
            allow = _allowed_methods(request, (exc.headers or {}).get("Allow", ""))
            headers = (("Allow", allow),)
        return render_problem(
            request, Problem(exc.status_code, code, str(exc.detail), extra_headers=headers)
        )

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
