"""SQLite's writers queue in the process, first come first served (core/writequeue.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, text

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


def test_a_waiting_writer_waits_in_the_queue_not_in_sqlite(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """While one writer holds the database, the others have not even sent their BEGIN: they
    wait in the queue, not in SQLite's busy handler (which sleeps and retries in no order)."""
    path = tmp_path / "queue.db"
    path.write_bytes(sqlite_template.read_bytes())
    database = Database(create_db_engine(f"sqlite:///{path}", pool_size=4))
    begins: list[str] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def _note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(threading.current_thread().name)

    holding, done = threading.Event(), threading.Event()

    def first() -> None:
        with database.transaction() as session:
            session.execute(insert(Workspace).values(id=new_uuid(), name="first"))
            holding.set()
            done.wait(10)

    def later() -> None:
        with database.transaction() as session:
            session.execute(insert(Workspace).values(id=new_uuid(), name="later"))

    threads = [threading.Thread(target=first, name="first")]
    threads += [threading.Thread(target=later, name=f"later{i}") for i in range(3)]
    try:
        threads[0].start()
        assert holding.wait(10)
        for thread in threads[1:]:
            thread.start()
        time.sleep(0.3)
        assert begins == ["first"]
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(begins) == ["first", "later0", "later1", "later2"]
        with database.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM workspaces")) == 4
    finally:
        done.set()
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
