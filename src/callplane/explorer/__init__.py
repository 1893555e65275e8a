"""The API explorer at ``/docs`` (Swagger UI) and ``/redoc``, working without the internet.

FastAPI's own pages load their scripts from a CDN and start Swagger UI with an inline script.
These pages load the assets the ``fastapi-offline`` package ships (pinned in pyproject.toml)
from this server, start Swagger UI from a static file of ours, and carry the dashboard's
Content-Security-Policy: nothing but this origin, no inline script.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN = Path(__file__).parent / "static"
ASSETS_URL = "/explorer/assets"
OWN_URL = "/explorer/static"
# The dashboard's policy, plus ReDoc's search worker, which it starts from a blob: URL.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; worker-src 'self' blob:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


def _page(title: str, head: str, body: str, style_nonce: str | None = None) -> HTMLResponse:
    headers = dict(HEADERS)
    if style_nonce is not None:
        policy = headers["Content-Security-Policy"]
        headers["Content-Security-Policy"] = policy.replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{style_nonce}'"
        )
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{ASSETS_URL}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(html, headers=headers)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _page(
        "callplane API: Swagger UI",
        f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">'
        f'<link rel="stylesheet" href="{OWN_URL}/explorer.css">',
        f'<div id="swagger-ui" data-openapi-url="/openapi.json"></div>'
        f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>'
        f'<script src="{OWN_URL}/swagger-init.js"></script>',
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc styles itself with <style> elements it writes: they carry this response's nonce."""
    nonce = secrets.token_urlsafe(16)
    return _page(
        "callplane API: ReDoc",
        f'<link rel="stylesheet" href="{OWN_URL}/explorer.css">',
        f'<div id="redoc" data-openapi-url="/openapi.json" data-style-nonce="{nonce}"></div>'
        f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>'
        f'<script src="{OWN_URL}/redoc-init.js"></script>',
        style_nonce=nonce,
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="explorer-assets")
    app.mount(OWN_URL, StaticFiles(directory=OWN), name="explorer-static")
