"""Apply the Alembic migrations shipped inside the package; no alembic.ini is needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from callplane.core.db import normalize_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "callplane:migrations")
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
