"""Synthflow's error shape, and the checks of what only Synthflow's requests carry.

Errors are ``{"detail": {"status", "description", "request_id", "category"}}``. Synthflow
documents 400 for bad input where callplane's native API says 422; its phone-number pages give
the error body as the empty schema ``{}`` (anything), so one shape serves every endpoint.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.error_handlers import Problem
from callplane.core.errors import InvalidInput, not_found

_CATEGORIES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
    500: "internal_error",
    502: "provider_error",
    503: "provider_error",
}


def render_error(request: Request, problem: Problem) -> JSONResponse:
    status = 400 if problem.status == 422 else problem.status
    # Attaching documents 404 only: a slug that cannot be a number is one no workspace holds.
    if request.method == "PUT" and problem.code == "invalid_phone_number":
        status = 404
    description = problem.message
    if problem.validation and problem.code == "invalid_request":
        description = f"request body: {problem.message}"
    body = {
        "detail": {
            "status": "error",
            "description": description,
            "request_id": request.state.request_id,
            "category": _CATEGORIES.get(status, "error"),
        }
    }
    return JSONResponse(body, status_code=status, headers=problem.headers)


def slug(text: str) -> str:
    """Synthflow names numbers by slug only; anything but digits is a bad request here."""
    if not text.isdigit():
        raise InvalidInput(
            "invalid_phone_number",
            f"phone_number_slug: {text!r} is not a slug (the E.164 without '+')",
            {"field": "phone_number_slug", "value": text},
        )
    return text


def check_workspace(actor: Actor, workspace: str, field: str = "workspace") -> None:
    """Synthflow names the workspace in every number request; the API key already does.

    A callplane workspace id other than the key's is one that does not exist (tenancy); any
    other value (a Synthflow workspace id a migrating client still sends) is accepted.
    """
    if not workspace:
        raise InvalidInput("invalid_request", f"{field}: required", {"field": field})
    named = ids.parse("workspace", workspace)
    if named is not None and named != actor.workspace_id:
        raise not_found("workspace", workspace)
