"""Where the time of ``GET /v1/routing/inbound`` goes, with no sockets and no wrk.

The ASGI app is built in-process on a fresh database (SQLite file or the PostgreSQL schema
``callplane_bench_profile``) and called directly, so the figures are the application's own
cost per request. Besides ``/healthz`` and the resolution, a few throw-away routes are added
to this app instance only (``src/`` is not touched) to price each layer: a no-op FastAPI route,
the same with the two declared query parameters, with them read by hand, and a plain Starlette
route placed first and last in the route table. Then the resolution's own steps are timed
outside FastAPI. Run:

    .venv/bin/python bench/profile_routing.py [--backend sqlite|postgresql] [--requests 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from starlette.routing import Route

from callplane.app import create_app
from callplane.core.envelope import meta
from callplane.core.middleware import new_request_id
from callplane.core.phone import parse_e164
from callplane.core.secrets import hash_api_key
from callplane.routing import service
from callplane.routing.router import resolution_body
from callplane.settings import Settings
from common import (
    NumberRow,
    drop_schema,
    load_numbers,
    migrate,
    numbers,
    prepare,
    setup_workspace,
    source_state,
    temp_dir,
)

SCHEMA = "callplane_bench_profile"
SIZE, WORKING_SET = 10_000, 1_000
Scope = dict[str, Any]


def add_probe_routes(app: FastAPI) -> None:
    async def noop(request: Request) -> Response:  # noqa: ARG001 - priced, not used
        return Response(b"{}", media_type="application/json")

    async def declared(
        request: Request,  # noqa: ARG001
        to: Annotated[str, Query()],  # noqa: ARG001
        caller: Annotated[str | None, Query(alias="from")] = None,  # noqa: ARG001
    ) -> Response:
        return Response(b"{}", media_type="application/json")

    async def by_hand(request: Request) -> Response:
        request.query_params.get("to")
        request.query_params.get("from")
        return Response(b"{}", media_type="application/json")

    async def plain(request: Request) -> Response:
        request.query_params.get("to")
        return Response(b"{}", media_type="application/json")

    app.add_api_route("/probe/noop", noop)
    app.add_api_route("/probe/declared", declared)
    app.add_api_route("/probe/by-hand", by_hand)
    app.router.routes.insert(0, Route("/probe/plain-first", plain))
    app.router.routes.append(Route("/probe/plain-last", plain))


CASES = [
    ("/healthz", False, "`GET /healthz` (the bare endpoint of the wrk runs)"),
    ("/probe/noop", False, "no-op FastAPI route taking `request: Request`"),
    ("/probe/declared", True, "the same with `to` and `from` declared as `Query` parameters"),
    ("/probe/by-hand", True, "the same reading `request.query_params` by hand"),
    ("/probe/plain-first", True, "plain Starlette `Route`, first in `app.router.routes`"),
    ("/probe/plain-last", True, "the same route, last in `app.router.routes`"),
    ("/v1/routing/inbound", True, "`GET /v1/routing/inbound` (cache hit)"),
]


async def layers(app: FastAPI, key: str, probe: list[str], count: int) -> list[tuple[str, float]]:
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    def scope(path: str, query: bytes) -> Scope:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }

    async def run(path: str, with_query: bool, n: int) -> float:
        queries = [b"to=%2B" + e[1:].encode() if with_query else b"" for e in probe]
        start = time.perf_counter()
        for i in range(n):
            await app(scope(path, queries[i % len(queries)]), receive, send)  # type: ignore[arg-type]
        return (time.perf_counter() - start) / n * 1e6

    for path, with_query, _ in CASES:
        await run(path, with_query, len(probe) * 2)  # warm: every number cached
    samples: dict[str, list[float]] = {path: [] for path, _, _ in CASES}
    for _ in range(5):
        for path, with_query, _ in CASES:
            statuses.clear()
            samples[path].append(await run(path, with_query, count))
            if statuses != {200}:
                raise RuntimeError(f"{path} answered {statuses}")
    return [(label, statistics.median(samples[path])) for path, _, label in CASES]


async def steps(app: FastAPI, key: str, secret: str, probe: list[str]) -> list[tuple[str, float]]:
    runtime = app.state.routing
    actor = await runtime.actor_for(key, "req")
    route = await runtime.inbound_route(actor.workspace_id, probe[0])
    resolution = service.decide(route, None)
    body = {"data": resolution_body(resolution), "meta": meta("req").model_dump()}
    n = 50_000

    async def handler_body() -> None:
        for i in range(n):
            actor = await runtime.actor_for(key, "req")
            app.state.rate_limiter.check(str(actor.key_id))
            e164 = parse_e164(probe[i % len(probe)], "to").e164
            found = await runtime.inbound_route(actor.workspace_id, e164)
            data = {"data": resolution_body(service.decide(found, None))}
            json.dumps(data | {"meta": meta("req").model_dump()}, separators=(",", ":"))

    start = time.perf_counter()
    await handler_body()
    result = [("the whole handler body, outside FastAPI", (time.perf_counter() - start) / n * 1e6)]
    parts: list[tuple[str, Callable[[], object]]] = [
        ("`RoutingRuntime.sync()` (called twice per request)", runtime.sync),
        ("`hash_api_key` (HMAC-SHA256)", lambda: hash_api_key(key, secret)),
        ("`rate_limiter.check`", lambda: app.state.rate_limiter.check(str(actor.key_id))),
        ("`parse_e164`", lambda: parse_e164(probe[1], "to")),
        ("`routes.get` (the cache)", lambda: runtime.routes.get(actor.workspace_id, probe[0])),
        ("`service.decide`", lambda: service.decide(route, None)),
        ("`resolution_body`", lambda: resolution_body(resolution)),
        ("`meta(request_id).model_dump()`", lambda: meta("req").model_dump()),
        ("`json.dumps` of the body", lambda: json.dumps(body, separators=(",", ":"))),
        ("`new_request_id` (middleware, uuid4)", new_request_id),
    ]
    for name, fn in parts:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        result.append((name, (time.perf_counter() - start) / n * 1e6))
    return result


async def measure(
    url: str, secret: str, key: str, probe: list[str], count: int
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    app = create_app(Settings(database_url=url, secret_key=secret, log_level="WARNING"))
    add_probe_routes(app)
    async with app.router.lifespan_context(app):
        return await layers(app, key, probe, count), await steps(app, key, secret, probe)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--requests", type=int, default=10_000, help="per case and round")
    args = parser.parse_args()
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    loaded = numbers(SIZE, seed=5)
    probe = loaded[:WORKING_SET]
    with temp_dir() as tmp:
        url, version = prepare(args.backend, tmp, SCHEMA)
        try:
            migrate(url)
            workspace_id, (agent_id,) = setup_workspace(
                url,
                secret,
                key,
                "wss://media.bench.example/stream",
                [{"name": "A", "type": "inbound"}],
            )
            load_numbers(url, workspace_id, [NumberRow(e, agent_id) for e in loaded])
            by_layer, by_step = asyncio.run(measure(url, secret, key, probe, args.requests))
        finally:
            if args.backend == "postgresql":
                drop_schema(SCHEMA)
    print(f"{version}, callplane {source_state()}, {SIZE:,} numbers, {WORKING_SET:,} cached\n")
    print(f"| In-process request (median of 5 x {args.requests:,}) | µs |\n|---|--:|")
    for name, value in by_layer:
        print(f"| {name} | {value:.1f} |")
    print("\n| Step of the resolution, alone | µs |\n|---|--:|")
    for name, value in by_step:
        print(f"| {name} | {value:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
