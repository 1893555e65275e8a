"""The local admin commands' database: reachable and migrated, or a clear message why not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from callplane.commands.exit_codes import ExitCode
from callplane.commands.output import fail
from callplane.core.db import Database, create_db_engine
from callplane.core.migrate import alembic_config, upgrade


def shown(database_url: str) -> str:
    """The URL without its password, to name the database in a message."""
    return make_url(database_url).render_as_string(hide_password=True)


def _cannot_open(database_url: str, exc: SQLAlchemyError) -> NoReturn:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    fail(ExitCode.DATABASE, f"cannot open the database at {shown(database_url)}: {reason}")


def migrate(database_url: str) -> None:
    """Apply the migrations, or exit with a message when the database cannot be opened."""
    try:
        upgrade(database_url)
    except SQLAlchemyError as exc:
        _cannot_open(database_url, exc)


def require_schema(database_url: str) -> None:
    """Exit with a message when the database cannot be opened or is not at the latest schema."""
    engine = create_db_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        _cannot_open(database_url, exc)
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    if current is None:
        fail(
            ExitCode.DATABASE,
            f"the database at {shown(database_url)} has no callplane schema yet: "
            "run `callplane migrate`",
        )
    if current != head:
        fail(
            ExitCode.DATABASE,
            f"the database at {shown(database_url)} is at migration {current}, this callplane "
            f"needs {head}: run `callplane migrate`",
        )


@contextmanager
def transaction(database_url: str) -> Iterator[Session]:
    """One unit of work on a checked database, on an engine disposed when the command ends."""
    require_schema(database_url)
    database = Database(create_db_engine(database_url, pool_size=1))
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.engine.dispose()
