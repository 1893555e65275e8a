"""Signing in with an API key and out again.

The sign-in form has its own CSRF token (a signed cookie and a hidden field that must match),
so another site cannot sign a browser into a workspace of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from callplane.core.errors import Unauthenticated
from callplane.core.http import DbSession, request_id
from callplane.dashboard import sessions
from callplane.dashboard.web import (
    SESSION_COOKIE,
    DashboardRoute,
    Editor,
    redirect,
    render,
    session_token,
    set_session_cookie,
)
from callplane.settings import Settings

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

LOGIN_CSRF_COOKIE = "cp_signin"


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/numbers"


def _sign_in_page(request: Request, next_url: str, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {"title": "Sign in", "next": next_url, "error": error, "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/sign-in",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/")
def home() -> Response:
    return redirect("/numbers")


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, _safe_next(next), None, 200)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    api_key: Annotated[str, Form(max_length=512)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/numbers",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _sign_in_page(
            request, _safe_next(next), "The sign-in form expired. Please try again.", 403
        )
    settings: Settings = request.app.state.settings
    try:
        token = sessions.sign_in(
            session, api_key, settings.secret_key.get_secret_value(), request_id(request)
        )
    except Unauthenticated as exc:
        session.rollback()
        reason = {
            "missing_api_key": "Enter an API key of your workspace.",
            "revoked_api_key": "This API key has been revoked.",
        }.get(exc.code, "This API key is not valid.")
        return _sign_in_page(request, _safe_next(next), reason, 401)
    response = redirect(_safe_next(next))
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: DbSession, _who: Editor) -> Response:
    """Needs the session's CSRF token too: another site cannot sign a browser out."""
    token = session_token(request)
    if token:
        sessions.sign_out(session, token)
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
