"""The audit log: every event of the workspace, filtered by type, resource and time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from callplane.core.errors import InvalidInput
from callplane.core.http import DbSession
from callplane.dashboard.web import DashboardRoute, Viewer, render
from callplane.events.service import search_events

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE = 50


def _day(value: str, field: str) -> dt.datetime | None:
    """A date from a date input, as the start of that day in UTC."""
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError as exc:
        raise InvalidInput(
            "invalid_date", f"{field}: {value!r} is not a date such as 2026-11-27"
        ) from exc


@router.get("/audit")
def audit_page(
    request: Request,
    who: Viewer,
    session: DbSession,
    type: Annotated[str, Query(max_length=64)] = "",
    resource: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    after: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    until_day = _day(until, "Until")
    page = search_events(
        session,
        who.actor,
        type_=type.strip() or None,
        resource_id=resource.strip() or None,
        since=_day(since, "Since"),
        until=until_day + dt.timedelta(days=1) if until_day else None,
        cursor=after or None,
        limit=PAGE,
    )
    filters = {"type": type, "resource": resource, "since": since, "until": until}
    kept = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "audit.html",
        {
            "title": "Audit log",
            "section": "Audit log",
            "history": page.items,
            "filters": filters,
            "next_url": "/audit?" + urlencode({**kept, "after": page.next_cursor})
            if page.next_cursor
            else None,
        },
        who=who,
    )
