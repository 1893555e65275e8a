"""CallingBox v1: numbers and agents in CallingBox's paths, bare UUID ids and error shape.

CallingBox's own paths start ``/v1/…`` like callplane's native API; here they live under
``/compat/callingbox/v1/…``, so a client's base URL ``https://api.callingbox.io`` becomes
``<callplane>/compat/callingbox`` and the two surfaces never share a path.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from callplane.compat.callingbox import agents, numbers
from callplane.core.error_handlers import Problem

PREFIX = "/compat/callingbox/v1"
router = APIRouter(prefix=PREFIX, tags=["compat: CallingBox v1"])
router.include_router(agents.router)
router.include_router(numbers.router)

# CallingBox documents 400, 401, 404 and 502: bad input is 400 (callplane says 422) and a
# provider failure 502 (callplane says 503 when it is worth a retry). Conflicts stay 409.
_STATUSES = {422: 400, 503: 502}


def render_error(_request: Request, problem: Problem) -> JSONResponse:
    body = {"error": {"code": problem.code, "message": problem.message, "details": problem.details}}
    status = _STATUSES.get(problem.status, problem.status)
    return JSONResponse(body, status_code=status, headers=problem.headers)


__all__ = ["PREFIX", "render_error", "router"]
