"""What every dashboard page shares: the signed-in check, CSRF, rendering, headers, errors.

Pages are plain FastAPI routes on ``DashboardRoute``: it turns a missing session into a
redirect to the sign-in page and any refused request into an HTML page in human words, and
adds the security headers (a Content-Security-Policy allowing only this origin) to every
response, so no page can forget them.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from callplane.core.errors import DomainError
from callplane.core.http import DbSession, request_id
from callplane.dashboard import formatting
from callplane.dashboard.humane import explain, explain_validation
from callplane.dashboard.sessions import LIFETIME, SignedIn, current
from callplane.settings import Settings

log = logging.getLogger("callplane.dashboard")

SESSION_COOKIE = "cp_session"
FLASH_COOKIE = "cp_flash"
CSRF_FIELD = "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
formatting.install(templates.env)


class SignInRequired(Exception):
    """No usable session: the browser is sent to the sign-in page."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token: refused, nothing done."""


class DashboardRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path if request.method == "GET" else "/numbers"
                response = redirect("/sign-in?" + urlencode({"next": target}))
                response.delete_cookie(SESSION_COOKIE, path="/")
            except CsrfRefused:
                response = error_page(
                    request,
                    403,
                    "This form could not be accepted",
                    "It was not sent from a page of this dashboard, or it has expired. "
                    "Nothing was changed. Go back, reload the page and try again.",
                )
            except DomainError as exc:
                response = error_page(request, exc.status, "That did not work", explain(exc))
            except RequestValidationError as exc:
                response = error_page(
                    request, 422, "Some values are not valid", explain_validation(exc.errors())
                )
            except HTTPException as exc:
                response = error_page(request, exc.status_code, "That did not work", exc.detail)
            except DBAPIError:
                log.exception("database error on a dashboard page")
                response = error_page(
                    request,
                    503,
                    "The database is busy",
                    "Nothing was changed. Try again in a moment.",
                )
            response.headers.update(SECURITY_HEADERS)
            response.headers["Vary"] = "Cookie"
            return response

        return handle


def signer(request: Request) -> TimestampSigner:
    settings: Settings = request.app.state.settings
    return TimestampSigner(settings.secret_key.get_secret_value(), salt="callplane.dashboard")


def session_token(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return signer(request).unsign(cookie, max_age=int(LIFETIME.total_seconds())).decode()
    except BadSignature:
        return None


def _signed_in(request: Request, session: DbSession) -> SignedIn:
    token = session_token(request)
    who = current(session, token, request_id(request)) if token else None
    if who is None:
        raise SignInRequired
    return who


async def _signed_in_form(
    request: Request, who: Annotated[SignedIn, Depends(_signed_in)]
) -> SignedIn:
    """The signed-in user, for a state-changing request: its form must carry the CSRF token."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, who.csrf_token):
        raise CsrfRefused
    return who


Viewer = Annotated[SignedIn, Depends(_signed_in)]
Editor = Annotated[SignedIn, Depends(_signed_in_form)]


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signer(request).sign(token).decode(),
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    who: SignedIn | None = None,
    status: int = 200,
) -> HTMLResponse:
    flash = _take_flash(request)
    response = templates.TemplateResponse(
        request,
        template,
        {"who": who, "csrf_field": CSRF_FIELD, "flash": flash, **context},
        status_code=status,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"who": None, "title": title, "message": message, "flash": None},
        status_code=status,
    )


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def redirect_with(request: Request, url: str, flash: str) -> Response:
    """A 303 to a page carrying a one-time message for it (a signed, short-lived cookie)."""
    response = redirect(url)
    response.set_cookie(
        FLASH_COOKIE,
        _flash_serializer(request).dumps(flash),
        max_age=60,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _flash_serializer(request: Request) -> URLSafeTimedSerializer:
    settings: Settings = request.app.state.settings
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="callplane.flash")


def _take_flash(request: Request) -> str | None:
    cookie = request.cookies.get(FLASH_COOKIE)
    if not cookie:
        return None
    try:
        message = _flash_serializer(request).loads(cookie, max_age=60)
    except BadSignature:
        return None
    return message if isinstance(message, str) else None
