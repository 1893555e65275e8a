"""Every documented example runs: the README's quick start and docs/client.md in Python, each
``callplane`` line of docs/cli.md through the CLI, against a live server on both databases."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import mypy.api
import pytest
from typer.testing import CliRunner

from callplane.cli import app
from callplane.settings import get_settings
from tests.helpers import SECRET, Backend, Tenant
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent
KEEP_ID = re.compile(r"^(\w+)=\$\((callplane .+) \| jq -r \.(\w+)\)$")


def blocks(page: str, language: str) -> list[str]:
    text = (ROOT / page).read_text()
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def shell(
    backend: Backend, tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A shell's environment: a live server, the tenant's key, and the database for admin."""
    with live_server(backend.url, tmp_path / "server.log") as base_url:
        env = {
            "CALLPLANE_URL": base_url,
            "CALLPLANE_API_KEY": tenant.key,
            "DATABASE_URL": backend.url,
            "CALLPLANE_SECRET_KEY": SECRET,
            "COLUMNS": "200",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        get_settings.cache_clear()
        yield env
        get_settings.cache_clear()


def test_the_python_examples_run(shell: dict[str, str]) -> None:
    quick_start = blocks("README.md", "python")
    assert len(quick_start) == 1 and len(quick_start[0].splitlines()) <= 10
    page = blocks("docs/client.md", "python")
    assert len(page) >= 10
    for examples in (quick_start, page):
        namespace: dict[str, object] = {"__name__": "docs_example"}
        printed = io.StringIO()
        for number, code in enumerate(examples):
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"example {number + 1}", "exec"), namespace)  # noqa: S102
        assert printed.getvalue()


def test_the_cli_examples_run(shell: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "numbers.csv").write_text("e164\n+16286666348\n+12025550143\n+33782990580\n")
    variables: dict[str, str] = {}
    lines = [
        line.split("  #")[0].strip()
        for block in blocks("docs/cli.md", "sh")
        for line in block.splitlines()
    ]
    commands = [line for line in lines if line.startswith("callplane ") or KEEP_ID.match(line)]
    assert len(commands) == len(lines) >= 15  # every line of every block is a command
    for line in commands:
        kept = KEEP_ID.match(line)
        command = kept.group(2) if kept else line
        args = shlex.split(command)[1:]
        args = [re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], a) for a in args]
        result = CliRunner().invoke(app, args, env=shell)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        if kept:
            variables[kept.group(1)] = json.loads(result.stdout)[kept.group(3)]
    assert os.listdir(tmp_path).count("numbers.csv.progress") == 0


def test_the_python_examples_type_check_strictly(tmp_path: Path) -> None:
    """A user's code written like the examples is ``mypy --strict`` clean: the results are
    typed all the way down (``py.typed`` ships with the package)."""
    examples = tmp_path / "examples.py"
    examples.write_text(
        "\n".join(blocks("README.md", "python") + blocks("docs/client.md", "python"))
    )
    report, errors, status = mypy.api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), str(examples)]
    )
    assert status == 0, report + errors
