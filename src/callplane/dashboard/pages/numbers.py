"""The inventory table: filters, sort and keyset pages, all in the URL."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from callplane.agents.service import get_agent
from callplane.core.http import DbSession
from callplane.dashboard.listing import PAGE_SIZES, parse_query
from callplane.dashboard.lookups import Agents
from callplane.dashboard.web import DashboardRoute, Viewer, render
from callplane.numbers.browse import COUNT_LIMIT, browse_numbers

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@router.get("/numbers")
def numbers_page(request: Request, who: Viewer, session: DbSession) -> Response:
    query = parse_query(request.query_params)
    if query.agent:  # the agent named in the URL is a page of its own: another's is a 404
        get_agent(session, who.actor, query.agent)
    agents = Agents(session, who.actor)
    page = browse_numbers(
        session,
        who.actor,
        query.filters(),
        sort=query.sort,
        window=query.window(),
        limit=query.per_page,
        count_limit=None if query.exact else COUNT_LIMIT,
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
