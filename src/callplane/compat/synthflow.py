"""Synthflow v2: attach, detach and delete numbers, in Synthflow's paths and shapes.

Errors are ``{"detail": {"status", "description", "request_id", "category"}}``. Synthflow
documents 400 for bad input where callplane's native API says 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from callplane.core.error_handlers import Problem
from callplane.core.errors import InvalidInput
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input
from callplane.numbers import assignments, service
from callplane.numbers.references import parse_refs

PREFIX = "/compat/synthflow/v2"
router = APIRouter(prefix=PREFIX, tags=["compat: Synthflow v2"])

_CATEGORIES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
    500: "internal_error",
}


class StatusOk(BaseModel):
    status: str = "ok"


class AttachBody(Input):
    """The seed's ``oneOf``: E.164 numbers, or slugs."""

    phone_numbers: list[str] | None = None
    phone_number_slugs: list[str] | None = None


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


@router.put("/assistants/{model_id}/phone_numbers")
def attach_phone_numbers(
    model_id: str,
    actor: CurrentActor,
    session: DbSession,
    body: Annotated[AttachBody | None, Body()] = None,
) -> StatusOk:
    """Attach outbound numbers by ``phone_numbers`` (E.164) or ``phone_number_slugs``."""
    groups = [
        (name, values)
        for name, values in (
            ("phone_numbers", body.phone_numbers if body else None),
            ("phone_number_slugs", body.phone_number_slugs if body else None),
        )
        if values is not None
    ]
    if len(groups) != 1:
        raise _shape_error()
    assignments.attach_outbound(session, actor, model_id, parse_refs(groups))
    return StatusOk()


@router.delete("/assistants/{model_id}/phone_numbers/{phone_number_slug}")
def detach_phone_number(
    model_id: str, phone_number_slug: str, actor: CurrentActor, session: DbSession
) -> StatusOk:
    """Detach one number, named by its slug, from the agent."""
    assignments.detach(session, actor, model_id, _slug(phone_number_slug))
    return StatusOk()


@router.delete("/numbers/{phone_number_slug}")
def delete_phone_number(
    phone_number_slug: str, actor: CurrentActor, session: DbSession
) -> StatusOk:
    """Delete the number: detached from every agent, removed from the workspace."""
    service.delete_number(session, actor, _slug(phone_number_slug))
    return StatusOk()


def _slug(text: str) -> str:
    """Synthflow names numbers by slug only; anything but digits is a bad request here."""
    if not text.isdigit():
        raise InvalidInput(
            "invalid_phone_number",
            f"phone_number_slug: {text!r} is not a slug (the E.164 without '+')",
            {"field": "phone_number_slug", "value": text},
        )
    return text


def _shape_error() -> InvalidInput:
    return InvalidInput(
        "invalid_request",
        "send a JSON body with exactly one of 'phone_numbers' (E.164 list) or "
        "'phone_number_slugs' (list of numbers without '+')",
    )
