"""The routing tester: who answers a call, and which caller ID an agent would use.

Inbound answers come from the routing service's own ``decide`` on the number's route, exactly
what ``GET /v1/routing/inbound`` answers. The caller-ID question is a dry run of the same
selection: it counts against no cap and moves no rotation.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from callplane.core.errors import DomainError, not_found
from callplane.core.http import DbSession
from callplane.core.phone import parse_e164
from callplane.dashboard import forms
from callplane.dashboard.humane import explain
from callplane.dashboard.lookups import Agents
from callplane.dashboard.web import DashboardRoute, Viewer, render
from callplane.routing import service
from callplane.routing.router import resolution_body
from callplane.routing.runtime import RoutingRuntime

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

Number = Annotated[str, Query(max_length=64)]


@router.get("/routing")
def routing_page(
    request: Request,
    who: Viewer,
    session: DbSession,
    to: Number = "",
    caller: Annotated[str, Query(alias="from", max_length=64)] = "",
    agent: Number = "",
    call_to: Number = "",
) -> Response:
    agents = Agents(session, who.actor)
    inbound = inbound_error = outbound = outbound_error = None
    if to:
        try:
            runtime: RoutingRuntime = request.app.state.routing
            e164 = parse_e164(forms.phone(to), "to").e164
            route = service.load_inbound_route(
                session, who.actor.workspace_id, e164, runtime.default_stream_url
            )
            if route is None:
                raise not_found("number", to)
            resolution = service.decide(route, service.caller_country(forms.phone(caller)))
            inbound = resolution_body(resolution)
        except DomainError as exc:
            inbound_error = explain(exc)
    if agent or call_to:
        try:
            outbound = service.select_caller_id(
                session, who.actor, agent, forms.phone(call_to) or "", dry_run=True
            )
        except DomainError as exc:
            session.rollback()
            outbound_error = explain(exc, agents.name_of)
    return render(
        request,
        "routing.html",
        {
            "title": "Routing tester",
            "section": "Routing tester",
            "agents": agents,
            "to": to,
            "caller": caller,
            "agent": agent,
            "call_to": call_to,
            "inbound": inbound,
            "inbound_json": json.dumps(inbound, indent=2) if inbound else None,
            "inbound_error": inbound_error,
            "outbound": outbound,
            "outbound_error": outbound_error,
        },
        who=who,
    )
