"""The inventory table: filters, sort and keyset pages, all in the URL."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from callplane.dashboard.listing import PAGE_SIZES, NumberQuery
from callplane.dashboard.lookups import Agents
from callplane.dashboard.web import DashboardRoute, Viewer, render
from callplane.core.http import DbSession
from callplane.numbers.browse import Sort, browse_numbers

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def number_query(
    q: Annotated[str, Query(max_length=64)] = "",
    country: Annotated[str, Query(pattern=r"^([A-Za-z]{2})?$")] = "",
    status: Literal["", "active", "suspended"] = "",
    assignment: Literal["", "inbound", "outbound", "none"] = "",
    agent: Annotated[str, Query(max_length=64)] = "",
    sort: Sort = "created",
    per_page: Literal[25, 50, 100] = 50,
    after: Annotated[str, Query(max_length=64)] = "",
    before: Annotated[str, Query(max_length=64)] = "",
    last: bool = False,
) -> NumberQuery:
    return NumberQuery(q, country, status, assignment, agent, sort, per_page, after, before, last)


ListQuery = Annotated[NumberQuery, Depends(number_query)]


@router.get("/numbers")
def numbers_page(request: Request, who: Viewer, session: DbSession, query: ListQuery) -> Response:
    agents = Agents(session, who.actor)
    page = browse_numbers(
        session,
        who.actor,
        query.filters(),
        sort=query.sort,
        window=query.window(),
        limit=query.per_page,
    )
    return render(
        request,
        "numbers/list.html",
        {
            "title": "Numbers",
            "section": "Numbers",
            "query": query,
            "page": page,
            "agents": agents,
            "page_sizes": PAGE_SIZES,
        },
        who=who,
    )
