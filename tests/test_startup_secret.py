"""The public development secret: a warning wherever it is in use, a refusal in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from callplane.app import create_app
from callplane.cli import app as cli
from callplane.settings import DEVELOPMENT_SECRET_KEY, Settings, get_settings
from tests.helpers import SECRET, Backend
from tests.live_server import live_server

PRODUCTION = {"env": "production", "public_base_url": "https://callplane.example.com"}


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_app_warns_when_it_runs_on_the_development_secret(
    backend: Backend, capfd: pytest.CaptureFixture[str]
) -> None:
    create_app(Settings(database_url=backend.url, release_worker=False), backend.database)
    logged = capfd.readouterr().err
    assert "WARNING callplane.app" in logged
    assert "CALLPLANE_SECRET_KEY is not set" in logged
    create_app(Settings(database_url=backend.url, secret_key=SECRET), backend.database)  # type: ignore[arg-type]
    assert "CALLPLANE_SECRET_KEY" not in capfd.readouterr().err


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="CALLPLANE_SECRET_KEY"):
        Settings(**PRODUCTION)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="refuses the development secret"):
        Settings(**PRODUCTION, secret_key=DEVELOPMENT_SECRET_KEY)  # type: ignore[arg-type]
    assert not Settings(**PRODUCTION, secret_key=SECRET).uses_development_secret  # type: ignore[arg-type]


def test_serve_in_production_with_the_development_secret_does_not_start(
    fresh_settings: None,
) -> None:
    env = {
        "CALLPLANE_ENV": "production",
        "CALLPLANE_PUBLIC_BASE_URL": "https://callplane.example.com",
        "CALLPLANE_SECRET_KEY": None,
    }
    result = CliRunner().invoke(cli, ["serve", "--no-migrate"], env=env)
    assert result.exit_code == 2
    assert "callplane will not start" in result.stderr
    assert "set CALLPLANE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output


def test_serve_prints_the_warning_on_the_development_secret(
    backend: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with live_server(backend.url, log, {"CALLPLANE_SECRET_KEY": DEVELOPMENT_SECRET_KEY}):
        pass
    output = log.read_text()
    assert "warning CALLPLANE_SECRET_KEY is not set" in output  # printed by `callplane serve`
    assert "WARNING callplane.app" in output  # and logged by the app
    quiet = tmp_path / "quiet.log"
    with live_server(backend.url, quiet):
        pass
    assert "CALLPLANE_SECRET_KEY" not in quiet.read_text()
