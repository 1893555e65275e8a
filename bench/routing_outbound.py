"""Outbound caller-ID selection under load: ``POST /v1/routing/outbound`` on two servers.

PostgreSQL only. A fresh schema gets one outbound agent (strategy ``rotate``) holding 20 numbers
with per-number caps, some low enough to be reached during the run, and a second agent whose 5
numbers have caps far below what the run asks for (every cap is reached; the rest is 409). Two
``callplane serve`` processes share the database; wrk drives each with half of the connections,
one phase per agent. Afterwards the database is asked how often each number was selected,
against its caps. Run:

    .venv/bin/python bench/routing_outbound.py [--duration 10] [--connections 64]
        [--markdown-out docs/benchmarks.md]

Any cap exceeded, any status other than 200/409, or a selection count that differs from the
200s exits 1. Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2
import psycopg

from callplane.core import ids
from common import (
    STATUS_COUNTER_LUA,
    NumberRow,
    WrkResult,
    drop_schema,
    finish_wrk,
    load_numbers,
    lua_string,
    machine,
    migrate,
    numbers,
    prepare,
    replace_section,
    require_wrk,
    server,
    setup_workspace,
    source_state,
    start_wrk,
    temp_dir,
)

SCHEMA = "callplane_bench_outbound"
START, END = "<!-- bench:routing_outbound:start -->", "<!-- bench:routing_outbound:end -->"
# (max_calls_per_hour, max_calls_per_day) of the 20 numbers of the main agent.
MAIN_CAPS: list[tuple[int | None, int | None]] = [
    *[(500, None)] * 12,
    *[(500, 2_000)] * 3,
    (10, None),
    (25, None),
    (50, 40),
    (100, None),
    (None, 150),
]
EXHAUSTED_CAPS: list[tuple[int | None, int | None]] = [(20, None)] * 5
DESTINATIONS = 200
Result = dict[str, Any]

SELECT_LUA = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {key}"
wrk.headers["Content-Type"] = "application/json"
local agent = {agent}
local destinations = {{ {destinations} }}
local count = #destinations
request = function()
  local body = '{{"agent_id":"' .. agent .. '","to":"' .. destinations[math.random(count)] .. '"}}'
  return wrk.format(nil, "/v1/routing/outbound", nil, body)
end
"""


def write_lua(path: Path, key: str, agent: str, destinations: list[str]) -> Path:
    body = ", ".join(lua_string(e) for e in destinations)
    script = SELECT_LUA.format(key=key, agent=lua_string(agent), destinations=body)
    path.write_text(script + STATUS_COUNTER_LUA)
    return path


def effective_cap(hour: int | None, day: int | None) -> int | None:
    """Within one run (far shorter than an hour) a number can be selected this often at most."""
    caps = [c for c in (hour, day) if c is not None]
    return min(caps) if caps else None


def usage(
    url: str, agent_id: uuid.UUID, since: dt.datetime
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Per number of the agent: all its selections, the most in any sliding hour, and how many
    were made since ``since`` (the phase's own)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT number_id, count(*), max(in_hour), count(*) FILTER (WHERE selected_at >= %s)
            FROM (
                SELECT number_id, selected_at,
                       count(*) OVER (
                           PARTITION BY number_id ORDER BY selected_at
                           RANGE BETWEEN INTERVAL '1 hour' PRECEDING AND CURRENT ROW
                       ) AS in_hour
                FROM caller_id_selections
                WHERE agent_id = %s
            ) s
            GROUP BY number_id
            """,
            (since, agent_id),
        ).fetchall()
    return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}


def run_phase(
    name: str, bases: list[str], lua: Path, connections: int, duration: float
) -> tuple[list[WrkResult], float]:
    """wrk against every server at once, the connections split evenly between them."""
    per_server = max(1, connections // len(bases))
    start = time.perf_counter()
    procs = [
        start_wrk(base, threads=1, connections=per_server, duration=duration, script=lua)
        for base in bases
    ]
    results = [finish_wrk(proc) for proc in procs]
    took = time.perf_counter() - start
    counts = {code: sum(r.statuses.get(code, 0) for r in results) for code in (200, 409)}
    print(
        f"  {name}: {counts[200]:,} x 200, {counts[409]:,} x 409 in {took:.1f} s", file=sys.stderr
    )
    return results, took


def phase_result(
    name: str,
    results: list[WrkResult],
    duration: float,
    caps: dict[uuid.UUID, tuple[int | None, int | None]],
    names: dict[uuid.UUID, str],
    used: dict[uuid.UUID, tuple[int, int, int]],
    in_flight: int,
    failures: list[str],
) -> Result:
    statuses: dict[int, int] = {}
    for r in results:
        for code, count in r.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    ok, conflicts = statuses.get(200, 0), statuses.get(409, 0)
    others = {code: n for code, n in statuses.items() if code not in (200, 409)}
    selected = sum(phase for _, _, phase in used.values())
    violations = []
    for number_id, (hour, day) in caps.items():
        total, worst_hour, _ = used.get(number_id, (0, 0, 0))
        if (hour is not None and worst_hour > hour) or (day is not None and total > day):
            violations.append(f"{names[number_id]}: {total} for caps {hour}/{day}")
    capped = [n for n, (h, d) in caps.items() if effective_cap(h, d) is not None]
    reached = [n for n in capped if used.get(n, (0, 0, 0))[0] >= (effective_cap(*caps[n]) or 0)]
    if violations:
        failures.append(f"{name}: caps exceeded: {'; '.join(violations)}")
    if others:
        failures.append(f"{name}: unexpected statuses {others}")
    # wrk stops with requests in flight: the server may commit up to one per connection more.
    if not ok <= selected <= ok + in_flight:
        failures.append(f"{name}: {selected} selections in the database but {ok} answers 200")
    socket_errors = sum(r.socket_errors for r in results)
    return {
        "phase": name,
        "numbers": len(caps),
        "requests": sum(statuses.values()),
        "ok": ok,
        "conflicts": conflicts,
        "others": others,
        "socket_errors": socket_errors,
        "selections_per_s": ok / duration,
        "requests_per_s": sum(r.rps for r in results),
        "p50_ms": [r.p50_ms for r in results],
        "p99_ms": [r.p99_ms for r in results],
        "selected_in_db": selected,
        "caps_reached": len(reached),
        "violations": len(violations),
        "usage": {
            names[n]: {
                "hour_cap": caps[n][0],
                "day_cap": caps[n][1],
                "selected": used.get(n, (0, 0, 0))[0],
            }
            for n in caps
        },
    }


def check_conflict(client: httpx2.Client, agent: str, to: str) -> str:
    resp = client.post("/v1/routing/outbound", json={"agent_id": agent, "to": to})
    if resp.status_code != 409:
        raise RuntimeError(f"exhausted agent answered {resp.status_code}: {resp.text}")
    error = resp.json()["error"]
    return f"{error['code']} (retry_after {error['details'].get('retry_after')} s)"


def run(args: argparse.Namespace) -> tuple[list[Result], str, dict[str, Any]]:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    pool = numbers(len(MAIN_CAPS) + len(EXHAUSTED_CAPS) + DESTINATIONS, seed=11)
    main_numbers = pool[: len(MAIN_CAPS)]
    exhausted_numbers = pool[len(MAIN_CAPS) : len(MAIN_CAPS) + len(EXHAUSTED_CAPS)]
    destinations = pool[-DESTINATIONS:]
    failures: list[str] = []
    results: list[Result] = []
    extra: dict[str, Any] = {"failures": failures}
    with temp_dir() as tmp:
        url, version = prepare("postgresql", tmp, SCHEMA)
        extra["database"] = version
        try:
            migrate(url)
            outbound = {"type": "outbound", "outbound_strategy": "rotate"}
            workspace_id, (main_agent, exhausted_agent) = setup_workspace(
                url,
                secret,
                key,
                "wss://media.bench.example/stream",
                [{"name": "Campaign", **outbound}, {"name": "Small pool", **outbound}],
            )
            rows = [
                NumberRow(e, main_agent, "outbound", hour, day)
                for e, (hour, day) in zip(main_numbers, MAIN_CAPS, strict=True)
            ] + [
                NumberRow(e, exhausted_agent, "outbound", hour, day)
                for e, (hour, day) in zip(exhausted_numbers, EXHAUSTED_CAPS, strict=True)
            ]
            number_ids = load_numbers(url, workspace_id, rows)
            c, d = args.connections, args.duration
            # name, agent, its numbers and caps, servers, connections, seconds
            phases = [
                ("rotate, 20 numbers", main_agent, main_numbers, MAIN_CAPS, 1, 1, d / 2),
                ("rotate, 20 numbers", main_agent, main_numbers, MAIN_CAPS, 2, c, d),
                (
                    "rotate, 5 numbers, all capped at 20/h",
                    exhausted_agent,
                    exhausted_numbers,
                    EXHAUSTED_CAPS,
                    2,
                    c,
                    d,
                ),
            ]
            auth = {"Authorization": f"Bearer {key}"}
            with (
                server(url, secret, tmp, "server-1") as one,
                server(url, secret, tmp, "server-2") as two,
                httpx2.Client(base_url=one.base, headers=auth, timeout=30) as client,
            ):
                # One selection each way through both servers before the clock starts.
                rendered = ids.render("agent", main_agent)
                for base in (one.base, two.base):
                    resp = client.post(
                        f"{base}/v1/routing/outbound",
                        json={"agent_id": rendered, "to": destinations[0]},
                    )
                    if resp.status_code != 200:
                        raise RuntimeError(f"warm-up selection -> {resp.status_code}: {resp.text}")
                for name, agent_id, phase_numbers, caps, servers, clients, secs in phases:
                    agent = ids.render("agent", agent_id)
                    lua = write_lua(tmp / f"select-{len(results)}.lua", key, agent, destinations)
                    since = dt.datetime.now(dt.UTC)
                    bases = [one.base, two.base][:servers]
                    label = f"{name}; {clients} client{'s' * (clients > 1)}, {servers} server"
                    label += "s" * (servers > 1)
                    wrk_results, _ = run_phase(label, bases, lua, clients, secs)
                    by_id = {number_ids[e]: cap for e, cap in zip(phase_numbers, caps, strict=True)}
                    names = {number_ids[e]: e for e in phase_numbers}
                    used = usage(url, agent_id, since)
                    results.append(
                        phase_result(
                            label, wrk_results, secs, by_id, names, used, clients, failures
                        )
                    )
                extra["conflict_answer"] = check_conflict(
                    client, ids.render("agent", exhausted_agent), destinations[1]
                )
            extra["server_problems"] = one.problems + two.problems
            extra["warmup_selections"] = 2
        finally:
            drop_schema(SCHEMA)
    return results, version, extra


def ms_pair(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


def table(results: list[Result]) -> str:
    lines = [
        "| Phase | Requests | 200 (rows written) | 409 | Other | Selections/s | Requests/s "
        "| p50 per server (ms) | p99 per server (ms) | Caps reached | Cap violations |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        others = ", ".join(f"{n} x {c}" for c, n in r["others"].items()) or "0"
        lines.append(
            f"| {r['phase']} | {r['requests']:,} | {r['ok']:,} ({r['selected_in_db']:,}) "
            f"| {r['conflicts']:,} | {others} "
            f"| {r['selections_per_s']:,.0f} | {r['requests_per_s']:,.0f} "
            f"| {ms_pair(r['p50_ms'])} | {ms_pair(r['p99_ms'])} "
            f"| {r['caps_reached']} of {r['numbers']} | {r['violations']} |"
        )
    return "\n".join(lines)


def usage_table(result: Result) -> str:
    """How the selections of a phase spread over its numbers, against their caps."""
    lines = ["| Number | Cap per hour | Cap per day | Selected |", "|---|--:|--:|--:|"]
    for number, row in result["usage"].items():
        hour, day = row["hour_cap"], row["day_cap"]
        lines.append(
            f"| {number} | {hour if hour is not None else '-'} "
            f"| {day if day is not None else '-'} | {row['selected']:,} |"
        )
    return "\n".join(lines)


def write_markdown(
    path: Path,
    command: str,
    results: list[Result],
    extra: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    facts = "\n".join(
        f"- {line}"
        for line in [
            *machine(),
            f"callplane: {extra['source']}",
            f"Database: {extra['database']}",
        ]
    )
    failures: list[str] = extra["failures"]
    failed = f"**Failed checks:** {'; '.join(failures)}\n\n" if failures else ""
    problems: list[str] = extra.get("server_problems", [])
    logs = (
        f"- The servers logged {len(problems)} WARNING/ERROR lines; the first: "
        f"`{problems[0][:200]}`.\n"
        if problems
        else "- The servers logged no WARNING or ERROR line.\n"
    )
    section = (
        f"{START}\n## Outbound caller-ID selection, two servers on one PostgreSQL\n\n"
        f"Run {extra['when']} with:\n\n```sh\n{command}\n```\n\n{facts}\n\n{table(results)}\n\n"
        f"{failed}How the agent of the first two phases spread its selections over its numbers "
        f"(strategy `rotate`: least recently used first), in all:\n\n{usage_table(results[1])}\n\n"
        f"- Two `callplane serve` processes (1 worker each) on the same database; one wrk per "
        f"server, `-t1 -c{args.connections // 2} -d{args.duration:g}s`, at the same time "
        f"({args.connections} connections in all); the first phase is one connection to one "
        f"server for {args.duration / 2:g} s, the uncontended cost of one selection. Each "
        "request is `POST /v1/routing/outbound {agent_id, to}` with `to` drawn from 200 US "
        "numbers. Usage (and caps) carry over from the first phase to the second.\n"
        "- *Caps reached* counts the capped numbers whose selections reached their cap; *cap "
        "violations* counts numbers selected more often than a cap allows, from "
        "`caller_id_selections` (the most selections in any sliding hour against the hourly "
        "cap, all selections against the daily cap). The selections a phase wrote match its 200 "
        "answers (up to the requests still in flight when wrk stopped).\n"
        f"- A request once every number is capped answers 409 `{extra['conflict_answer']}`.\n"
        "- Every selection locks all of the agent's numbers (`SELECT … FOR UPDATE`, in id order) "
        "before counting their usage, so the selections of one agent run one at a time across "
        "both servers: the throughput is that of one serialized transaction (lock, count, "
        "insert, commit), whatever the number of servers or clients.\n"
        f"{logs}\n{END}"
    )
    replace_section(path, START, END, section)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=64, help="split over both servers")
    parser.add_argument("--markdown-out", type=Path, help="write/update a section in this file")
    parser.add_argument("--json-out", type=Path, help="write the raw results here")
    args = parser.parse_args()
    if args.connections < 2:
        parser.error("--connections must be at least 2")
    require_wrk()
    shown = [a for a in sys.argv[1:]]
    if "--json-out" in shown:
        i = shown.index("--json-out")
        del shown[i : i + 2]
    command = shlex.join([".venv/bin/python", "bench/routing_outbound.py", *shown])
    source, when = source_state(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print("postgresql: outbound selection on two servers…", file=sys.stderr)
    try:
        results, _, extra = run(args)
    except (RuntimeError, httpx2.HTTPError, psycopg.Error) as exc:
        print(f"ABORTED: {exc}", file=sys.stderr)
        return 2
    extra |= {"source": source, "when": when}
    print("\n".join(f"- {line}" for line in machine()) + "\n\n" + table(results))
    print("\n" + usage_table(results[1]))
    for failure in extra["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    if args.json_out:
        args.json_out.write_text(json.dumps({"results": results, "extra": extra}, indent=1))
    if args.markdown_out:
        write_markdown(args.markdown_out, command, results, extra, args)
    return 1 if extra["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
