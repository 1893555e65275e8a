"""The dashboard: server-rendered pages over the same services as the API, at ``/``.

It is a consumer, not a second backend: every page calls the services the native API calls,
and every refusal is the services' own, worded for a person.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from callplane.dashboard.pages import (
    agents,
    audit,
    auth,
    bulk,
    imports,
    number,
    numbers,
    routing,
    telephony,
)


def install(app: FastAPI) -> None:
    for page in (auth, numbers, bulk, number, agents, imports, audit, routing, telephony):
        app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
