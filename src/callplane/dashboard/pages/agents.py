"""Agents: the list, one agent with its numbers, creating, editing and archiving."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.agents import service
from callplane.agents.schemas import AgentCreate, AgentUpdate
from callplane.core import ids
from callplane.core.errors import DomainError
from callplane.core.http import DbSession
from callplane.dashboard import forms
from callplane.dashboard.humane import explain
from callplane.dashboard.sessions import SignedIn
from callplane.dashboard.web import DashboardRoute, Editor, Viewer, redirect_with, render
from callplane.numbers.service import NumberFilters, list_numbers

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=2048)]
SHOWN_NUMBERS = 100  # on an agent's page; the numbers list filtered by agent has them all


@router.get("/agents")
def agents_page(
    request: Request,
    who: Viewer,
    session: DbSession,
    type: Literal["", "inbound", "outbound"] = "",
    archived: bool = False,
    after: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    page = service.list_agents(
        session,
        who.actor,
        type_=type or None,
        include_archived=archived,
        cursor=after or None,
        limit=50,
    )
    counts = service.number_counts(session, [v.agent.id for v in page.items])
    return render(
        request,
        "agents/list.html",
        {
            "title": "Agents",
            "section": "Agents",
            "page": page,
            "counts": counts,
            "type": type,
            "archived": archived,
        },
        who=who,
    )


def _form_values(
    name: str,
    type_: str | None,
    outbound_strategy: str,
    allowed_outbound_countries: str,
    stream_url: str,
    voice: str,
    language: str,
    webhook_url: str,
    voicemail_action: str,
    persona: str,
    instructions: str,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": name,
        "outbound_strategy": outbound_strategy,
        "allowed_outbound_countries": forms.code_list(allowed_outbound_countries),
        "stream_url": forms.text(stream_url),
        "voice": forms.text(voice),
        "language": forms.text(language),
        "webhook_url": forms.text(webhook_url),
        "voicemail_action": voicemail_action,
        "persona": forms.text(persona),
        "instructions": forms.text(instructions),
    }
    if type_ is not None:
        values["type"] = type_
    return values


def _form(
    request: Request,
    who: SignedIn,
    *,
    agent: Any = None,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "agents/form.html",
        {
            "title": f"Edit {agent.name}" if agent else "New agent",
            "section": "Agents",
            "agent": agent,
            "values": values or {},
            "error": error,
        },
        who=who,
        status=status,
    )


@router.get("/agents/new")
def new_agent(request: Request, who: Viewer) -> Response:
    return _form(request, who)


@router.post("/agents/new")
def create_agent(
    request: Request,
    who: Editor,
    session: DbSession,
    name: Annotated[str, Form(max_length=400)] = "",
    type: Annotated[str, Form(max_length=32)] = "",
    outbound_strategy: Annotated[str, Form(max_length=32)] = "primary",
    allowed_outbound_countries: Short = "",
    stream_url: Short = "",
    voice: Short = "",
    language: Short = "",
    webhook_url: Short = "",
    voicemail_action: Annotated[str, Form(max_length=32)] = "hangup",
    persona: Text = "",
    instructions: Text = "",
) -> Response:
    values = _form_values(
        name,
        type,
        outbound_strategy,
        allowed_outbound_countries,
        stream_url,
        voice,
        language,
        webhook_url,
        voicemail_action,
        persona,
        instructions,
    )
    try:
        view = service.create_agent(session, who.actor, forms.parse(AgentCreate, values).fields())
    except DomainError as exc:
        session.rollback()
        return _form(request, who, values=values, error=explain(exc), status=exc.status)
    ref = ids.render("agent", view.agent.id)
    return redirect_with(request, f"/agents/{ref}", f"Agent {view.agent.name} created.")


def _agent_page(request: Request, who: SignedIn, session: Session, ref: str) -> Response:
    agent = service.get_agent(session, who.actor, ref)
    view = service.view(session, agent)
    numbers = list_numbers(
        session, who.actor, NumberFilters(agent_id=ref), cursor=None, limit=SHOWN_NUMBERS
    ).items
    return render(
        request,
        "agents/detail.html",
        {
            "title": agent.name,
            "section": "Agents",
            "a": agent,
            "ref": ids.render("agent", agent.id),
            "primary": view.primary_number_id,
            "numbers": numbers,
            "count": service.number_counts(session, [agent.id]).get(agent.id, 0),
        },
        who=who,
    )


@router.get("/agents/{ref}")
def agent_page(request: Request, ref: str, who: Viewer, session: DbSession) -> Response:
    return _agent_page(request, who, session, ref)


@router.get("/agents/{ref}/edit")
def edit_agent(request: Request, ref: str, who: Viewer, session: DbSession) -> Response:
    agent = service.get_agent(session, who.actor, ref)
    return _form(request, who, agent=agent, values=_values_of(agent))


def _values_of(agent: Any) -> dict[str, Any]:
    fields = (
        "name",
        "type",
        "outbound_strategy",
        "allowed_outbound_countries",
        "stream_url",
        "voice",
        "language",
        "webhook_url",
        "voicemail_action",
        "persona",
        "instructions",
    )
    return {f: getattr(agent, f) for f in fields}


@router.post("/agents/{ref}/edit")
def save_agent(
    request: Request,
    ref: str,
    who: Editor,
    session: DbSession,
    name: Annotated[str, Form(max_length=400)] = "",
    type: Annotated[str, Form(max_length=32)] = "",
    outbound_strategy: Annotated[str, Form(max_length=32)] = "primary",
    allowed_outbound_countries: Short = "",
    stream_url: Short = "",
    voice: Short = "",
    language: Short = "",
    webhook_url: Short = "",
    voicemail_action: Annotated[str, Form(max_length=32)] = "hangup",
    persona: Text = "",
    instructions: Text = "",
) -> Response:
    values = _form_values(
        name,
        type,
        outbound_strategy,
        allowed_outbound_countries,
        stream_url,
        voice,
        language,
        webhook_url,
        voicemail_action,
        persona,
        instructions,
    )
    try:
        changes = forms.parse(AgentUpdate, values).changes()
        view = service.update_agent(session, who.actor, ref, changes)
    except DomainError as exc:
        session.rollback()
        agent = service.get_agent(session, who.actor, ref)
        return _form(
            request, who, agent=agent, values=values, error=explain(exc), status=exc.status
        )
    return redirect_with(request, f"/agents/{ref}", f"Agent {view.agent.name} saved.")


@router.get("/agents/{ref}/archive")
def confirm_archive(request: Request, ref: str, who: Viewer, session: DbSession) -> Response:
    agent = service.get_agent(session, who.actor, ref)
    return render(
        request,
        "agents/archive.html",
        {
            "title": f"Archive {agent.name}",
            "section": "Agents",
            "a": agent,
            "ref": ids.render("agent", agent.id),
            "count": service.number_counts(session, [agent.id]).get(agent.id, 0),
        },
        who=who,
    )


@router.post("/agents/{ref}/archive")
def archive(request: Request, ref: str, who: Editor, session: DbSession) -> Response:
    view = service.archive_agent(session, who.actor, ref)
    return redirect_with(
        request, f"/agents/{ref}", f"Agent {view.agent.name} archived; its numbers were released."
    )
