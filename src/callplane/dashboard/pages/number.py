"""One number: who answers it, who calls from it, its settings, its history, deleting it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.agents.service import primary_number_of, update_agent
from callplane.assignments import service as assignments
from callplane.core import ids
from callplane.core.errors import Conflict, DomainError
from callplane.core.http import DbSession
from callplane.dashboard import forms
from callplane.dashboard.formatting import international
from callplane.dashboard.humane import explain
from callplane.dashboard.lookups import Agents
from callplane.dashboard.sessions import SignedIn
from callplane.dashboard.web import DashboardRoute, Editor, Viewer, redirect_with, render
from callplane.events.service import search_events
from callplane.numbers.references import parse_ref
from callplane.numbers.schemas import NumberUpdate
from callplane.numbers.service import delete_number, get_number_view, update_number
from callplane.providers.releases import releasable

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

AgentRef = Annotated[str, Form(max_length=64)]
HISTORY = 50


def _url(slug: str) -> str:
    return f"/numbers/{slug}"


def _page(
    request: Request,
    who: SignedIn,
    session: Session,
    slug: str,
    *,
    errors: dict[str, str] | None = None,
    replace_offer: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = get_number_view(session, who.actor, slug)
    agents = Agents(session, who.actor)
    number_ref = ids.render("number", view.number.id)
    history = search_events(
        session, who.actor, resource_id=number_ref, cursor=None, limit=HISTORY
    ).items
    primaries = {
        a for a in view.outbound_agent_ids if primary_number_of(session, a) == view.number.id
    }
    return render(
        request,
        "numbers/detail.html",
        {
            "title": international(view.number.e164),
            "section": "Numbers",
            "v": view,
            "n": view.number,
            "slug": view.number.e164[1:],
            "agents": agents,
            "primaries": primaries,
            "history": history,
            "errors": errors or {},
            "replace_offer": replace_offer,
        },
        who=who,
        status=status,
    )


def _refused(
    request: Request,
    who: SignedIn,
    session: Session,
    slug: str,
    panel: str,
    exc: DomainError,
    *,
    agent: str | None = None,
) -> Response:
    """Undo whatever the refused action started, then show the page with the reason."""
    session.rollback()
    agents = Agents(session, who.actor)
    view = get_number_view(session, who.actor, slug)
    here = international(view.number.e164)
    message = explain(exc, agents.name_of, lambda _ref: here)
    offer = None
    if agent and exc.code == "number_already_assigned":
        offer = {"agent": agent, "name": agents.name_of(agent)}
    return _page(
        request,
        who,
        session,
        slug,
        errors={panel: message},
        replace_offer=offer,
        status=exc.status,
    )


@router.get("/numbers/{slug}")
def number_page(request: Request, slug: str, who: Viewer, session: DbSession) -> Response:
    return _page(request, who, session, slug)


@router.post("/numbers/{slug}/inbound")
def assign_inbound(
    request: Request,
    slug: str,
    who: Editor,
    session: DbSession,
    agent: AgentRef = "",
    replace: Annotated[bool, Form()] = False,
) -> Response:
    try:
        if not agent:
            raise Conflict("choose_agent", "Choose an agent to answer this number.")
        view = assignments.assign(session, who.actor, slug, agent, "inbound", replace=replace)
    except DomainError as exc:
        return _refused(request, who, session, slug, "inbound", exc, agent=agent)
    name = Agents(session, who.actor).name_of(agent)
    return redirect_with(
        request, _url(slug), f"{international(view.number.e164)} is now answered by {name}."
    )


@router.post("/numbers/{slug}/inbound/remove")
def unassign_inbound(request: Request, slug: str, who: Editor, session: DbSession) -> Response:
    try:
        assignments.unassign(session, who.actor, slug, "inbound")
    except DomainError as exc:
        return _refused(request, who, session, slug, "inbound", exc)
    return redirect_with(request, _url(slug), "The inbound agent was removed.")


@router.post("/numbers/{slug}/outbound")
def attach_outbound(
    request: Request, slug: str, who: Editor, session: DbSession, agent: AgentRef = ""
) -> Response:
    try:
        if not agent:
            raise Conflict("choose_agent", "Choose an agent to call from this number.")
        result = assignments.attach_outbound(session, who.actor, agent, [parse_ref(slug, "number")])
    except DomainError as exc:
        return _refused(request, who, session, slug, "outbound", exc)
    name = result.agent.agent.name
    done = "now calls from" if result.newly_attached else "already called from"
    return redirect_with(request, _url(slug), f"{name} {done} this number.")


@router.post("/numbers/{slug}/outbound/detach")
def detach_outbound(
    request: Request, slug: str, who: Editor, session: DbSession, agent: AgentRef = ""
) -> Response:
    try:
        view = assignments.detach(session, who.actor, agent, slug)
    except DomainError as exc:
        return _refused(request, who, session, slug, "outbound", exc)
    return redirect_with(request, _url(slug), f"Detached from {view.agent.name}.")


@router.post("/numbers/{slug}/primary")
def make_primary(
    request: Request, slug: str, who: Editor, session: DbSession, agent: AgentRef = ""
) -> Response:
    try:
        number = get_number_view(session, who.actor, slug).number
        view = update_agent(
            session, who.actor, agent, {"primary_number_id": ids.render("number", number.id)}
        )
    except DomainError as exc:
        return _refused(request, who, session, slug, "outbound", exc)
    return redirect_with(request, _url(slug), f"This is now {view.agent.name}'s primary caller ID.")


@router.post("/numbers/{slug}/settings")
def save_settings(
    request: Request,
    slug: str,
    who: Editor,
    session: DbSession,
    friendly_name: Annotated[str, Form(max_length=400)] = "",
    status: Annotated[str, Form(max_length=32)] = "active",
    fallback_action: Annotated[str, Form(max_length=32)] = "reject",
    fallback_destination: Annotated[str, Form(max_length=400)] = "",
    allowed_inbound_countries: Annotated[str, Form(max_length=2000)] = "",
    max_calls_per_hour: Annotated[str, Form(max_length=32)] = "",
    max_calls_per_day: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    values: dict[str, Any] = {
        "friendly_name": forms.text(friendly_name),
        "status": status,
        "fallback_action": fallback_action,
        "fallback_destination": forms.phone(fallback_destination),
        "allowed_inbound_countries": forms.code_list(allowed_inbound_countries),
        "max_calls_per_hour": forms.whole_number(max_calls_per_hour),
        "max_calls_per_day": forms.whole_number(max_calls_per_day),
    }
    try:
        changes = forms.parse(NumberUpdate, values).changes()
        update_number(session, who.actor, slug, changes)
    except DomainError as exc:
        return _refused(request, who, session, slug, "settings", exc)
    return redirect_with(request, _url(slug), "Settings saved.")


@router.get("/numbers/{slug}/delete")
def confirm_delete(request: Request, slug: str, who: Viewer, session: DbSession) -> Response:
    view = get_number_view(session, who.actor, slug)
    return render(
        request,
        "numbers/delete.html",
        {
            "title": f"Delete {international(view.number.e164)}",
            "section": "Numbers",
            "v": view,
            "n": view.number,
            "slug": view.number.e164[1:],
            "agents": Agents(session, who.actor),
            "releasable": releasable(view.number),
        },
        who=who,
    )


@router.post("/numbers/{slug}/delete")
def delete(request: Request, slug: str, who: Editor, session: DbSession) -> Response:
    removed = delete_number(session, who.actor, slug)
    released = releasable(removed.number)
    return redirect_with(
        request,
        "/numbers",
        f"{international(removed.number.e164)} was deleted"
        + (f" and will be released at {removed.number.provider}." if released else "."),
    )
