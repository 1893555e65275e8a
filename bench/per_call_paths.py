"""The per-call paths against ``/healthz`` on the same server: resolution and caller-ID selection.

Every figure is a ratio measured in one run (this machine is shared and noisy), wrk rounds
alternating between the bare endpoint and the measured one. Sections:

- **resolution**: ``GET /v1/routing/inbound`` for one hot number, and for numbers drawn at
  random from everything loaded, at each size; the same with 5 writes/s going on in the
  workspace; with ``--workers 2``; and a minimal Starlette route returning the same JSON from a
  dict (the ceiling of this stack).
- **selection**: ``POST /v1/routing/outbound`` for one agent with 10 numbers and no caps, each
  strategy at concurrency 1, 8 and 32; and with 50,000 selections already in the last day.
  Beside the ratios, the CPU time one call costs the server and (PostgreSQL on this machine)
  the database's backends, from ``/proc/<pid>/stat`` over the same wrk runs: unlike the
  ratios, it does not move with what else the machine runs.
- **twilio**: ``POST /v1/telephony/twilio/{workspace}/voice`` signed as Twilio signs it, each
  request a new call leg (``CallSid``: the replay check writes one row per call), for numbers
  drawn at random from 1,000.
- **consistency**: server A flips a number between two agents N times; server B resolves it
  right after every 2xx. Any answer naming the previous agent is stale.

Run:

    .venv/bin/python bench/per_call_paths.py [--backend sqlite|postgresql|both]
        [--sizes 1000,1000000] [--duration 5] [--rounds 2] [--flips 1000] [--clients 1,8,32]
        [--markdown-out docs/benchmarks.md]

Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import psycopg
from sqlalchemy import insert, select

from callplane.assignments.models import Assignment
from callplane.core.db import create_db_engine
from callplane.core.ids import new_uuid
from callplane.routing.models import CallerIdSelection
from common import (
    LABELS,
    NumberRow,
    WrkResult,
    drop_schema,
    free_port,
    load_numbers,
    lua_string,
    machine,
    migrate,
    numbers,
    prepare,
    replace_section,
    require_wrk,
    run_wrk,
    source_state,
    temp_dir,
)
from import_and_list import ROOT, serve, wait_until_healthy

SCHEMA = "callplane_bench_per_call"
STREAM_URL = "wss://media.bench.example/stream"
RANDOM_PROBE = 10_000
START, END = "<!-- bench:per_call_paths:start -->", "<!-- bench:per_call_paths:end -->"
Row = dict[str, Any]

RESOLVE_LUA = """
wrk.headers["Authorization"] = "Bearer {key}"
local numbers = {{ {numbers} }}
local count = #numbers
function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end
function init(args)
  math.randomseed(seed or os.time())
end
request = function()
  return wrk.format("GET", "{path}?to=%2B" .. numbers[math.random(count)])
end
"""
SELECT_LUA = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
local destinations = {{ {destinations} }}
local count = #destinations
request = function()
  local body = '{{"agent_id":"{agent}","to":"+' .. destinations[math.random(count)] .. '"}}'
  return wrk.format(nil, "/v1/routing/outbound", nil, body)
end
"""
# Each wrk thread walks its own half of the pre-signed requests, so no CallSid repeats within
# the (shortened) replay window.
TWILIO_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local calls = {{ {calls} }}
local half = math.floor(#calls / 2)
local threads = 0
function setup(thread)
  thread:set("first", threads * half)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local call = calls[first + (n % half) + 1]
  wrk.headers["X-Twilio-Signature"] = call[2]
  return wrk.format(nil, "{path}", nil, call[1])
end
"""
TWILIO_CALLS = 8_000
TWILIO_BASE_URL = "https://voice.bench.example"
CEILING_APP = '''
"""The ceiling of this stack: a Starlette route returning a resolution's JSON from a dict."""
import json

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = json.dumps({body})


async def resolve(request):
    return Response(BODY, media_type="application/json")


async def healthz(request):
    return Response('{{"status":"ok"}}', media_type="application/json")


app = Starlette(routes=[Route("/v1/routing/inbound", resolve), Route("/healthz", healthz)])
'''


def env_for(url: str, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CALLPLANE_SECRET_KEY": secret,
        "CALLPLANE_LOG_LEVEL": "WARNING",
        "CALLPLANE_RELEASE_WORKER": "false",
    }


@contextmanager
def callplane(url: str, secret: str, tmp: Path, name: str, workers: int = 1) -> Iterator[Any]:
    args = ["--no-migrate", "--workers", str(workers)]
    with serve(env_for(url, secret), args, tmp / f"{name}.log") as running:
        yield running


@contextmanager
def ceiling(tmp: Path, body: dict[str, Any]) -> Iterator[str]:
    (tmp / "ceiling_app.py").write_text(CEILING_APP.format(body=repr(body)))
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(tmp), "ceiling_app:app"]
    cmd += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    log_path = tmp / "ceiling.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, base, log_path)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def workspace(url: str, secret: str, key: str, agents: list[dict[str, Any]]) -> list[uuid.UUID]:
    from common import setup_workspace

    workspace_id, agent_ids = setup_workspace(url, secret, key, STREAM_URL, agents)
    return [workspace_id, *agent_ids]


class CpuMeter:
    """CPU seconds spent by the server and by the database backends serving it, per wrk run.

    The backends are the bench database's client connections found after the warm-up (the
    server's pools are open by then); on SQLite, or a PostgreSQL whose processes this user
    cannot read, the database's share stays 0.
    """

    def __init__(self, server_pid: int, url: str | None) -> None:
        self.server = [server_pid]
        self.url = url
        self.backends: list[int] = []
        self.per_call: dict[str, tuple[float, float]] = {}  # name: server, database (µs)

    def find_backends(self) -> None:
        if self.url is None:
            return
        with psycopg.connect(self.url) as conn:
            found = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchall()
        self.backends = [int(pid) for (pid,) in found]

    def now(self) -> tuple[float, float]:
        return cpu_seconds(self.server), cpu_seconds(self.backends)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of ``pids`` so far (processes that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    pairs: list[tuple[str, str, Path | None]],
    args: argparse.Namespace,
    connections: int,
    cpu: CpuMeter | None = None,
) -> dict[str, WrkResult]:
    """Median of ``args.rounds`` wrk runs for each (name, url, script), interleaved; with
    ``cpu``, the CPU per request of that median run too (``cpu.per_call``)."""
    runs: dict[str, list[tuple[WrkResult, float, float]]] = {name: [] for name, _, _ in pairs}
    common = {"threads": min(2, connections), "connections": connections}
    for _, url, script in pairs:
        run_wrk(url, duration=1, script=script, **common)  # warm-up
    if cpu is not None:
        cpu.find_backends()
    for _ in range(args.rounds):
        for name, url, script in pairs:
            before = cpu.now() if cpu is not None else (0.0, 0.0)
            done = run_wrk(url, duration=args.duration, script=script, **common)
            after = cpu.now() if cpu is not None else (0.0, 0.0)
            calls = max(done.requests, 1)
            server, database = (1e6 * (a - b) / calls for a, b in zip(after, before, strict=True))
            runs[name].append((done, server, database))
    result = {}
    for name, measured in runs.items():
        ordered = sorted(measured, key=lambda r: r[0].rps)
        middle, server, database = ordered[len(ordered) // 2]
        result[name] = middle
        if cpu is not None:
            cpu.per_call[name] = (server, database)
        found = [r for r, _, _ in measured]
        bad = sum(r.non_2xx + r.socket_errors for r in found)
        if bad:
            raise RuntimeError(f"{name}: {bad} non-2xx responses or socket errors")
    return result


class Writer(threading.Thread):
    """About ``per_second`` changes a second in the workspace (renames of random numbers)."""

    def __init__(self, base: str, key: str, targets: list[str], per_second: float) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.targets, self.pause = base, key, targets, 1 / per_second
        self.stop = threading.Event()
        self.writes = 0

    def run(self) -> None:
        auth = {"Authorization": f"Bearer {self.key}"}
        with httpx2.Client(base_url=self.base, headers=auth, timeout=30) as client:
            while not self.stop.wait(self.pause):
                e164 = random.choice(self.targets)
                body = {"friendly_name": f"renamed {self.writes}"}
                client.patch(f"/v1/numbers/{e164}", json=body).raise_for_status()
                self.writes += 1


def resolution(backend: str, size: int, pool: list[str], args: argparse.Namespace) -> Row:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    loaded = pool[:size]
    rng = random.Random(size)
    probe = rng.sample(loaded, min(RANDOM_PROBE, size))
    with temp_dir() as tmp:
        url, version = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            workspace_id, agent_id = workspace(
                url, secret, key, [{"name": "Front desk", "type": "inbound"}]
            )
            started = time.perf_counter()
            load_numbers(url, workspace_id, [NumberRow(e, agent_id) for e in loaded])
            print(f"  loaded {size:,} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            hot = tmp / "hot.lua"
            hot.write_text(resolve_lua(key, probe[:1], "/v1/routing/inbound"))
            spread = tmp / "random.lua"
            spread.write_text(resolve_lua(key, probe, "/v1/routing/inbound"))
            row: Row = {"backend": backend, "database": version, "size": size}
            with callplane(url, secret, tmp, "one") as srv, PeakMemory(srv.pid) as memory:
                body = httpx2.get(
                    f"{srv.base}/v1/routing/inbound",
                    params={"to": probe[0]},
                    headers={"Authorization": f"Bearer {key}"},
                ).json()
                pairs = [
                    ("bare", f"{srv.base}/healthz", None),
                    ("hot", srv.base, hot),
                    ("random", srv.base, spread),
                ]
                found = measure(pairs, args, args.connections)
                writer = Writer(srv.base, key, probe, 5.0)
                writer.start()
                try:
                    with_writes = measure(pairs[::2], args, args.connections)
                finally:
                    writer.stop.set()
                    writer.join()
            row["rss_mb"], row["anon_mb"], row["file_mb"] = memory.peak.values()
            row |= {name: r.rps for name, r in found.items()}
            row |= {f"{name}_p99": r.p99_ms for name, r in found.items()}
            row["bare_w"], row["random_w"] = with_writes["bare"].rps, with_writes["random"].rps
            row["random_w_p99"] = with_writes["random"].p99_ms
            row["writes"] = writer.writes
            if size == args.sizes[-1]:
                with callplane(url, secret, tmp, "two", workers=2) as srv:
                    two = measure(
                        [("bare", f"{srv.base}/healthz", None), ("random", srv.base, spread)],
                        args,
                        args.connections,
                    )
                row["bare_2w"], row["random_2w"] = two["bare"].rps, two["random"].rps
                with ceiling(tmp, body["data"]) as base:
                    top = measure(
                        [("bare", f"{base}/healthz", None), ("random", base, spread)],
                        args,
                        args.connections,
                    )
                row["ceiling_bare"], row["ceiling"] = top["bare"].rps, top["random"].rps
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    return row


def resolve_lua(key: str, probe: list[str], path: str) -> str:
    body = ", ".join(lua_string(e[1:]) for e in probe)
    return RESOLVE_LUA.format(key=key, numbers=body, path=path)


def twilio(backend: str, pool: list[str], args: argparse.Namespace) -> Row:
    """Twilio's voice webhook against ``/healthz``: signature check, replay record, TwiML."""
    from twilio.request_validator import RequestValidator

    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    loaded = pool[:1000]
    rng = random.Random(7)
    with temp_dir() as tmp:
        url, _ = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            workspace_id, agent_id = workspace(
                url, secret, key, [{"name": "Front desk", "type": "inbound"}]
            )
            load_numbers(url, workspace_id, [NumberRow(e, agent_id) for e in loaded])
            path = f"/v1/telephony/twilio/{workspace_id}/voice"
            signer = RequestValidator(auth_token)
            calls = []
            for _ in range(TWILIO_CALLS):
                params = {
                    "AccountSid": "AC" + "0" * 32,
                    "CallSid": "CA" + secrets.token_hex(16),
                    "From": "+442071838750",
                    "To": rng.choice(loaded),
                }
                body = urlencode(params)
                signature = signer.compute_signature(TWILIO_BASE_URL + path, params)
                calls.append(f"{{{lua_string(body)}, {lua_string(signature)}}}")
            script = tmp / "twilio.lua"
            script.write_text(TWILIO_LUA.format(calls=", ".join(calls), path=path))
            env = env_for(url, secret) | {
                "CALLPLANE_PUBLIC_BASE_URL": TWILIO_BASE_URL,
                # A CallSid comes round again after TWILIO_CALLS / 2 requests: > 0.36 s here.
                "CALLPLANE_TWILIO_REPLAY_WINDOW_HOURS": "0.0001",
            }
            with serve(env, ["--no-migrate"], tmp / "twilio.log") as srv:
                answer = httpx2.patch(
                    f"{srv.base}/v1/workspace",
                    json={"twilio_auth_token": auth_token},
                    headers={"Authorization": f"Bearer {key}"},
                )
                answer.raise_for_status()
                found = measure(
                    [("bare", f"{srv.base}/healthz", None), ("twilio", srv.base, script)],
                    args,
                    args.connections,
                )
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    return {
        "backend": backend,
        "bare": found["bare"].rps,
        "rps": found["twilio"].rps,
        "p50": found["twilio"].p50_ms,
        "p99": found["twilio"].p99_ms,
    }


class PeakMemory(threading.Thread):
    """The server's peak resident memory, and the peak of each part, sampled every 0.25 s.

    ``VmHWM`` is the kernel's own peak of the total. The parts: ``RssAnon`` (the process's own
    memory: objects, caches) and ``RssFile`` (file pages mapped in, e.g. SQLite's memory map of
    the database: clean pages the kernel can drop, but counted in the RSS all the same).
    """

    FIELDS = ("VmHWM", "RssAnon", "RssFile")

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak = dict.fromkeys(self.FIELDS, 0.0)

    def run(self) -> None:
        while not self.stop.wait(0.25):
            self.sample()

    def sample(self) -> None:
        try:
            lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        except OSError:
            return
        for line in lines:
            name, _, value = line.partition(":")
            if name in self.peak:
                self.peak[name] = max(self.peak[name], int(value.split()[0]) / 1024)

    def __enter__(self) -> PeakMemory:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sample()
        self.stop.set()
        self.join()


def selection(backend: str, pool: list[str], args: argparse.Namespace) -> list[Row]:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    lines = pool[:40]
    destinations = ", ".join(lua_string(e[1:]) for e in pool[-200:])
    rows = []
    with temp_dir() as tmp:
        url, version = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            strategies = ("rotate", "primary", "local_presence")
            created = workspace(
                url,
                secret,
                key,
                [
                    {"name": s, "type": "outbound", "outbound_strategy": s}
                    for s in (*strategies, "rotate")
                ],
            )
            workspace_id, agents = created[0], created[1:]
            for index, agent in enumerate(agents):
                mine = lines[10 * index : 10 * index + 10]
                load_numbers(url, workspace_id, [NumberRow(e, agent, "outbound") for e in mine])
            heavy = agents[-1]
            backlog(url, workspace_id, heavy, 50_000)
            scripts = {}
            for name, agent in zip(
                (*strategies, "rotate, 50,000 in the last day"), agents, strict=True
            ):
                path = tmp / f"{len(scripts)}.lua"
                rendered = f"agt_{agent}"
                path.write_text(
                    SELECT_LUA.format(key=key, agent=rendered, destinations=destinations)
                )
                scripts[name] = path
            with callplane(url, secret, tmp, "one") as srv:
                for connections in args.clients:
                    pairs = [("bare", f"{srv.base}/healthz", None)]
                    pairs += [(name, srv.base, path) for name, path in scripts.items()]
                    cpu = CpuMeter(srv.pid, url if backend == "postgresql" else None)
                    found = measure(pairs, args, connections, cpu)
                    for name in scripts:
                        rows.append(
                            {
                                "backend": backend,
                                "database": version,
                                "strategy": name,
                                "connections": connections,
                                "bare": found["bare"].rps,
                                "rps": found[name].rps,
                                "p50": found[name].p50_ms,
                                "p99": found[name].p99_ms,
                                "bare_cpu": cpu.per_call["bare"][0],
                                "cpu": cpu.per_call[name],
                            }
                        )
                        print(f"  {name} c{connections}: {found[name].rps:,.0f}", file=sys.stderr)
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    return rows


def backlog(url: str, workspace_id: uuid.UUID, agent_id: uuid.UUID, count: int) -> None:
    """``count`` selections spread over the last day, and the usage counters that match them."""
    engine = create_db_engine(url, pool_size=1)
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            numbers_of = list(
                conn.scalars(select(Assignment.number_id).where(Assignment.agent_id == agent_id))
            )
            log = []
            for i in range(count):
                at = now - dt.timedelta(seconds=86_000 * (i + 1) / count)
                log.append(
                    {
                        "id": new_uuid(),
                        "workspace_id": workspace_id,
                        "number_id": numbers_of[i % len(numbers_of)],
                        "agent_id": agent_id,
                        "to_e164": "+14155550100",
                        "selected_at": at,
                    }
                )
            conn.execute(insert(CallerIdSelection), log)
        with psycopg_or_sqlite(url) as run:
            run(
                "UPDATE phone_numbers SET calls_day = (SELECT count(*) FROM caller_id_selections c "
                "WHERE c.number_id = phone_numbers.id), calls_hour = (SELECT count(*) FROM "
                "caller_id_selections c WHERE c.number_id = phone_numbers.id AND c.selected_at > "
                "hour_ago_marker), last_selected_at = (SELECT max(selected_at) FROM "
                "caller_id_selections c WHERE c.number_id = phone_numbers.id), hour_edge = "
                "hour_ago_marker, day_edge = day_ago_marker WHERE id IN (SELECT number_id FROM "
                "caller_id_selections)"
            )
    finally:
        engine.dispose()


@contextmanager
def psycopg_or_sqlite(url: str) -> Iterator[Any]:
    """Run one statement with the window edges written as each database writes them."""
    if url.startswith("postgres"):
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:

            def run_pg(sql: str) -> None:
                conn.execute(
                    sql.replace("hour_ago_marker", "now() - interval '1 hour'").replace(
                        "day_ago_marker", "now() - interval '1 day'"
                    )
                )

            yield run_pg
    else:
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[1])
        fmt = "strftime('%Y-%m-%d %H:%M:%f000', 'now', '{}')"

        def run_sqlite(sql: str) -> None:
            conn.execute(
                sql.replace("hour_ago_marker", fmt.format("-1 hour")).replace(
                    "day_ago_marker", fmt.format("-1 day")
                )
            )
            conn.commit()

        try:
            yield run_sqlite
        finally:
            conn.close()


def consistency(backend: str, args: argparse.Namespace) -> Row:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    line = "+16286666348"
    with temp_dir() as tmp:
        url, version = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            created = workspace(
                url,
                secret,
                key,
                [{"name": "First", "type": "inbound"}, {"name": "Second", "type": "inbound"}],
            )
            agents = [f"agt_{a}" for a in created[1:]]
            load_numbers(url, created[0], [NumberRow(line, None)])
            stale = 0
            auth = {"Authorization": f"Bearer {key}"}
            with (
                callplane(url, secret, tmp, "a") as a,
                callplane(url, secret, tmp, "b", workers=2) as b,
                httpx2.Client(headers=auth, timeout=30) as client,
            ):
                for flip in range(args.flips):
                    agent = agents[flip % 2]
                    client.post(
                        f"{a.base}/v1/numbers/assign",
                        json={
                            "number_id": line,
                            "agent_id": agent,
                            "assignment_type": "inbound",
                            "replace": True,
                        },
                    ).raise_for_status()
                    answer = client.get(f"{b.base}/v1/routing/inbound", params={"to": line})
                    answer.raise_for_status()
                    if (answer.json()["data"]["agent"] or {}).get("id") != agent:
                        stale += 1
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    return {"backend": backend, "database": version, "flips": args.flips, "stale": stale}


def resolution_table(rows: list[Row]) -> str:
    lines = [
        "| Backend | Numbers | `/healthz` rps | hot rps (ratio) | random rps (ratio) "
        "| random p99 (ms) | with 5 writes/s: random / bare | peak RSS (MB): anon / file |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {LABELS[r['backend']]} | {r['size']:,} | {r['bare']:,.0f} "
            f"| {r['hot']:,.0f} ({r['hot'] / r['bare']:.2f}) "
            f"| {r['random']:,.0f} ({r['random'] / r['bare']:.2f}) | {r['random_p99']:.1f} "
            f"| {r['random_w']:,.0f} / {r['bare_w']:,.0f} = {r['random_w'] / r['bare_w']:.2f} "
            f"({r['writes']} writes) "
            f"| {r['rss_mb']:.0f}: {r['anon_mb']:.0f} / {r['file_mb']:.0f} |"
        )
    extra = [
        "",
        "| Backend | Numbers | `--workers 2`: random / bare | Starlette ceiling: same JSON "
        "from a dict / its bare route |",
        "|---|--:|--:|--:|",
    ]
    for r in rows:
        if "random_2w" in r:
            extra.append(
                f"| {LABELS[r['backend']]} | {r['size']:,} "
                f"| {r['random_2w']:,.0f} / {r['bare_2w']:,.0f} = "
                f"{r['random_2w'] / r['bare_2w']:.2f} "
                f"| {r['ceiling']:,.0f} / {r['ceiling_bare']:,.0f} = "
                f"{r['ceiling'] / r['ceiling_bare']:.2f} |"
            )
    return "\n".join(lines + extra)


def selection_table(rows: list[Row]) -> str:
    lines = [
        "| Backend | Agent | Clients | `/healthz` rps | selections/s | ratio | p50 / p99 (ms) "
        "| CPU µs per call: server / database (`/healthz`: server) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        server, database = r["cpu"]
        lines.append(
            f"| {LABELS[r['backend']]} | {r['strategy']} | {r['connections']} "
            f"| {r['bare']:,.0f} | {r['rps']:,.0f} | {r['rps'] / r['bare']:.3f} "
            f"| {r['p50']:.1f} / {r['p99']:.1f} "
            f"| {server:,.0f} / {database:,.0f} ({r['bare_cpu']:,.0f}) |"
        )
    return "\n".join(lines)


def twilio_table(rows: list[Row]) -> str:
    lines = [
        "| Backend | `/healthz` rps | voice webhooks/s | ratio | p50 / p99 (ms) |",
        "|---|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {LABELS[r['backend']]} | {r['bare']:,.0f} | {r['rps']:,.0f} "
            f"| {r['rps'] / r['bare']:.2f} | {r['p50']:.1f} / {r['p99']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--flips", type=int, default=1000)
    parser.add_argument(
        "--clients", default="1,8,32", help="selection: the concurrencies measured, e.g. 32"
    )
    parser.add_argument("--only", choices=("resolution", "selection", "twilio", "consistency"))
    parser.add_argument("--markdown-out", type=Path, help="write/update a section in this file")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    args.sizes = sorted(int(s) for s in args.sizes.replace("_", "").split(",") if s.strip())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = shlex.join([".venv/bin/python", "bench/per_call_paths.py", *sys.argv[1:]])
    require_wrk()
    source, when = source_state(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    pool = numbers(args.sizes[-1] + 400)
    resolved: list[Row] = []
    selected: list[Row] = []
    consistent: list[Row] = []
    webhooks: list[Row] = []
    for backend in backends:
        if args.only in (None, "resolution"):
            for size in args.sizes:
                print(f"{backend}: resolution at {size:,}…", file=sys.stderr)
                resolved.append(resolution(backend, size, pool, args))
        if args.only in (None, "selection"):
            print(f"{backend}: selection…", file=sys.stderr)
            selected += selection(backend, pool, args)
        if args.only in (None, "twilio"):
            print(f"{backend}: twilio voice webhook…", file=sys.stderr)
            webhooks.append(twilio(backend, pool, args))
        if args.only in (None, "consistency"):
            print(f"{backend}: consistency…", file=sys.stderr)
            consistent.append(consistency(backend, args))
    parts = ["\n".join(f"- {line}" for line in [*machine(), f"callplane: {source}"])]
    if resolved:
        parts.append("### Inbound resolution\n\n" + resolution_table(resolved))
    if selected:
        parts.append("### Caller-ID selection (one agent, 10 numbers, no caps)\n\n")
        parts[-1] += selection_table(selected)
    if webhooks:
        parts.append(
            "### Twilio voice webhook (signed, a new call leg each, 1,000 numbers)\n\n"
            + twilio_table(webhooks)
        )
    if consistent:
        parts.append(
            "### Read-your-writes across servers\n\n"
            + "\n".join(
                f"- {LABELS[c['backend']]}: {c['stale']} stale answers in {c['flips']:,} flips "
                "(server A: 1 worker, server B: `--workers 2`)"
                for c in consistent
            )
        )
    report = "\n\n".join(parts)
    print(report)
    if args.markdown_out:
        section = (
            f"{START}\n## Per-call paths: resolution, selection, consistency\n\n"
            f"Run {when} with:\n\n```sh\n{command}\n```\n\n{report}\n\n{END}"
        )
        replace_section(args.markdown_out, START, END, section)
    return 1 if any(c["stale"] for c in consistent) else 0


if __name__ == "__main__":
    sys.exit(main())
