"""Import N numbers through ``POST /v1/numbers/batch`` and list them back page by page.

Each backend gets a fresh database and a real ``callplane serve`` subprocess. Run:

    .venv/bin/python bench/import_and_list.py [--backend sqlite|postgresql|both] [--count 100000]
        [--markdown-out docs/benchmarks.md]

Keyset pagination must keep the last page as cheap as the first (ratio <= 1.5); a breach, a
refused batch or a wrong total exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import shlex
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import psycopg

ROOT = Path(__file__).resolve().parent.parent
AREA_CODES = (201, 202, 206, 212, 213, 305, 310, 312, 404, 415, 503, 512, 617, 702, 713, 808)
BATCH, PAGE, HEALTH_REQUESTS, MAX_RATIO = 1000, 500, 200, 1.5
SCHEMA = "callplane_bench"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
START, END = "<!-- bench:import_and_list:start -->", "<!-- bench:import_and_list:end -->"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
Results = dict[str, str]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def numbers(count: int, seed: int = 7) -> list[str]:
    """Distinct valid US numbers: real area codes, exchange 200-999 without 555 and N11."""
    rng, seen = random.Random(seed), set[str]()
    while len(seen) < count:
        exchange = rng.randint(200, 999)
        if exchange != 555 and exchange % 100 != 11:
            seen.add(f"+1{rng.choice(AREA_CODES)}{exchange}{rng.randint(0, 9999):04d}")
    result = sorted(seen)
    rng.shuffle(result)
    return result


def prepare(backend: str, tmp: Path, schema: str = SCHEMA) -> tuple[str, str]:
    """A fresh database; returns its URL and the server version for the report."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", f"SQLite {sqlite3.sqlite_version}"
    base = os.environ.get("CALLPLANE_BENCH_POSTGRES_URL", DEFAULT_PG)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", f"PostgreSQL {version}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    """Until ``/healthz`` answers; a server that exits or stays silent for 60 s is an error."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not healthy in 60 s:\n{log_path.read_text()}")
        time.sleep(0.2)


@dataclass
class Process:
    """A running ``callplane serve``: where it answers, its pid, what it logged that is wrong."""

    base: str
    pid: int
    problems: list[str] = field(default_factory=list)


@contextmanager
def serve(env: dict[str, str], args: list[str], log_path: Path) -> Iterator[Process]:
    """``callplane serve ARGS`` on a free port; always stopped (SIGTERM, then SIGKILL)."""
    port = free_port()
    cmd = [sys.executable, "-m", "callplane", "serve", *args, "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Process(f"http://127.0.0.1:{port}", proc.pid)
    try:
        wait_until_healthy(proc, running.base, log_path)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lines = log_path.read_text().splitlines()
        if bad := [ln for ln in lines if "ERROR" in ln or "WARNING" in ln or "Traceback" in ln]:
            print(
                f"{log_path.name}: {len(bad)} WARNING/ERROR lines, first: {bad[0]}", file=sys.stderr
            )
            running.problems.extend(bad)


@contextmanager
def server(url: str, key: str, tmp: Path) -> Iterator[str]:
    """A server that migrates and bootstraps its workspace with ``key``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CALLPLANE_LOG_LEVEL": "WARNING",
        "CALLPLANE_BOOTSTRAP_API_KEY": key,
    }
    with serve(env, [], tmp / "server.log") as running:
        yield running.base


def call(
    client: httpx2.Client, method: str, path: str, expect: int, **kw: Any
) -> tuple[float, Any]:
    """One timed request; any other status aborts the bench with the error body."""
    start = time.perf_counter()
    resp = client.request(method, path, **kw)
    took = time.perf_counter() - start
    if resp.status_code != expect:
        raise RuntimeError(f"{method} {path} -> {resp.status_code}: {resp.text[:2000]}")
    return took, resp.json()


def health(client: httpx2.Client) -> float:
    times = [call(client, "GET", "/healthz", 200)[0] for _ in range(20 + HEALTH_REQUESTS)]
    return statistics.median(times[20:])


def import_all(client: httpx2.Client, todo: list[str]) -> tuple[float, list[float], int]:
    """Seconds in total, seconds per batch, and how many came back ``valid``."""
    times, valid, start = [], 0, time.perf_counter()
    for i in range(0, len(todo), BATCH):
        body = {"numbers": [{"e164": e} for e in todo[i : i + BATCH]]}
        took, payload = call(client, "POST", "/v1/numbers/batch", 201, json=body)
        times.append(took)
        valid += sum(n["valid"] for n in payload["data"])
    return time.perf_counter() - start, times, valid


def list_all(client: httpx2.Client) -> tuple[float, list[float], set[str]]:
    """Seconds in total, seconds per page, and the distinct ids listed."""
    times, seen, cursor, start = [], set[str](), None, time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        took, payload = call(client, "GET", "/v1/numbers", 200, params=params)
        times.append(took)
        seen.update(n["id"] for n in payload["data"])
        if not payload["pagination"]["has_more"]:
            return time.perf_counter() - start, times, seen
        cursor = payload["pagination"]["next_cursor"]


def p95(times: list[float]) -> float:
    return sorted(times)[int(0.95 * (len(times) - 1))]


def ends(times: list[float]) -> tuple[float, float]:
    return statistics.median(times[:5]), statistics.median(times[-5:])


def run(backend: str, count: int, failures: list[str]) -> Results:
    key, todo = "sk_live_" + secrets.token_hex(16), numbers(count)
    auth = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory(prefix="callplane-bench-") as tmp:
        url, version = prepare(backend, Path(tmp))
        with (
            server(url, key, Path(tmp)) as base,
            httpx2.Client(base_url=base, headers=auth, timeout=300) as client,
        ):
            health_before = health(client)
            import_s, batch_times, valid = import_all(client, todo)
            list_s, page_times, seen = list_all(client)
            health_after = health(client)
    hz = statistics.median([health_before, health_after])
    first5, last5 = ends(page_times)
    b_first5, b_last5 = ends(batch_times)
    ratio, ratio5 = page_times[-1] / page_times[0], last5 / first5
    if len(seen) != count:
        failures.append(f"{backend}: listed {len(seen)} distinct numbers, expected {count}")
    if valid != count:
        failures.append(f"{backend}: {count - valid} imported numbers came back valid=false")
    for name, value in (("last/first page", ratio), ("last-5/first-5 median", ratio5)):
        if value > MAX_RATIO:
            failures.append(f"{backend}: {name} ratio {value:.2f} > {MAX_RATIO}")
    page_med = statistics.median(page_times)
    return {
        "Database": version,
        "Import: total (s)": f"{import_s:.1f}",
        "Import: numbers/s": f"{count / import_s:,.0f}",
        "Import: batch of 1,000, median (ms)": ms(statistics.median(batch_times)),
        "Import: batch median, first 5 / last 5 (ms)": f"{ms(b_first5)} / {ms(b_last5)}",
        "Import: batch p95 / max (ms)": f"{ms(p95(batch_times))} / {ms(max(batch_times))}",
        "List: pages of 500 / numbers listed": f"{len(page_times)} / {len(seen):,}",
        "List: total (s)": f"{list_s:.1f}",
        "List: first page / last page (ms)": f"{ms(page_times[0])} / {ms(page_times[-1])}",
        "List: ratio last / first page": f"{ratio:.2f}",
        "List: median first 5 / last 5 pages (ms)": f"{ms(first5)} / {ms(last5)}",
        "List: ratio median last 5 / first 5": f"{ratio5:.2f}",
        "List: page median (ms)": ms(page_med),
        "GET /healthz median of 200, before / after (ms)": f"{ms(health_before)} / "
        f"{ms(health_after)}",
        "Page median / healthz median": f"{page_med / hz:.0f}x",
        "Batch median / healthz median": f"{statistics.median(batch_times) / hz:.0f}x",
        f"Pagination ratios <= {MAX_RATIO}": "yes" if max(ratio, ratio5) <= MAX_RATIO else "NO",
    }


def machine() -> list[str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
        platform.processor() or "unknown",
    )
    return [
        f"CPUs (nproc): {len(os.sched_getaffinity(0))}",
        f"CPU model: {model}",
        f"Memory: {mem_kb / 1024 / 1024:.1f} GiB",
        f"Python: {platform.python_version()}",
        f"OS: {platform.platform()}",
    ]


def table(results: dict[str, Results]) -> str:
    names = list(results)
    lines = ["| Metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for metric in results[names[0]]:
        lines.append(f"| {metric} | " + " | ".join(results[n][metric] for n in names) + " |")
    return "\n".join(lines)


def write_markdown(path: Path, count: int, command: str, body: str, failures: list[str]) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    facts = "\n".join(f"- {line}" for line in machine())
    failed = f"**Failed checks:** {'; '.join(failures)}\n\n" if failures else ""
    section = (
        f"{START}\n## Import {count:,} numbers and list them page by page\n\n"
        f"Run {when} with:\n\n```sh\n{command}\n```\n\n{facts}\n\n{body}\n\n{failed}{END}"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--markdown-out", type=Path, help="write/update a section in this file")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = shlex.join([".venv/bin/python", "bench/import_and_list.py", *sys.argv[1:]])
    failures: list[str] = []
    results: dict[str, Results] = {}
    for backend in backends:
        print(f"{backend}: importing {args.count:,} numbers and listing them…", file=sys.stderr)
        try:
            results[LABELS[backend]] = run(backend, args.count, failures)
        except (RuntimeError, httpx2.HTTPError, psycopg.Error) as exc:
            print(f"ABORTED on {backend}: {exc}", file=sys.stderr)
            return 2
    body = table(results)
    print("\n".join(f"- {line}" for line in machine()) + "\n\n" + body)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if args.markdown_out:
        write_markdown(args.markdown_out, args.count, command, body, failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
