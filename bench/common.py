"""Helpers shared by the routing benchmarks: databases, fast loading, servers, wrk.

The machine facts, the free port and the number generator are the ones of
``import_and_list.py``, so every section of ``docs/benchmarks.md`` describes its runs alike.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert

from callplane.assignments.models import Assignment
from callplane.core.db import Database, create_db_engine
from callplane.core.ids import new_uuid
from callplane.numbers.models import PhoneNumber
from callplane.workspaces.service import create_workspace
from import_and_list import DEFAULT_PG, ROOT, free_port, machine, numbers, prepare, serve

__all__ = [
    "DEFAULT_PG",
    "LABELS",
    "ROOT",
    "Server",
    "WrkResult",
    "free_port",
    "load_numbers",
    "machine",
    "median",
    "migrate",
    "numbers",
    "prepare",
    "replace_section",
    "require_wrk",
    "run_wrk",
    "server",
    "source_state",
    "start_wrk",
]

LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CHUNK = 50_000
NUMBER_COLUMNS = (
    "id",
    "workspace_id",
    "e164",
    "country_code",
    "number_type",
    "valid",
    "status",
    "source",
    "monthly_cost_cents",
    "fallback_action",
    "max_calls_per_hour",
    "max_calls_per_day",
    "verified_by",
    "verified_at",
    "created_at",
    "updated_at",
)
ASSIGNMENT_COLUMNS = (
    "number_id",
    "agent_id",
    "workspace_id",
    "direction",
    "is_primary",
    "created_at",
)


def source_state() -> str:
    """The commit under test, and whether ``src/`` had uncommitted changes at that moment."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}" if head else "unknown"


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def drop_schema(schema: str) -> None:
    base = os.environ.get("CALLPLANE_BENCH_POSTGRES_URL", DEFAULT_PG)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "CALLPLANE_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "callplane", "migrate"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"callplane migrate failed:\n{done.stdout}\n{done.stderr}")


def setup_workspace(
    url: str, secret: str, key: str, stream_url: str, agents: list[dict[str, Any]]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The workspace (through the service, so its key is hashed as the server hashes it)."""
    from callplane.agents.models import Agent

    database = Database(create_db_engine(url, pool_size=1))
    try:
        with database.transaction() as session:
            workspace, _ = create_workspace(session, "bench", secret, first_key=key)
            workspace.default_stream_url = stream_url
            agent_ids = []
            for fields in agents:
                agent = Agent(id=new_uuid(), workspace_id=workspace.id, **fields)
                session.add(agent)
                agent_ids.append(agent.id)
            session.flush()
            return workspace.id, agent_ids
    finally:
        database.engine.dispose()


@dataclass(frozen=True, slots=True)
class NumberRow:
    e164: str
    agent_id: uuid.UUID | None
    direction: str = "inbound"
    max_calls_per_hour: int | None = None
    max_calls_per_day: int | None = None


def load_numbers(url: str, workspace_id: uuid.UUID, rows: list[NumberRow]) -> dict[str, uuid.UUID]:
    """Insert numbers and their assignments straight into the database, in chunks.

    PostgreSQL gets ``COPY``; SQLite gets SQLAlchemy Core ``executemany`` (so the values are
    stored exactly as the models store them). Both are analyzed afterwards (PostgreSQL vacuumed
    too), as a long-running database with autovacuum would be. Returns the id of every E.164.
    """
    now = dt.datetime.now(dt.UTC)
    ids = {row.e164: new_uuid() for row in rows}
    numbers_rows = [
        {
            "id": ids[r.e164],
            "workspace_id": workspace_id,
            "e164": r.e164,
            "country_code": "US",
            "number_type": "local",
            "valid": True,
            "status": "active",
            "source": "imported",
            "monthly_cost_cents": 0,
            "fallback_action": "reject",
            "max_calls_per_hour": r.max_calls_per_hour,
            "max_calls_per_day": r.max_calls_per_day,
            # An operator-verified inventory: usable as caller ID (numbers.ownership).
            "verified_by": "operator",
            "verified_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
    ]
    assignment_rows = [
        {
            "number_id": ids[r.e164],
            "agent_id": r.agent_id,
            "workspace_id": workspace_id,
            "direction": r.direction,
            "is_primary": False,
            "created_at": now,
        }
        for r in rows
        if r.agent_id is not None
    ]
    if url.startswith("sqlite"):
        _load_sqlite(url, numbers_rows, assignment_rows)
    else:
        _load_postgres(url, numbers_rows, assignment_rows)
    return ids


def _load_sqlite(
    url: str, numbers_rows: list[dict[str, Any]], assignment_rows: list[dict[str, Any]]
) -> None:
    engine = create_db_engine(url, pool_size=1)
    try:
        for table, data in (
            (PhoneNumber, numbers_rows),
            (Assignment, assignment_rows),
        ):
            for i in range(0, len(data), CHUNK):
                with engine.begin() as conn:
                    conn.execute(insert(table), data[i : i + CHUNK])
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _load_postgres(
    url: str, numbers_rows: list[dict[str, Any]], assignment_rows: list[dict[str, Any]]
) -> None:
    with psycopg.connect(url) as conn:
        for table, columns, data in (
            ("phone_numbers", NUMBER_COLUMNS, numbers_rows),
            ("assignments", ASSIGNMENT_COLUMNS, assignment_rows),
        ):
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in data:
                    copy.write_row([row[c] for c in columns])
        conn.commit()
    vacuum(url)


def vacuum(url: str) -> None:
    """On PostgreSQL, what autovacuum would have done by now (it is off on the benchmark
    machine's server, on in any production one): the loaded pages marked all-visible (index
    scans skip the rows' visibility checks), statistics, and the dead rows of a burst of
    writes cleared (a kept count updated by every create piles up dead versions of its row,
    and the next writes walk them); the tables of this schema only. SQLite: nothing to do."""
    if not url.startswith("postgresql"):
        return
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'VACUUM ANALYZE "{table}"')


@dataclass
class Server:
    base: str
    pid: int
    log_path: Path
    problems: list[str] = field(default_factory=list)  # WARNING/ERROR lines, after it stopped

    def memory_kb(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak) of the server process, in kB."""
        status = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        values = {}
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
        return values


@contextmanager
def server(
    url: str,
    secret: str,
    tmp: Path,
    name: str = "server",
    settings: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``callplane serve --no-migrate`` (1 worker) on a free port; always stopped.

    ``settings``: more CALLPLANE_* environment variables for this server.
    """
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CALLPLANE_SECRET_KEY": secret,
        "CALLPLANE_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    log_path = tmp / f"{name}.log"
    with serve(env, ["--no-migrate"], log_path) as running:
        srv = Server(running.base, running.pid, log_path, running.problems)
        yield srv  # the log's WARNING/ERROR lines land in srv.problems once it has stopped


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`"
        )
    return path


@dataclass
class WrkResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    raw: str = ""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    def grab(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            if default is None:
                raise RuntimeError(f"wrk output has no {pattern!r}:\n{output}")
            return default
        return match.group(1)

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    statuses = {
        int(code): int(count)
        for code, count in re.findall(r"^STATUS (\d+) (\d+)$", output, re.MULTILINE)
    }
    return WrkResult(
        requests=int(grab(r"^\s*(\d+) requests in ")),
        rps=float(grab(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_latency_ms(grab(r"^\s+50%\s+(\S+)")),
        p99_ms=_latency_ms(grab(r"^\s+99%\s+(\S+)")),
        non_2xx=int(grab(r"Non-2xx or 3xx responses: (\d+)", "0")),
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        statuses=statuses,
        raw=output,
    )


def start_wrk(
    url: str, *, threads: int, connections: int, duration: float, script: Path | None = None
) -> subprocess.Popen[str]:
    """wrk with ``--latency`` in the background; collect it with ``finish_wrk``."""
    cmd = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_wrk(
    url: str, *, threads: int, connections: int, duration: float, script: Path | None = None
) -> WrkResult:
    return finish_wrk(
        start_wrk(url, threads=threads, connections=connections, duration=duration, script=script)
    )


def finish_wrk(proc: subprocess.Popen[str]) -> WrkResult:
    output, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
    return parse_wrk(output)


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


STATUS_COUNTER_LUA = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for code, n in pairs(c) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("STATUS %d %d\\n", code, n))
  end
end
"""


def replace_section(path: Path, start: str, end: str, section: str) -> None:
    """Write ``section`` (which starts with ``start`` and ends with ``end``) into ``path``."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


@contextmanager
def temp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="callplane-bench-") as tmp:
        yield Path(tmp)
