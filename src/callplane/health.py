"""Health probes: the process is up; the database answers; what is degraded."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from callplane.core.db import Database
from callplane.core.ratelimit import RateLimiter

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up: no authentication, no database.

    Also the floor the routing benchmark compares resolution against (docs/benchmarks.md).
    """
    return {"status": "ok"}


def _database_answers(database: Database) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        logging.getLogger("callplane").warning("readiness check failed", exc_info=True)
        return False
    return True


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """503 when the database does not answer; 200 ``degraded`` when only Redis is down.

    Redis only shares rate-limit counts; without it every server keeps serving with a
    per-process count, so taking servers out of the load balancer would turn a degraded
    service into an outage.
    """
    database: Database = request.app.state.database
    limiter: RateLimiter = request.app.state.rate_limiter
    redis = await limiter.redis_status()
    if not await run_in_threadpool(_database_answers, database):
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "redis": redis}, 503
        )
    status = "degraded" if redis == "unreachable" else "ok"
    return JSONResponse({"status": status, "database": "ok", "redis": redis})
