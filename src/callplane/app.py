"""The ASGI application: middleware, error rendering per surface, and the routers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from pydantic import BaseModel

from callplane import __version__, compat, dashboard, explorer, health
from callplane.agents.router import router as agents_router
from callplane.assignments import router as assignments_api
from callplane.core import crypto, error_handlers
from callplane.core.auth_guard import FailedAuthGuard
from callplane.core.clock import SimulatedClockMiddleware
from callplane.core.db import Database, create_db_engine
from callplane.core.hotdb import HotPool
from callplane.core.middleware import (
    AdmissionMiddleware,
    RequestContextMiddleware,
    RequestLimitMiddleware,
    request_id_var,
)
from callplane.core.openapi import declare_errors
from callplane.core.ratelimit import build_rate_limiter
from callplane.core.workers import BackgroundWorker, every
from callplane.events.router import router as events_router
from callplane.idempotency import service as idempotency
from callplane.numbers import router as numbers_api
from callplane.numbers.router import router as numbers_router
from callplane.providers.registry import Providers
from callplane.providers.releases import ReleaseWorker, policy_from, recover
from callplane.providers.router import router as providers_router
from callplane.reputation import service as reputation
from callplane.reputation.router import router as reputation_router
from callplane.routing import router as routing_api
from callplane.routing.call_legs import CallLegs
from callplane.routing.lookups import RouteLookups
from callplane.routing.selection import CallerIdSelector
from callplane.settings import DEVELOPMENT_SECRET_WARNING, Settings, get_settings
from callplane.webhooks.delivery import DeliveryWorker, Policy
from callplane.webhooks.router import catalog_router as event_types_router
from callplane.webhooks.router import router as webhooks_router
from callplane.workspaces.authenticator import KeyAuthenticator
from callplane.workspaces.key_usage import KeyUsage
from callplane.workspaces.router import router as workspace_router

PRUNE_SECONDS = 600.0
HEALTH_CHANGES_SECONDS = 60.0
log = logging.getLogger("callplane.app")


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
    if settings.uses_development_secret:
        log.warning(DEVELOPMENT_SECRET_WARNING)
    crypto.install(crypto.Keyring.of(settings))
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
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, in_flight + 8)
        workers = []
        if settings.release_worker:  # releases of deleted numbers, in this process
            workers.append(
                BackgroundWorker(
                    ReleaseWorker(
                        database, providers, policy_from(providers), recover(database, providers)
                    ),
                    settings.release_poll_seconds,
                    "release-worker",
                )
            )
        if settings.webhooks_worker:  # the webhook outbox, in this process
            deliveries = DeliveryWorker(database, Policy.of(settings))
            workers.append(
                BackgroundWorker(deliveries, settings.webhooks_poll_seconds, "webhook-worker")
            )
        for worker in workers:
            worker.start()
        pruning = (
            asyncio.create_task(
                every(PRUNE_SECONDS, caller_ids.prune, "pruning old caller-ID selections")
            ),
            asyncio.create_task(
                every(
                    PRUNE_SECONDS,
                    lambda: anyio.to_thread.run_sync(idempotency.prune, database),
                    "pruning expired idempotency keys",
                )
            ),
            asyncio.create_task(
                every(
                    PRUNE_SECONDS,
                    lambda: anyio.to_thread.run_sync(call_legs.prune),
                    "pruning Twilio call legs",
                )
            ),
            asyncio.create_task(
                every(
                    HEALTH_CHANGES_SECONDS,
                    lambda: anyio.to_thread.run_sync(reputation.apply_due_changes, database),
                    "applying due caller-ID health changes",
                )
            ),
        )
        try:
            yield
        finally:
            for task in pruning:
                task.cancel()
            hot_pool.close()
            for worker in workers:
                worker.stop()
            await app.state.rate_limiter.close()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # the explorer serves /docs and /redoc from local assets
        redoc_url=None,
        title="callplane",
        version=__version__,
        description="Phone numbers for voice-AI agents: inventory, inbound and outbound "
        "assignments, and vendor-compatible APIs.",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.rate_limiter = build_rate_limiter(
        settings.rate_limit_per_minute, settings.redis_url, settings.redis_timeout_seconds
    )
    app.state.auth_guard = FailedAuthGuard(settings.auth_failures_per_minute)
    app.state.key_usage = key_usage = KeyUsage(database)
    hot_pool = HotPool(database.engine, settings.hot_path_connections)
    app.state.authenticator = KeyAuthenticator(
        settings.secret_key.get_secret_value(), key_usage, hot_pool
    )
    app.state.lookups = RouteLookups(
        hot_pool, settings.secret_key.get_secret_value(), settings.default_stream_url
    )
    app.state.call_legs = call_legs = CallLegs(
        hot_pool, database, dt.timedelta(hours=settings.twilio_replay_window_hours)
    )
    app.state.caller_ids = caller_ids = CallerIdSelector(hot_pool)
    app.state.providers = providers
    # The hot path holds no lock and has its own bounded threads and connections (lookups.py):
    # it cannot starve the pool, so it does not wait for admission.
    app.add_middleware(
        AdmissionMiddleware, limit=in_flight, exempt=("/healthz", *routing_api.HOT_PATHS)
    )
    if settings.simulated_clock:  # a simulation's hook; the settings refuse it in production
        app.add_middleware(SimulatedClockMiddleware)
    app.add_middleware(RequestLimitMiddleware, limits=settings.request_limits)
    app.add_middleware(RequestContextMiddleware, allow_private_urls=settings.allow_private_urls)
    error_handlers.install(app)
    # The probes first; providers and assignments before numbers_router (/v1/numbers/available
    # and /v1/numbers/assign must win over /v1/numbers/{number}).
    for router in (
        health.router,
        routing_api.router,
        reputation_router,
        agents_router,
        assignments_api.agents_router,
        providers_router,
        assignments_api.numbers_router,
        numbers_router,
        events_router,
        workspace_router,
        webhooks_router,
        event_types_router,
    ):
        app.include_router(router)
    compat.install(app)
    dashboard.install(app)
    explorer.install(app)
    # Routes are matched in order. The media plane's hot path is a plain Starlette route,
    # matched first: it skips FastAPI's per-request dependency machinery, and the generated
    # OpenAPI document describes it from OPENAPI_PATHS.
    app.router.routes[:0] = routing_api.HOT_ROUTES
    numbers_api.install(app, hot_pool, [*numbers_api.QUICK_ROUTES, *assignments_api.QUICK_ROUTES])
    _document(app, routing_api.OPENAPI_PATHS, routing_api.OPENAPI_MODELS)

    return app


def _document(
    app: FastAPI, extra_paths: dict[str, Any], models: tuple[type[BaseModel], ...]
) -> None:
    """Add hand-written path items for the plain routes, and their models, to the document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"] = {**extra_paths, **schema["paths"]}
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
            declare_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
