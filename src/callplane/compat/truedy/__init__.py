"""Truedy public v1: telephony numbers and agents in Truedy's envelope, ids and error shapes.

Success is ``{"data", "meta": {"request_id", "ts"}}`` (plus ``pagination`` on lists).
"""

from __future__ import annotations

from fastapi import APIRouter

from callplane.compat.truedy import agents, telephony
from callplane.compat.truedy.errors import render_error

PREFIX = "/compat/truedy/api/public/v1"
router = APIRouter(prefix=PREFIX, tags=["compat: Truedy public v1"])
router.include_router(telephony.router)
router.include_router(agents.router)

__all__ = ["PREFIX", "render_error", "router"]
