"""Vendor-compatible APIs: each package translates one vendor's shapes onto the same services.

``workflows`` holds the multi-step use cases several vendors bundle into one request.
"""

from __future__ import annotations

from fastapi import FastAPI

from callplane.compat import callingbox, synthflow, truedy
from callplane.core.error_handlers import register_surface


def install(app: FastAPI) -> None:
    for surface in (synthflow, truedy, callingbox):
        app.include_router(surface.router)
        register_surface(surface.PREFIX, surface.render_error)
