"""The CLI's workspace and key commands, and migrations that match the models on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from callplane.cli import app
from callplane.models import Base, compared
from callplane.settings import get_settings
from tests.helpers import SECRET, Backend, make_client


@pytest.fixture
def cli_env(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield backend  # type: ignore[misc]
    get_settings.cache_clear()


def _value(output: str, label: str) -> str:
    return next(
        line.split(": ", 1)[1].strip()
        for line in output.splitlines()
        if line.startswith(label + ":")
    )


def test_workspace_and_key_lifecycle_through_the_cli(cli_env: Backend) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["workspace", "create", "Acme"])
    assert created.exit_code == 0, created.output
    workspace_id, first_key = (
        _value(created.output, "workspace_id"),
        _value(created.output, "api_key"),
    )
    assert workspace_id.startswith("ws_") and first_key.startswith("sk_live_")

    second = runner.invoke(app, ["key", "create", "--workspace", workspace_id, "--name", "ci"])
    assert second.exit_code == 0, second.output
    key_id, second_key = _value(second.output, "key_id"), _value(second.output, "api_key")

    with make_client(cli_env) as client:
        for key in (first_key, second_key):
            response = client.get("/v1/workspace", headers={"Authorization": f"Bearer {key}"})
            assert response.json()["data"]["id"] == workspace_id
        revoked = runner.invoke(app, ["key", "revoke", key_id])
        assert revoked.exit_code == 0, revoked.output
        response = client.get("/v1/workspace", headers={"Authorization": f"Bearer {second_key}"})
        assert response.status_code == 401

    unknown = runner.invoke(
        app, ["key", "create", "--workspace", "ws_00000000-0000-7000-8000-000000000000"]
    )
    assert unknown.exit_code == 1
    assert "workspace_not_found" in unknown.output


def test_keys_are_stored_hashed(cli_env: Backend) -> None:
    created = CliRunner().invoke(app, ["workspace", "create", "Hashed"])
    key = _value(created.output, "api_key")
    with cli_env.database.engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.exec_driver_sql("SELECT * FROM api_keys"))
        events = "\n".join(str(row) for row in connection.exec_driver_sql("SELECT * FROM events"))
    assert key not in dump and key not in events
    assert key[:12] in dump  # the display prefix only


def test_migrations_match_the_models(backend: Backend) -> None:
    with backend.database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": compared}
        )
        assert compare_metadata(context, Base.metadata) == []
