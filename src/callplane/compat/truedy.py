"""Truedy public v1: assign and unassign numbers, in Truedy's envelope and error shapes.

Success is ``{"data", "meta": {"request_id", "ts"}}``; errors are ``{"error": {"code",
"message", "details"}}``, except request validation, which is FastAPI's ``{"detail": [...]}``
with status 422. Domain-level bad input (a number that cannot exist) is a 400.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from callplane.core import ids
from callplane.core.envelope import Meta, meta
from callplane.core.error_handlers import Problem
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input, iso
from callplane.numbers import assignments

PREFIX = "/compat/truedy/api/public/v1"
router = APIRouter(prefix=PREFIX, tags=["compat: Truedy public v1"])


class UnassignRequest(Input):
    number_id: str
    assignment_type: Literal["inbound", "outbound"]


class AssignRequest(Input):
    number_id: str
    agent_id: str
    assignment_type: Literal["inbound", "outbound"]


class Unassigned(BaseModel):
    number: str
    agent_id: None
    unassigned_at: str


class Assigned(BaseModel):
    number: str
    number_id: str
    agent_id: str
    assignment_type: str
    assigned_at: str


class UnassignResponse(BaseModel):
    data: Unassigned
    meta: Meta


class AssignResponse(BaseModel):
    data: Assigned
    meta: Meta


def render_error(_request: Request, problem: Problem) -> JSONResponse:
    if problem.validation is not None and problem.status in (400, 422):
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in problem.validation
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    status = 400 if problem.status == 422 else problem.status
    details: dict[str, Any] | None = problem.details if isinstance(problem.details, dict) else None
    body = {"error": {"code": problem.code, "message": problem.message, "details": details}}
    return JSONResponse(body, status_code=status, headers=problem.headers)


@router.post("/telephony/numbers/unassign")
def unassign_phone_number(
    body: UnassignRequest, actor: CurrentActor, session: DbSession
) -> UnassignResponse:
    """Remove a number's assignment in one direction."""
    result = assignments.unassign(session, actor, body.number_id, body.assignment_type)
    return UnassignResponse(
        data=Unassigned(
            number=result.number.number.e164, agent_id=None, unassigned_at=iso(result.at) or ""
        ),
        meta=meta(actor.request_id or ""),
    )


@router.post("/telephony/numbers/assign")
def assign_phone_number(
    body: AssignRequest, actor: CurrentActor, session: DbSession
) -> AssignResponse:
    """Give a number to an agent in one direction (a held inbound number is a 409)."""
    result = assignments.assign(session, actor, body.number_id, body.agent_id, body.assignment_type)
    agent_id = ids.parse("agent", body.agent_id)
    return AssignResponse(
        data=Assigned(
            number=result.number.e164,
            number_id=ids.render("number", result.number.id),
            agent_id=ids.render("agent", agent_id) if agent_id else body.agent_id,
            assignment_type=body.assignment_type,
            assigned_at=iso(result.number.updated_at) or "",
        ),
        meta=meta(actor.request_id or ""),
    )
