"""The CPU of each write's service alone: create, assign, unassign, delete, in this process.

``bench/writes.py`` measures the writes over HTTP, where a request's CPU is the service's and
the stack's together. This script calls the services as the endpoints do (a session, the
service, COMMIT, the JSON answer), one after another in one thread, and reports the process's
CPU time per write: what a change to a service saves, without uvicorn, FastAPI or the other
requests' noise. Compare two versions in one run by pointing ``PYTHONPATH`` at each ``src``.

Run:

    .venv/bin/python bench/write_services.py [--backend sqlite|postgresql|both] [--count 1000]
        [--rounds 3] [--profile DIR]

``--profile DIR`` writes a cProfile of each write (CPU time, not wall time) to
``DIR/<backend>-<write>.prof`` instead of measuring (``python -m pstats`` reads it).

PostgreSQL: the schema ``callplane_bench_services`` of ``CALLPLANE_BENCH_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import cProfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from callplane.assignments import service as assignments
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.core.http import ok
from callplane.numbers import service as numbers
from callplane.numbers.schemas import NumberOut
from common import LABELS, median, migrate, setup_workspace, temp_dir
from import_and_list import prepare

SCHEMA = "callplane_bench_services"
WRITES = ("create", "assign", "unassign", "delete")
Write = Callable[[Session, str], Any]


def writes(actor: Actor, agent: str) -> dict[str, Write]:
    """Each write as its endpoint calls it; the answer is serialised as the endpoint's is."""
    return {
        "create": lambda s, e: NumberOut.of(
            numbers.import_number(s, actor, numbers.NumberInput(e))
        ),
        "assign": lambda s, e: NumberOut.of(assignments.assign(s, actor, e, agent, "inbound")),
        "unassign": lambda s, e: NumberOut.of(assignments.unassign(s, actor, e, "inbound").number),
        "delete": lambda s, e: NumberOut.of(numbers.delete_number(s, actor, e)),
    }


def cpu_ms_per_write(database: Database, actor: Actor, write: Write, e164s: list[str]) -> float:
    started = time.process_time()
    for e164 in e164s:
        with database.session(write=True) as session:
            answer = write(session, e164)
            session.commit()
            ok(answer, actor).model_dump_json()
    return (time.process_time() - started) / len(e164s) * 1000


def run(backend: str, args: argparse.Namespace) -> dict[str, float]:
    with temp_dir() as tmp:
        url, _ = prepare(backend, tmp, SCHEMA)
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        migrate(url)
        workspace, (agent_id,) = setup_workspace(
            url,
            "s" * 40,
            "cp_live_" + "k" * 40,
            "wss://bench.invalid/stream",
            [{"name": "Bench", "type": "inbound"}],
        )
        database = Database(create_db_engine(url, pool_size=1))
        actor = Actor(workspace, None, "req_bench")
        each = writes(actor, ids.render("agent", agent_id))
        figures: dict[str, list[float]] = {w: [] for w in WRITES}
        try:
            for round_ in range(args.rounds + 1):  # the first round warms caches: not counted
                e164s = [f"+1415{200 + round_}{i:04d}" for i in range(args.count)]
                for name in WRITES:  # create, assign, unassign, delete: the same numbers
                    if args.profile and round_ == args.rounds:
                        profile = cProfile.Profile(time.process_time)
                        profile.runcall(cpu_ms_per_write, database, actor, each[name], e164s)
                        profile.dump_stats(Path(args.profile) / f"{backend}-{name}.prof")
                        continue
                    spent = cpu_ms_per_write(database, actor, each[name], e164s)
                    if round_:
                        figures[name].append(spent)
        finally:
            database.engine.dispose()
        return {name: median(values) for name, values in figures.items() if values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=1000, help="writes of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="cProfile of the last round into this directory")
    args = parser.parse_args()
    if not 0 < args.count <= 10_000:
        parser.error("--count: 1 to 10,000 (the numbers of a round share one exchange)")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print("| Backend | " + " | ".join(f"{w} (ms CPU)" for w in WRITES) + " |")
    print("|---|" + "--:|" * len(WRITES))
    for backend in backends:
        found = run(backend, args)
        print(f"| {LABELS[backend]} | " + " | ".join(f"{found[w]:.2f}" for w in WRITES) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
