"""Truedy's error shapes: ``{"error": {"code", "message", "details"}}``, and FastAPI's own
``{"detail": [...]}`` with status 422 for request validation, as Truedy's service answers it.

Domain-level bad input (a number that cannot exist) is a 400. Truedy documents 422 for a
purchase or import the provider refuses, and 502 (``provider_error``) for a provider failure.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from callplane.core.error_handlers import Problem

_STATUS_BY_CODE = {
    "number_not_available": 422,
    "provider_not_configured": 422,
    # Idempotency keys answer as on the native API, whose store Truedy's header shares.
    "idempotency_key_reused": 422,
    "invalid_idempotency_key": 422,
}
_PROVIDER_FAILURES = (502, 503)


def render_error(_request: Request, problem: Problem) -> JSONResponse:
    if problem.validation is not None and problem.status in (400, 422):
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in problem.validation
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    status = 400 if problem.status == 422 else problem.status
    status = _STATUS_BY_CODE.get(problem.code, status)
    code = problem.code
    if problem.status in _PROVIDER_FAILURES:
        status, code = 502, "provider_error"
    details: dict[str, Any] | None = problem.details if isinstance(problem.details, dict) else None
    if code != problem.code:
        details = {**(details or {}), "reason": problem.code}
    body = {"error": {"code": code, "message": problem.message, "details": details}}
    return JSONResponse(body, status_code=status, headers=problem.headers)
