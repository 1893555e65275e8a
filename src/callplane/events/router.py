from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callplane.core.envelope import ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, paged
from callplane.events import service
from callplane.events.schemas import EventOut

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get("")
def list_events(
    actor: CurrentActor,
    session: DbSession,
    type: Annotated[str | None, Query(max_length=64)] = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[EventOut]:
    """The audit log, newest first."""
    size = clamp_limit(limit)
    page = service.list_events(session, actor, type_=type, cursor=cursor, limit=size)
    return paged([EventOut.of(e) for e in page.items], page.next_cursor, size, actor)
