"""Agents: the list, one agent with its numbers, creating, editing and archiving."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
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

LONG, SHORT = 20_000, 2048  # longest persona/instructions, longest other text field
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


class AgentForm(BaseModel):
    """The agent form as a browser sends it, declared once for creating and for editing.

    Every field is text ("" when left empty); ``values`` turns it into what the API's own
    models (AgentCreate, AgentUpdate) validate, so the rules stay theirs.
    """

    name: str = Field("", max_length=400)
    type: str = Field("", max_length=32)
    outbound_strategy: str = Field("primary", max_length=32)
    allowed_outbound_countries: str = Field("", max_length=SHORT)
    stream_url: str = Field("", max_length=SHORT)
    voice: str = Field("", max_length=SHORT)
    language: str = Field("", max_length=SHORT)
    webhook_url: str = Field("", max_length=SHORT)
    voicemail_action: str = Field("hangup", max_length=32)
    persona: str = Field("", max_length=LONG)
    instructions: str = Field("", max_length=LONG)

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "outbound_strategy": self.outbound_strategy,
            "allowed_outbound_countries": forms.code_list(self.allowed_outbound_countries),
            "stream_url": forms.text(self.stream_url),
            "voice": forms.text(self.voice),
            "language": forms.text(self.language),
            "webhook_url": forms.text(self.webhook_url),
            "voicemail_action": self.voicemail_action,
            "persona": forms.text(self.persona),
            "instructions": forms.text(self.instructions),
        }


SentAgent = Annotated[AgentForm, Form()]


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
    form: SentAgent,
) -> Response:
    values = form.values()
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
    """An agent's current values, for the edit form's fields."""
    return {name: getattr(agent, name) for name in AgentForm.model_fields}


@router.post("/agents/{ref}/edit")
def save_agent(
    request: Request,
    ref: str,
    who: Editor,
    session: DbSession,
    form: SentAgent,
) -> Response:
    values = form.values()
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
