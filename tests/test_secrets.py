"""Secrets at rest and in failure: sealed in the database, masked in responses, never logged."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import event, text
from typer.testing import CliRunner

from callplane.cli import app as cli
from callplane.core import crypto
from callplane.core.db import create_db_engine
from callplane.core.migrate import alembic_config
from callplane.settings import Settings, get_settings
from tests.conftest import POSTGRES_URL
from tests.helpers import SECRET, Backend, Tenant

TOKEN = "twilio-secret-token-0123456789abcdef"
API_KEY_LIKE = "sk_live_"


def raw_token(backend: Backend) -> str:
    with backend.database.engine.connect() as connection:
        value = connection.execute(
            text("SELECT twilio_auth_token FROM workspaces WHERE twilio_auth_token IS NOT NULL")
        ).scalar_one()
    return str(value)


def keyring(*keys: bytes) -> crypto.Keyring:
    return crypto.Keyring(list(keys))


def test_the_auth_token_is_stored_sealed_and_shown_masked(tenant: Tenant, backend: Backend) -> None:
    response = tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["twilio_auth_token_set"] is True
    assert data["twilio_auth_token_hint"] == "****cdef"
    stored = raw_token(backend)
    assert TOKEN not in stored
    assert crypto.current().open(stored) == TOKEN
    assert tenant.get("/v1/workspace").json()["data"]["twilio_auth_token_hint"] == "****cdef"


class Collect(logging.Handler):
    """Every record of every logger, formatted with its traceback, as an operator would see it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def all_logs() -> Iterator[Collect]:
    handler = Collect()
    loggers = [logging.getLogger(), logging.getLogger("callplane"), logging.getLogger("sqlalchemy")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_a_database_error_during_a_workspace_update_leaks_no_secret(
    tenant: Tenant, backend: Backend, all_logs: Collect
) -> None:
    """The reported attack: the failing UPDATE's log line carried ``[parameters: {token}]``."""
    sealed: list[str] = []

    def break_the_update(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        if statement.startswith("UPDATE workspaces"):
            sealed.extend(str(p) for p in _values(parameters))
            statement += " AND no_such_column IS NULL"  # a genuine database error
        return statement, parameters

    engine = backend.database.engine
    event.listen(engine, "before_cursor_execute", break_the_update, retval=True)
    try:
        response = tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    finally:
        event.remove(engine, "before_cursor_execute", break_the_update)
    assert response.status_code == 500
    assert "no_such_column" in all_logs.text  # the error was logged, with its traceback...
    secrets = [TOKEN, tenant.key, *(s for s in sealed if s.startswith("gAAAA"))]
    assert len(secrets) == 3  # the sealed token was among the parameters
    for secret in secrets:  # ...but not the parameters
        assert secret not in all_logs.text
        assert secret not in response.text
    assert "[parameters:" not in all_logs.text


def _values(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters)


def test_no_key_or_token_in_any_log_of_a_normal_session(tenant: Tenant, all_logs: Collect) -> None:
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    tenant.get("/v1/workspace")
    tenant.client.get("/v1/workspace", headers={"Authorization": "Bearer sk_live_wrong_key_123"})
    assert all_logs.lines
    for secret in (TOKEN, tenant.key, "sk_live_wrong_key_123"):
        assert secret not in all_logs.text


def test_rotation_new_key_seals_old_keys_open_and_the_cli_reseals(
    tenant: Tenant, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setattr(crypto, "_keyring", keyring(old))
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    sealed_by_old = raw_token(backend)
    assert keyring(old).open(sealed_by_old) == TOKEN

    monkeypatch.setattr(crypto, "_keyring", keyring(new, old))
    assert tenant.get("/v1/workspace").json()["data"]["twilio_auth_token_hint"] == "****cdef"

    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", SECRET)
    monkeypatch.setenv("CALLPLANE_ENCRYPTION_KEYS", f"{new.decode()},{old.decode()}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["re-encrypt-secrets"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 secret(s) sealed" in result.output
    assert keyring(new).open(raw_token(backend)) == TOKEN

    monkeypatch.setattr(crypto, "_keyring", keyring(new))  # the old key can go now
    assert tenant.get("/v1/workspace").json()["data"]["twilio_auth_token_hint"] == "****cdef"


def test_reencrypting_refuses_a_secret_no_key_opens(
    tenant: Tenant, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    before = raw_token(backend)
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", "another-secret-key")
    monkeypatch.setenv("CALLPLANE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["re-encrypt-secrets"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "nothing was changed" in result.output
    assert raw_token(backend) == before


def test_a_secret_no_key_opens_reads_as_not_set(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    monkeypatch.setattr(crypto, "_keyring", keyring(Fernet.generate_key()))
    data = tenant.get("/v1/workspace").json()["data"]
    assert data["twilio_auth_token_set"] is False


def test_a_bad_encryption_key_setting_fails_fast_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="key 2 is not a Fernet key") as caught:
        Settings(encryption_keys=f"{Fernet.generate_key().decode()},not-a-key-hunter2")  # type: ignore[arg-type]
    assert "hunter2" not in str(caught.value)


@pytest.fixture
def empty_database(backend: Backend, tmp_path: Any) -> Iterator[str]:
    """A database URL with nothing in it yet, of the backend's kind."""
    if backend.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    schema = f"callplane_migrate_{os.getpid()}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_migration_seals_tokens_stored_in_plaintext(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0101")
    engine = create_db_engine(empty_database, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO workspaces (id, name, twilio_auth_token, created_at, updated_at)"
                    " VALUES (:id, 'old', :token, :now, :now)"
                ),
                {"id": "0" * 32, "token": TOKEN, "now": "2026-01-01 00:00:00+00:00"},
            )
        command.upgrade(config, "0112")
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT twilio_auth_token FROM workspaces")).scalar()
        assert stored is not None and TOKEN not in stored
        assert crypto.current().open(stored) == TOKEN
        command.downgrade(config, "0101")
        with engine.connect() as connection:
            restored = connection.execute(text("SELECT twilio_auth_token FROM workspaces")).scalar()
        assert restored == TOKEN
    finally:
        engine.dispose()
