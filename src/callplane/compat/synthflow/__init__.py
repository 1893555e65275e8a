"""Synthflow v2: numbers and assistants in Synthflow's paths, bodies, ids and error shape."""

from __future__ import annotations

from fastapi import APIRouter

from callplane.compat.synthflow import assistants, numbers
from callplane.compat.synthflow.errors import render_error

PREFIX = "/compat/synthflow/v2"
router = APIRouter(prefix=PREFIX, tags=["compat: Synthflow v2"])
router.include_router(assistants.router)
router.include_router(numbers.router)

__all__ = ["PREFIX", "render_error", "router"]
