"""SQLite's writers queue in the process, first come first served (core/writequeue.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from callplane.core.db import Database, create_db_engine
from callplane.core.ids import new_uuid
from callplane.core.writequeue import FifoLock
from callplane.workspaces.models import Workspace

WRITERS = 32
HOLD = 0.01


def test_the_lock_is_handed_over_in_arrival_order() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []
    threads = []
    for index in range(8):
        thread = threading.Thread(target=_take_and_note, args=(lock, index, order))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # each one queued before the next arrives
    lock.release()
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(8))


def test_sqlite_writers_take_the_database_in_arrival_order(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Arriving 5 ms apart, each holding the lock 15 ms: SQLite's busy handler, which sleeps and
    retries, serves them in no order; the queue serves them as they came."""
    path = tmp_path / "order.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(create_db_engine(f"sqlite:///{path}", pool_size=12))
    served: list[int] = []

    def write(index: int) -> None:
        with database.transaction() as session:
            session.execute(insert(Workspace).values(id=new_uuid(), name=f"w{index}"))
            served.append(index)
            time.sleep(0.015)

    threads = []
    try:
        for index in range(12):
            thread = threading.Thread(target=write, args=(index,))
            thread.start()
            threads.append(thread)
            time.sleep(0.005)
        for thread in threads:
            thread.join(timeout=60)
        assert served == list(range(12))
    finally:
        database.engine.dispose()


def test_a_writer_that_waits_too_long_gives_up_and_leaves_the_queue() -> None:
    lock = FifoLock()
    assert lock.acquire(timeout=1)
    assert not lock.acquire(timeout=0.05)
    lock.release()
    assert lock.acquire(timeout=0.05)  # the one who gave up is not handed the lock
    lock.release()


@pytest.mark.parametrize("attempt", range(20))
def test_32_concurrent_writers_all_commit(
    sqlite_template: Path, tmp_path: Path, attempt: int
) -> None:
    path = tmp_path / f"queue{attempt}.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(create_db_engine(f"sqlite:///{path}", pool_size=WRITERS))
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []
    waits: list[float] = []

    def write(index: int) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            with database.transaction() as session:
                session.execute(insert(Workspace).values(id=new_uuid(), name=f"w{index}"))
                time.sleep(HOLD)  # the Python of a request, inside its transaction
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        waits.append(time.perf_counter() - began)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert failures == []
        with database.engine.connect() as connection:
            count = connection.scalar(text("SELECT count(*) FROM workspaces"))
        assert count == WRITERS
        assert max(waits) < 5  # in turn, never seconds in SQLite's busy handler
    finally:
        database.engine.dispose()


def _take_and_note(lock: FifoLock, index: int, order: list[int]) -> None:
    assert lock.acquire(timeout=10)
    order.append(index)
    lock.release()
