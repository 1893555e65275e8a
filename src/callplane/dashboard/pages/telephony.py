"""Telephony settings: the webhook URL to paste into Twilio, stream URLs, provider status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.errors import DomainError
from callplane.core.http import DbSession
from callplane.dashboard import forms
from callplane.dashboard.humane import explain
from callplane.dashboard.sessions import SignedIn
from callplane.dashboard.web import DashboardRoute, Editor, Viewer, redirect_with, render
from callplane.providers.releases import list_releases
from callplane.settings import Settings
from callplane.workspaces.schemas import WorkspaceUpdate
from callplane.workspaces.service import get_workspace, update_workspace

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

RECENT_RELEASES = 10


def _page(
    request: Request, who: SignedIn, session: Session, error: str | None = None, status: int = 200
) -> Response:
    workspace = get_workspace(session, who.actor)
    settings: Settings = request.app.state.settings
    base = (settings.public_base_url or str(request.base_url)).rstrip("/")
    workspace_ref = ids.render("workspace", workspace.id)
    releases = list_releases(session, who.actor, status=None, cursor=None, limit=RECENT_RELEASES)
    return render(
        request,
        "telephony.html",
        {
            "title": "Telephony",
            "section": "Telephony",
            "w": workspace,
            "webhook_url": f"{base}/v1/telephony/twilio/{workspace_ref}/voice",
            "public_base_url": settings.public_base_url,
            "server_stream_url": settings.default_stream_url,
            "releases": releases.items,
            "error": error,
        },
        who=who,
        status=status,
    )


@router.get("/telephony")
def telephony_page(request: Request, who: Viewer, session: DbSession) -> Response:
    return _page(request, who, session)


@router.post("/telephony")
def save_telephony(
    request: Request,
    who: Editor,
    session: DbSession,
    twilio_account_sid: Annotated[str, Form(max_length=128)] = "",
    twilio_auth_token: Annotated[str, Form(max_length=256)] = "",
    default_stream_url: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    values: dict[str, Any] = {
        "twilio_account_sid": forms.text(twilio_account_sid),
        "default_stream_url": forms.text(default_stream_url),
    }
    if twilio_auth_token.strip():  # write-only: an empty field keeps the saved token
        values["twilio_auth_token"] = twilio_auth_token.strip()
    try:
        update_workspace(session, who.actor, forms.parse(WorkspaceUpdate, values).changes())
    except DomainError as exc:
        session.rollback()
        return _page(request, who, session, explain(exc), exc.status)
    return redirect_with(request, "/telephony", "Telephony settings saved.")
