"""The ASGI application: middleware, error rendering per surface, and the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from callplane import __version__, compat
from callplane.agents.router import router as agents_router
from callplane.core import error_handlers
from callplane.core.db import Database, create_db_engine
from callplane.core.middleware import (
    AdmissionMiddleware,
    RequestContextMiddleware,
    request_id_var,
)
from callplane.core.ratelimit import build_rate_limiter
from callplane.events.router import router as events_router
from callplane.numbers.router import router as numbers_router
from callplane.providers.registry import Providers
from callplane.providers.releases import BackgroundWorker, ReleaseWorker, policy_from
from callplane.providers.router import router as providers_router
from callplane.routing.router import router as routing_router
from callplane.routing.runtime import RoutingRuntime
from callplane.settings import Settings, get_settings
from callplane.workspaces.router import router as workspace_router


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger("callplane")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    in_flight = settings.db_pool_size + settings.db_max_overflow
    database = database or Database(
        create_db_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
    )

    providers = Providers(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, in_flight + 8)
        worker = None
        if settings.release_worker:  # releases of deleted numbers, in this process
            worker = BackgroundWorker(
                ReleaseWorker(database, providers, policy_from(providers)),
                settings.release_poll_seconds,
            )
            worker.start()
        routing.start()
        try:
            yield
        finally:
            routing.stop()
            if worker is not None:
                worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="callplane",
        version=__version__,
        description="Phone numbers for voice-AI agents: inventory, inbound and outbound "
        "assignments, and vendor-compatible APIs.",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.rate_limiter = build_rate_limiter(settings.rate_limit_per_minute, settings.redis_url)
    routing = RoutingRuntime(
        database,
        settings.secret_key.get_secret_value(),
        settings.default_stream_url,
        settings.routing_cache_entries,
    )
    app.state.routing = routing
    app.state.providers = providers
    app.add_middleware(AdmissionMiddleware, limit=in_flight)
    app.add_middleware(RequestContextMiddleware)
    error_handlers.install(app)
    # providers_router first: its /v1/numbers/available etc. must win over /v1/numbers/{number}
    for router in (
        agents_router,
        providers_router,
        numbers_router,
        events_router,
        workspace_router,
        routing_router,
    ):
        app.include_router(router)
    compat.install(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """The database answers."""
        try:
            with database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            logging.getLogger("callplane").warning("readiness check failed", exc_info=True)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
