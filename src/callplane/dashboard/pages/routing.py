"""The routing tester: who answers a call, and which caller ID an agent would use.

Both answers come from the hot path's own code: the number's route as its lookups load it and
the routing service's ``decide`` (what ``GET /v1/routing/inbound`` answers), and the caller-ID
selector run as a dry run (what ``POST /v1/routing/outbound`` with ``dry_run`` answers): it
counts against no cap and moves no rotation. The session never holds the API key, so these
calls name the signed-in workspace instead of authenticating a key again.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import partial
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.agents.service import get_agent
from callplane.core.context import Actor
from callplane.core.errors import DomainError, not_found
from callplane.core.http import DbSession
from callplane.core.phone import parse_e164
from callplane.dashboard import forms
from callplane.dashboard.humane import explain
from callplane.dashboard.lookups import Agents
from callplane.dashboard.web import DashboardRoute, Viewer, render
from callplane.reputation.service import policy_of
from callplane.routing import service
from callplane.routing.lookups import RouteLookups
from callplane.routing.router import resolution_body
from callplane.routing.selection import CallerIdSelector, Selection, outbound_agent
from callplane.routing.service import AgentFacts

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
            inbound = _resolve(request, who.actor.workspace_id, to, caller)
        except DomainError as exc:
            inbound_error = explain(exc)
    if agent or call_to:
        try:
            outbound = _select(request, session, who.actor, agent, call_to)
        except DomainError as exc:
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


def _resolve(request: Request, workspace_id: uuid.UUID, to: str, caller: str) -> dict[str, Any]:
    e164 = parse_e164(forms.phone(to), "to").e164
    lookups: RouteLookups = request.app.state.lookups
    found = from_thread.run(lookups.twilio, workspace_id, e164)
    route = found[1] if found is not None else None
    if route is None:
        raise not_found("number", to)
    return resolution_body(service.decide(route, service.caller_country(forms.phone(caller))))


def _select(
    request: Request, session: Session, actor: Actor, agent_ref: str, call_to: str
) -> Selection:
    agent = get_agent(session, actor, agent_ref)
    policy = policy_of(session, actor.workspace_id)
    facts = AgentFacts(
        id=agent.id,
        type=agent.type,
        archived=agent.archived_at is not None,
        outbound_strategy=agent.outbound_strategy,
        allowed_outbound_countries=agent.allowed_outbound_countries,
        when_all_benched=agent.when_all_benched,
        warming_daily_caps=policy.warming_daily_caps,
        sticky_window=dt.timedelta(hours=policy.sticky_window_hours),
    )
    service.check_caller(facts, agent_ref)
    destination = service.check_destination(facts, forms.phone(call_to) or "")
    selector: CallerIdSelector = request.app.state.caller_ids
    return from_thread.run(
        partial(
            selector.select,
            outbound_agent(actor.workspace_id, facts),
            destination.e164,
            service.caller_country(destination.e164),
            dry_run=True,
        )
    )
