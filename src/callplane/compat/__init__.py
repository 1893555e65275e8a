"""Vendor-compatible APIs: each module translates one vendor's shapes onto the same services."""

from __future__ import annotations

from fastapi import FastAPI

from callplane.compat import callingbox, synthflow, truedy
from callplane.core.error_handlers import register_surface


def install(app: FastAPI) -> None:
    for surface in (synthflow, truedy, callingbox):
        app.include_router(surface.router)
        register_surface(surface.PREFIX, surface.render_error)
