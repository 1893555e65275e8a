from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from callplane.core import conditional
from callplane.core.conditional import NOT_MODIFIED, IfNoneMatch, PreconditionHeaders
from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers import service
from callplane.numbers.schemas import (
    NumberBatch,
    NumberCreate,
    NumberOut,
    NumberUpdate,
    SummaryOut,
)
from callplane.numbers.summary import summarize

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
