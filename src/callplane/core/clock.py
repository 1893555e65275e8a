"""The server's clock, which a simulation may set per request (never in production).

Everything that stamps or compares time goes through ``core.db.utcnow``, which reads
``simulated_now`` first. Only ``SimulatedClockMiddleware`` sets it, from the
``X-Callplane-Simulated-Time`` header, and the application installs that middleware only when
``CALLPLANE_SIMULATED_CLOCK=true``, which the settings refuse together with
``CALLPLANE_ENV=production``. It exists so that bench/caller_id_reputation.py can replay days of
calls in minutes through the real API.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-callplane-simulated-time"
simulated_now: ContextVar[dt.datetime | None] = ContextVar("simulated_now", default=None)


class SimulatedClockMiddleware:
    """The request runs at the time its header names (ISO 8601 with a zone); else real time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = next((v for k, v in scope.get("headers", ()) if k == HEADER), None)
        moment = _parse(value.decode("latin-1")) if value is not None else None
        token = simulated_now.set(moment)
        try:
            await self.app(scope, receive, send)
        finally:
            simulated_now.reset(token)


def _parse(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else None
