"""Inbound resolution throughput: ``GET /v1/routing/inbound`` against ``GET /healthz``.

For each backend and each size N: a fresh database gets N numbers, all assigned inbound to one
agent, loaded straight into the tables (not through the API). One ``callplane serve`` process
(1 worker) is then measured with wrk on the bare ``/healthz`` and on the resolution of numbers
drawn from a fixed set of 1,000 loaded ones (the same set size for every N, so the cache
working set is equal), interleaved round by round. Run:

    .venv/bin/python bench/routing_inbound.py [--backend sqlite|postgresql|both]
        [--sizes 1000,10000,100000,1000000] [--duration 10] [--rounds 3]
        [--markdown-out docs/benchmarks.md] [--plot docs/routing_throughput.png]

Targets: resolution >= 0.8x bare, rps(largest)/rps(smallest) >= 0.9, server RSS <= 300 MB at
1,000,000 numbers; a missed target exits 1. Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from callplane.core.phone import parse_e164
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
)

SCHEMA = "callplane_bench_routing"
WORKING_SET = 1_000
COLD_LOOKUPS = 200
STREAM_URL = "wss://media.bench.example/stream"
MIN_RATIO, MIN_SCALING, MAX_RSS_MB = 0.8, 0.9, 300.0
START, END = "<!-- bench:routing_inbound:start -->", "<!-- bench:routing_inbound:end -->"
Result = dict[str, Any]

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
  return wrk.format("GET", "/v1/routing/inbound?to=%2B" .. numbers[math.random(count)])
end
"""


def write_lua(path: Path, key: str, probe: list[str]) -> Path:
    body = ", ".join(lua_string(e[1:]) for e in probe)
    path.write_text(RESOLVE_LUA.format(key=key, numbers=body))
    return path


def check_sample(client: httpx.Client, e164: str) -> None:
    resp = client.get("/v1/routing/inbound", params={"to": e164})
    if resp.status_code != 200:
        raise RuntimeError(f"GET /v1/routing/inbound?to={e164} -> {resp.status_code}: {resp.text}")
    data = resp.json()["data"]
    if data["action"] != "connect" or data["stream_url"] != STREAM_URL:
        raise RuntimeError(f"unexpected resolution for {e164}: {data}")
    missing = client.get("/v1/routing/inbound", params={"to": "+12025550143"})
    if missing.status_code != 404:
        raise RuntimeError(f"an unknown number answered {missing.status_code}: {missing.text}")


def cold_lookups(client: httpx.Client, todo: list[str]) -> list[float]:
    """Sequential first lookups (cache misses: one database query each), in ms."""
    times = []
    for e164 in todo:
        start = time.perf_counter()
        resp = client.get("/v1/routing/inbound", params={"to": e164})
        times.append((time.perf_counter() - start) * 1000)
        if resp.status_code != 200:
            raise RuntimeError(f"cold lookup {e164} -> {resp.status_code}: {resp.text}")
    return times


def run_size(
    backend: str, size: int, pool: list[str], args: argparse.Namespace, seed: int
) -> Result:
    secret, key = secrets.token_hex(16), "sk_live_" + secrets.token_hex(16)
    loaded = pool[:size]
    rng = random.Random(seed)
    probe = rng.sample(loaded, WORKING_SET)
    # First lookups before the warm-up: cache misses (they may overlap the working set).
    cold = rng.sample([e for e in loaded if e != probe[0]], COLD_LOOKUPS)
    if not all(parse_e164(e, "to").valid for e in probe):
        raise RuntimeError("a number of the working set is not a valid number")
    with temp_dir() as tmp:
        url, version = prepare(backend, tmp, SCHEMA)
        try:
            migrate(url)
            workspace_id, (agent_id,) = setup_workspace(
                url,
                secret,
                key,
                STREAM_URL,
                [{"name": "Front desk", "type": "inbound", "language": "en-US"}],
            )
            start = time.perf_counter()
            load_numbers(url, workspace_id, [NumberRow(e, agent_id) for e in loaded])
            load_s = time.perf_counter() - start
            print(f"  loaded {size:,} numbers in {load_s:.1f} s", file=sys.stderr)
            lua = write_lua(tmp / "resolve.lua", key, probe)
            auth = {"Authorization": f"Bearer {key}"}
            with (
                server(url, secret, tmp) as srv,
                httpx.Client(base_url=srv.base, headers=auth, timeout=30) as client,
            ):
                check_sample(client, probe[0])
                cold_ms = cold_lookups(client, cold)
                cold_lookups(client, probe)  # every number of the working set is now cached
                bare_url = f"{srv.base}/healthz"
                common = {"threads": args.threads, "connections": args.connections}
                run_wrk(bare_url, duration=args.warmup, **common)
                run_wrk(srv.base, duration=args.warmup, script=lua, **common)
                bare: list[WrkResult] = []
                resolve: list[WrkResult] = []
                for _ in range(args.rounds):
                    bare.append(run_wrk(bare_url, duration=args.duration, **common))
                    resolve.append(run_wrk(srv.base, duration=args.duration, script=lua, **common))
                    print(
                        f"  round: bare {bare[-1].rps:,.0f} rps, resolve {resolve[-1].rps:,.0f}"
                        f" rps (non-2xx {resolve[-1].non_2xx})",
                        file=sys.stderr,
                    )
                check_sample(client, probe[-1])
                memory = srv.memory_kb()
        finally:
            if backend == "postgresql":
                drop_schema(SCHEMA)
    bare_rps, resolve_rps = median(r.rps for r in bare), median(r.rps for r in resolve)
    return {
        "backend": backend,
        "database": version,
        "size": size,
        "load_s": load_s,
        "bare_rps": bare_rps,
        "resolve_rps": resolve_rps,
        "ratio": resolve_rps / bare_rps,
        "bare_p50_ms": median(r.p50_ms for r in bare),
        "bare_p99_ms": median(r.p99_ms for r in bare),
        "resolve_p50_ms": median(r.p50_ms for r in resolve),
        "resolve_p99_ms": median(r.p99_ms for r in resolve),
        "bare_rounds": [round(r.rps) for r in bare],
        "resolve_rounds": [round(r.rps) for r in resolve],
        "resolve_requests": sum(r.requests for r in resolve),
        "non_2xx": sum(r.non_2xx for r in bare + resolve),
        "socket_errors": sum(r.socket_errors for r in bare + resolve),
        "cold_median_ms": statistics.median(cold_ms),
        "cold_p95_ms": sorted(cold_ms)[int(0.95 * (len(cold_ms) - 1))],
        "rss_mb": memory["VmRSS"] / 1024,
        "peak_rss_mb": memory["VmHWM"] / 1024,
    }


def check_targets(results: list[Result]) -> tuple[dict[str, str], list[str]]:
    """Per backend, rps(largest N) / rps(smallest N); and every missed target."""
    failures, scaling = [], {}
    for r in results:
        where = f"{LABELS[r['backend']]} at {r['size']:,}"
        if r["ratio"] < MIN_RATIO:
            failures.append(f"{where}: resolution {r['ratio']:.2f}x bare < {MIN_RATIO}")
        if r["size"] >= 1_000_000 and r["peak_rss_mb"] > MAX_RSS_MB:
            failures.append(f"{where}: peak RSS {r['peak_rss_mb']:.0f} MB > {MAX_RSS_MB:.0f} MB")
        if r["non_2xx"] or r["socket_errors"]:
            failures.append(
                f"{where}: {r['non_2xx']} non-2xx responses, {r['socket_errors']} socket errors"
            )
    for backend in dict.fromkeys(r["backend"] for r in results):
        rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        if len(rows) < 2:
            continue
        small, large = rows[0], rows[-1]
        value = large["resolve_rps"] / small["resolve_rps"]
        name = f"rps({large['size']:,}) / rps({small['size']:,})"
        scaling[backend] = f"{name} = {value:.2f}"
        if value < MIN_SCALING:
            failures.append(f"{LABELS[backend]}: {name} = {value:.2f} < {MIN_SCALING}")
    return scaling, failures


def table(results: list[Result]) -> str:
    head = (
        "| Backend | Numbers | Load (s) | `/healthz` rps | Resolution rps | Resolution / bare "
        "| `/healthz` p50 / p99 (ms) | Resolution p50 / p99 (ms) | Cold lookup median / p95 (ms) "
        "| Server RSS / peak (MB) |"
    )
    lines = [head, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        lines.append(
            f"| {LABELS[r['backend']]} | {r['size']:,} | {r['load_s']:.1f} "
            f"| {r['bare_rps']:,.0f} | {r['resolve_rps']:,.0f} | {r['ratio']:.2f} "
            f"| {r['bare_p50_ms']:.2f} / {r['bare_p99_ms']:.2f} "
            f"| {r['resolve_p50_ms']:.2f} / {r['resolve_p99_ms']:.2f} "
            f"| {r['cold_median_ms']:.2f} / {r['cold_p95_ms']:.2f} "
            f"| {r['rss_mb']:.0f} / {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def plot(results: list[Result], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed, no plot: `.venv/bin/pip install matplotlib`",
            file=sys.stderr,
        )
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {"sqlite": "tab:blue", "postgresql": "tab:orange"}
    for backend in dict.fromkeys(r["backend"] for r in results):
        rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["size"])
        sizes = [r["size"] for r in rows]
        label = LABELS[backend]
        ax.plot(
            sizes,
            [r["resolve_rps"] for r in rows],
            "o-",
            color=colors[backend],
            label=f"{label}: GET /v1/routing/inbound",
        )
        ax.plot(
            sizes,
            [r["bare_rps"] for r in rows],
            "s--",
            color=colors[backend],
            alpha=0.6,
            label=f"{label}: GET /healthz (bare)",
        )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("numbers in the database (log scale)")
    ax.set_ylabel("requests per second (median of rounds)")
    ax.set_title("Inbound resolution vs bare endpoint, one server process (wrk)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def notes(args: argparse.Namespace) -> str:
    return (
        f"- Each measurement is wrk `-t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s --latency`; `/healthz` (no auth, no database) and the resolution "
        f"run alternately, {args.rounds} rounds each after a {args.warmup:g} s warm-up of "
        "both, and the table shows the medians.\n"
        f"- Resolution picks `to` at random among a fixed set of {WORKING_SET:,} loaded numbers "
        "for every N, so the cache working set is the same at every size; after the warm-up "
        "every lookup is a cache hit (each number of the set is looked up once before the "
        f"warm-up). *Cold lookup* is the latency of {COLD_LOOKUPS} sequential first lookups "
        "(cache misses, one query each) with httpx, before that.\n"
        "- The numbers and their inbound assignments are loaded straight into the tables "
        "(PostgreSQL `COPY`, SQLite Core `executemany`), then `ANALYZE`d; *Load* is that time.\n"
        "- Server RSS is read from `/proc/<pid>/status` (VmRSS, and VmHWM for the peak) after "
        "the last round."
    )


def write_markdown(
    path: Path,
    command: str,
    run: tuple[str, str],
    results: list[Result],
    scaling: dict[str, str],
    failures: list[str],
    args: argparse.Namespace,
    plot_path: Path | None,
) -> None:
    source, when = run
    facts = "\n".join(f"- {line}" for line in [*machine(), f"callplane: {source}"])
    dbs = sorted({r["database"] for r in results})
    facts += "\n" + "\n".join(f"- Database: {db}" for db in dbs)
    scale = "\n".join(f"- {LABELS[b]}: {s}" for b, s in scaling.items())
    image = ""
    if plot_path is not None:
        rel = (
            Path(*plot_path.parts[len(path.parent.parts) :])
            if plot_path.is_relative_to(path.parent)
            else plot_path
        )
        image = f"![Resolution and bare throughput vs numbers in the database]({rel})\n\n"
    failed = f"**Missed targets:** {'; '.join(failures)}\n\n" if failures else ""
    targets = (
        f"Targets: resolution ≥ {MIN_RATIO}x bare, rps at the largest size ≥ {MIN_SCALING}x "
        f"rps at the smallest, server RSS ≤ {MAX_RSS_MB:.0f} MB at 1,000,000 numbers."
    )
    section = (
        f"{START}\n## Inbound resolution throughput vs numbers in the database\n\n"
        f"Run {when} with:\n\n```sh\n{command}\n```\n\n{facts}\n\n{table(results)}\n\n"
        f"Resolution throughput at the largest size over the smallest:\n\n{scale}\n\n"
        f"{targets}\n\n{failed}{image}{notes(args)}\n\n{END}"
    )
    replace_section(path, START, END, section)


def shown_args(argv: list[str]) -> list[str]:
    """The command line as documented: without where the raw results were saved."""
    shown, skip = [], False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg == "--json-out":
            skip = True
        elif not arg.startswith("--json-out="):
            shown.append(arg)
    return shown


def settings(args: argparse.Namespace) -> dict[str, Any]:
    return {n: getattr(args, n) for n in ("threads", "connections", "duration", "rounds", "warmup")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="bare/resolution pairs per size")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per kind")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--markdown-out", type=Path, help="write/update a section in this file")
    parser.add_argument("--plot", type=Path, help="write a PNG plot here (needs matplotlib)")
    parser.add_argument("--json-out", type=Path, help="write the raw results here")
    parser.add_argument("--from-json", type=Path, help="re-render results saved by --json-out")
    args = parser.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] < WORKING_SET:
        parser.error(f"every size must be at least {WORKING_SET}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = shlex.join([".venv/bin/python", "bench/routing_inbound.py", *shown_args(sys.argv)])
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        results, command = saved["results"], saved["command"]
        source, when = saved.get("source", "unknown"), saved.get("when", "unknown")
        for name, value in saved["settings"].items():
            setattr(args, name, value)
    else:
        require_wrk()
        source, when = source_state(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results = []
        pool = numbers(sizes[-1])
        for backend in backends:
            for size in sizes:
                print(f"{backend}: {size:,} numbers…", file=sys.stderr)
                try:
                    results.append(run_size(backend, size, pool, args, seed=size))
                except (RuntimeError, httpx.HTTPError, psycopg.Error) as exc:
                    print(f"ABORTED on {backend} at {size:,}: {exc}", file=sys.stderr)
                    return 2
        if args.json_out:
            args.json_out.write_text(
                json.dumps(
                    {
                        "command": command,
                        "settings": settings(args),
                        "source": source,
                        "when": when,
                        "results": results,
                    },
                    indent=1,
                )
            )
    scaling, failures = check_targets(results)
    print("\n".join(f"- {line}" for line in machine()) + "\n\n" + table(results))
    for line in scaling.values():
        print(line)
    for failure in failures:
        print(f"MISSED: {failure}", file=sys.stderr)
    if args.plot:
        plot(results, args.plot)
    if args.markdown_out:
        write_markdown(
            args.markdown_out, command, (source, when), results, scaling, failures, args, args.plot
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
