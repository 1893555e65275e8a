"""The writes of the native API against ``/healthz`` on the same server: create, assign,
unassign (detach) and delete numbers, many clients at once.

Every figure is measured in one run per database on a fresh database, wrk rounds alternating
between ``/healthz`` and each write (this machine is shared and noisy: read the ratios), the
median of ``--rounds`` rounds. Each request changes a different number, so every one of them
is a real write (no idempotent no-op):

- **create**: ``POST /v1/numbers`` with a new valid E.164;
- **assign**: ``POST /v1/numbers/assign`` of a number without an agent to an inbound agent;
- **unassign**: ``POST /v1/numbers/unassign`` (inbound) of a number that has one;
- **delete**: ``DELETE /v1/numbers/{slug}`` of a number without an agent.

Then the same writes one client at a time, for the latency of a write alone (p50). Each write
keeps every rule: the audit event, webhook outbox rows, version bumps, the ``number_counts``
triggers and the search index, in the request's transaction. A webhook endpoint subscribed to
every event is registered first, so each write also queues a delivery (the worker is off).

Run:

    .venv/bin/python bench/writes.py [--backend sqlite|postgresql|both] [--duration 4]
        [--rounds 3] [--preload 60000] [--markdown-out docs/benchmarks.md]

``--profile-seconds 8 --profile-dir DIR`` records each write under full load with py-spy
(``.venv/bin/pip install py-spy``) into ``DIR/<backend>-<write>.txt`` instead of measuring.

PostgreSQL: the schema ``callplane_bench_writes`` of ``CALLPLANE_BENCH_POSTGRES_URL``.
Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import select

from callplane.assignments.models import Assignment
from callplane.core.db import create_db_engine
from callplane.numbers.models import PhoneNumber
from common import (
    LABELS,
    NumberRow,
    WrkResult,
    drop_schema,
    load_numbers,
    lua_string,
    machine,
    median,
    migrate,
    numbers,
    prepare,
    replace_section,
    require_wrk,
    run_wrk,
    server,
    setup_workspace,
    source_state,
    temp_dir,
    vacuum,
)

SCHEMA = "callplane_bench_writes"
START, END = "<!-- bench:writes:start -->", "<!-- bench:writes:end -->"
CLIENTS = {"postgresql": 16, "sqlite": 32}
OPERATIONS = ("create", "assign", "unassign", "delete")
Row = dict[str, Any]

# Each wrk thread walks its own share of ``items`` (thread k takes k, k + threads, …), so no
# item is used twice; running out of items is an error, not a silent repeat.
WRITE_LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
local items = {{ {items} }}
local threads = {threads}
local count = 0
function setup(thread)
  thread:set("first", count)
  count = count + 1
end
local n = 0
request = function()
  local index = first + n * threads + 1
  n = n + 1
  local item = items[index]
  if item == nil then
    return wrk.format("GET", "/v1/out-of-items")
  end
  return wrk.format(nil, {path}, nil, {body})
end
local reported = false
response = function(status, headers, body)
  if status >= 300 and not reported then
    reported = true
    io.write("FIRST NON-2XX " .. status .. " " .. body .. "\\n")
  end
end
"""


# The webhook outbox is written with each change; nothing is sent meanwhile.
BACKGROUND_OFF = {"CALLPLANE_RELEASE_WORKER": "false", "CALLPLANE_WEBHOOKS_WORKER": "false"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def script(tmp: Path, name: str, key: str, operation: str, items: list[str], agent: str) -> Path:
    """The wrk script of one write over ``items`` (E.164s)."""
    if operation == "create":
        method, path, body = "POST", '"/v1/numbers"', """'{"e164":"' .. item .. '"}'"""
    elif operation == "assign":
        method, path = "POST", '"/v1/numbers/assign"'
        body = (
            """'{"number_id":"' .. item .. '","agent_id":"""
            f""""{agent}","assignment_type":"inbound"}}'"""
        )
    elif operation == "unassign":
        method, path = "POST", '"/v1/numbers/unassign"'
        body = """'{"number_id":"' .. item .. '","assignment_type":"inbound"}'"""
    else:
        method, path, body = "DELETE", '"/v1/numbers/" .. string.sub(item, 2)', "nil"
    path_file = tmp / f"{name}.lua"
    path_file.write_text(
        WRITE_LUA.format(
            method=method,
            key=key,
            items=", ".join(lua_string(i) for i in items),
            threads=2,
            path=path,
            body=body,
        )
    )
    return path_file


def targets(url: str, operation: str, fresh: Iterator[str], want: int) -> list[str]:
    """What ``operation`` will change next: new numbers, or rows in the state it needs."""
    if operation == "create":
        return [next(fresh) for _ in range(want)]
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            assigned = select(Assignment.number_id)
            query = select(PhoneNumber.e164)
            if operation == "unassign":
                query = query.where(PhoneNumber.id.in_(assigned))
            else:
                query = query.where(PhoneNumber.id.not_in(assigned))
            # Assigns from the oldest ids, deletes from the newest: a straggler of one run
            # (answered after wrk stopped) never takes a number the next run counts on.
            order = PhoneNumber.id.desc() if operation == "delete" else PhoneNumber.id
            found = list(conn.scalars(query.order_by(order).limit(want)))
    finally:
        engine.dispose()
    if len(found) < want:
        raise RuntimeError(f"{operation}: only {len(found)} numbers to change, {want} wanted")
    return found


def measure(
    server: tuple[str, int],
    tmp: Path,
    url: str,
    key: str,
    agent: str,
    clients: int,
    args: argparse.Namespace,
) -> tuple[dict[str, list[WrkResult]], dict[str, list[WrkResult]], dict[str, list[float]]]:
    """``args.rounds`` rounds of /healthz and each write at ``clients``, then at 1 client;
    and the server's CPU milliseconds per request of each (a figure the machine's other load
    moves less than a rate)."""
    base, pid = server
    cpu: dict[str, list[float]] = {name: [] for name in ("healthz", *OPERATIONS)}
    fresh = iter(args.numbers[args.preload :])
    want = int(args.max_rate * args.duration)
    many: dict[str, list[WrkResult]] = {name: [] for name in ("healthz", *OPERATIONS)}
    alone: dict[str, list[WrkResult]] = {name: [] for name in ("healthz", *OPERATIONS)}
    for runs, connections in ((many, clients), (alone, 1)):
        common = {"threads": min(2, connections), "connections": connections}
        for round_ in range(args.rounds):
            used = cpu_seconds(pid)
            found = run_wrk(f"{base}/healthz", duration=args.duration, **common)
            cpu["healthz"].append((cpu_seconds(pid) - used) * 1000 / found.requests)
            runs["healthz"].append(found)
            for operation in OPERATIONS:
                items = targets(url, operation, fresh, want)
                path = script(tmp, f"{operation}{round_}", key, operation, items, agent)
                used = cpu_seconds(pid)
                found = run_wrk(base, duration=args.duration, script=path, **common)
                cpu[operation].append((cpu_seconds(pid) - used) * 1000 / found.requests)
                if found.non_2xx or found.socket_errors:
                    raise RuntimeError(f"{operation}: {found.non_2xx} non-2xx\n{found.raw}")
                runs[operation].append(found)
                time.sleep(1)  # the stragglers of this run land before the next one's targets
                vacuum(url)  # as autovacuum would between bursts (bench/common.py)
                print(
                    f"  c{connections} round {round_ + 1} {operation}: {found.rps:,.0f}/s "
                    f"p50 {found.p50_ms:.2f} ms p99 {found.p99_ms:.1f} ms",
                    file=sys.stderr,
                )
    return many, alone, cpu


def run(backend: str, args: argparse.Namespace) -> Row:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    with temp_dir() as tmp:
        url, version = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            workspace_id, (agent_id,) = setup_workspace(
                url,
                secret,
                key,
                "wss://media.bench.example/stream",
                [{"name": "Front desk", "type": "inbound"}],
            )
            preload = args.numbers[: args.preload]
            # Half with the agent (for the unassigns), half without (assigns and deletes).
            rows = [NumberRow(e, agent_id if i % 2 else None) for i, e in enumerate(preload)]
            load_numbers(url, workspace_id, rows)
            with server(url, secret, tmp, settings=BACKGROUND_OFF) as running:
                base, pid = running.base, running.pid
                httpx2.post(
                    f"{base}/v1/webhook-endpoints",
                    json={"url": "https://hooks.bench.example/in"},
                    headers={"Authorization": f"Bearer {key}"},
                ).raise_for_status()
                if args.profile_seconds:
                    profile(base, tmp, url, key, f"agt_{agent_id}", pid, backend, args)
                    return {}
                many, alone, cpu = measure(
                    (base, pid), tmp, url, key, f"agt_{agent_id}", CLIENTS[backend], args
                )
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    row: Row = {"backend": backend, "database": version, "clients": CLIENTS[backend]}
    for name, found in many.items():
        row[name] = median(r.rps for r in found)
        row[f"{name}_p50"] = median(r.p50_ms for r in found)
        row[f"{name}_p99"] = median(r.p99_ms for r in found)
    for name, used in cpu.items():
        row[f"{name}_cpu"] = median(used)
    for name, found in alone.items():
        row[f"{name}_alone_p50"] = median(r.p50_ms for r in found)
        row[f"{name}_alone"] = median(r.rps for r in found)
    return row


def profile(
    base: str,
    tmp: Path,
    url: str,
    key: str,
    agent: str,
    pid: int,
    backend: str,
    args: argparse.Namespace,
) -> None:
    """py-spy over the server while each write runs at full load (``--profile-seconds``)."""
    fresh = iter(args.numbers[args.preload :])
    want = int(args.max_rate * args.profile_seconds)
    clients = CLIENTS[backend]
    for operation in OPERATIONS:
        items = targets(url, operation, fresh, want)
        path = script(tmp, f"profile-{operation}", key, operation, items, agent)
        out = Path(args.profile_dir) / f"{backend}-{operation}.txt"
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--nonblocking",
                "--gil",  # only the thread running Python: where the CPU goes, not the waits
                "--pid",
                str(pid),
                "--duration",
                str(int(args.profile_seconds)),
                "--format",
                "raw",
                "--rate",
                "200",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = run_wrk(
            base,
            duration=args.profile_seconds,
            script=path,
            threads=2,
            connections=clients,
        )
        spy.wait()
        print(f"  {operation}: {found.rps:,.0f}/s under py-spy -> {out}", file=sys.stderr)


def table(rows: list[Row]) -> str:
    lines = [
        "| Backend | Clients | `/healthz` rps | write | writes/s | ratio to `/healthz` "
        "| p50 / p99 (ms) | p50 at 1 client (ms) | server CPU per request (ms) |",
        "|---|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        for name in OPERATIONS:
            lines.append(
                f"| {LABELS[r['backend']]} | {r['clients']} | {r['healthz']:,.0f} | {name} "
                f"| {r[name]:,.0f} | {r[name] / r['healthz']:.3f} "
                f"| {r[f'{name}_p50']:.1f} / {r[f'{name}_p99']:.1f} "
                f"| {r[f'{name}_alone_p50']:.2f} "
                f"| {r[f'{name}_cpu']:.2f} (`/healthz` {r['healthz_cpu']:.2f}) |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-rate", type=float, default=2500, help="items per second ready")
    parser.add_argument("--preload", type=int, default=100_000, help="numbers loaded first")
    parser.add_argument("--profile-seconds", type=float, default=0, help="py-spy instead")
    parser.add_argument("--profile-dir", default=".")
    parser.add_argument("--markdown-out", type=Path, help="write/update a section in this file")
    args = parser.parse_args()
    pool = args.preload + int(args.max_rate * max(args.duration, 4) * args.rounds * 2) + 1000
    args.numbers = numbers(pool, seed=11)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = shlex.join([".venv/bin/python", "bench/writes.py", *sys.argv[1:]])
    require_wrk()
    source, when = source_state(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for backend in backends:
        print(f"{backend}: writes…", file=sys.stderr)
        found = run(backend, args)
        if found:
            rows.append(found)
    if not rows:
        return 0
    report = "\n\n".join(
        ["\n".join(f"- {line}" for line in [*machine(), f"callplane: {source}"]), table(rows)]
    )
    print(report)
    if args.markdown_out:
        section = (
            f"{START}\n## Writes: create, assign, unassign, delete\n\n"
            f"Run {when} with:\n\n```sh\n{command}\n```\n\n"
            f"Medians of {args.rounds} rounds of {args.duration:g} s; each write a different "
            "number; a webhook endpoint subscribed to every event.\n\n"
            f"{report}\n\n{END}"
        )
        replace_section(args.markdown_out, START, END, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
