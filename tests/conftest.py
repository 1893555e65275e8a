"""Every test runs against the real app over ASGI, once on a SQLite file and once on PostgreSQL.

PostgreSQL: ``CALLPLANE_TEST_POSTGRES_URL`` (default the local ``test`` database). Under CI
(``CI=true``) an unreachable server fails the run; elsewhere those tests skip and say how to
enable them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from callplane.core.db import Database, create_db_engine
from callplane.core.migrate import upgrade
from tests.helpers import Backend, Tenant, make_client, make_tenant

POSTGRES_URL = os.environ.get(
    "CALLPLANE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PG_SCHEMA = f"callplane_test_{os.getpid()}"
TABLES = (
    "webhook_deliveries, webhook_endpoints, idempotency_keys, import_jobs, number_counts, "
    "purchase_intents, release_jobs, sandbox_numbers, caller_id_selections, caller_id_policies, "
    "twilio_call_legs, "
    "assignments, events, api_keys, phone_numbers, agents, workspaces"
)


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else "connection refused"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "callplane.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = _postgres_available()
    if problem is not None:
        message = (
            f"PostgreSQL not reachable at {POSTGRES_URL} ({problem}). Start it, or point "
            "CALLPLANE_TEST_POSTGRES_URL at a server, to run the PostgreSQL half of the suite."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {PG_SCHEMA}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{PG_SCHEMA}"
    upgrade(url)
    yield url
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        database = Database(create_db_engine(url, pool_size=5))
    else:
        url = request.getfixturevalue("postgres_url")
        database = Database(create_db_engine(url, pool_size=5, max_overflow=60))
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    yield Backend(request.param, url, database)
    database.engine.dispose()


@pytest.fixture
def tenant(backend: Backend) -> Iterator[Tenant]:
    """Workspace A with its own key, speaking to the app over ASGI."""
    with make_client(backend) as client:
        yield make_tenant(backend, client, "workspace-a")


@pytest.fixture
def other_tenant(backend: Backend, tenant: Tenant) -> Tenant:
    """Workspace B: its resources must be invisible to A and A's to it."""
    return make_tenant(backend, tenant.client, "workspace-b")


def _uses_postgresql(item: pytest.Item) -> bool:
    parameters = item.nodeid.partition("[")[2]
    return "postgresql" in parameters or "postgres_url" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of PostgreSQL's locking have no SQLite variant: drop it rather than skip it.

    Under pytest-xdist (``make test`` runs two workers) every PostgreSQL test goes to one
    worker, one after another: two-server race tests and fifty-thread tests each take half of
    the server's 100 connections, and two of them at once would be refused connections.
    """
    dropped = [
        item
        for item in items
        if item.get_closest_marker("postgres_only") and "[sqlite]" in item.nodeid
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
    for item in items:
        if _uses_postgresql(item):
            item.add_marker(pytest.mark.xdist_group("postgresql"))
