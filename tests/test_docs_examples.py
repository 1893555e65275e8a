"""Every documented example runs, against a live server on both databases.

The README's quick start and docs/client.md run in Python, each ``callplane`` line of docs/cli.md
through the CLI, and every other page's ``sh`` blocks as one bash script and its ``python``
blocks in one namespace, in a workspace of its own. A block that must not run (it starts a
server, or holds placeholders) says so just above it with ``<!-- docs-test: skip (why) -->``;
``<!-- docs-test: sqlite -->`` or ``postgresql`` runs it on that database only, and a page of
records rather than examples (the benchmark commands) says ``<!-- docs-test: skip page (why)
-->`` once."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]
# Blocks the tests above run their own way (the CLI in-process, the client typed-checked too).
OWN_RUNNERS = {("README.md", "python"), ("docs/client.md", "python"), ("docs/cli.md", "sh")}
EXAMPLES = ("sh", "python")  # the languages of examples; ```text, ```json … are not run
NOT_EXAMPLES_BUT_LOOK_LIKE = ("bash", "shell", "console", "py", "python3")
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```$", flags=re.MULTILINE | re.DOTALL)
MARK = re.compile(r"<!-- docs-test: (skip|sqlite|postgresql)\b[^>]*-->\s*$")
PAGE_MARK = re.compile(r"^<!-- docs-test: skip page \(.+\) -->$", flags=re.MULTILINE)


@dataclass(frozen=True)
class Example:
    page: str
    language: str
    code: str
    only: str | None  # skip, sqlite or postgresql, from the mark above the block

    def runs_on(self, backend: str) -> bool:
        return self.only is None or self.only == backend


def examples(page: str) -> list[Example]:
    text = (ROOT / page).read_text()
    whole_page = "skip" if PAGE_MARK.search(text) else None
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        only = whole_page or (mark.group(1) if mark else None)
        found.append(Example(page, match.group(1), match.group(2), only))
    return found


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


def test_every_example_is_in_a_language_that_runs() -> None:
    """A ``bash`` or ``console`` block would silently never run: examples are ``sh``/``python``."""
    wrong = [
        f"{e.page}: ```{e.language}"
        for page in PAGES
        for e in examples(page)
        if e.language in NOT_EXAMPLES_BUT_LOOK_LIKE
    ]
    assert wrong == []


def test_skipped_examples_are_few_and_say_why() -> None:
    pages = [p for p in PAGES if not PAGE_MARK.search((ROOT / p).read_text())]
    assert len(pages) > len(PAGES) - 2  # the benchmark records, at most
    every = [e for page in pages for e in examples(page) if e.language in EXAMPLES]
    skipped = [e for e in every if e.only == "skip"]
    assert len(skipped) * 4 < len(every), [e.page for e in skipped]
    for page in PAGES:
        for line in (ROOT / page).read_text().splitlines():
            if "docs-test: skip" in line:
                assert re.search(r"skip (page )?\(.+\)", line), f"{page}: say why: {line}"


@pytest.mark.parametrize("page", PAGES)
def test_the_page_examples_run(
    page: str, backend: Backend, shell: dict[str, str], tmp_path: Path
) -> None:
    blocks = [
        e
        for e in examples(page)
        if e.language in EXAMPLES
        and (page, e.language) not in OWN_RUNNERS
        and e.runs_on(backend.name)
    ]
    if not blocks:
        pytest.skip(f"{page} has no example of its own to run on {backend.name}")
    script = "\n".join(e.code for e in blocks if e.language == "sh")
    if script:
        environment = {
            **os.environ,
            **shell,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{page}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr
        if page == "docs/getting-started.md":  # a fresh workspace reaches a routed call
            assert '"action": "connect"' in result.stdout, result.stdout
    namespace: dict[str, object] = {"__name__": "docs_example"}
    printed = io.StringIO()
    for number, e in enumerate(b for b in blocks if b.language == "python"):
        with contextlib.redirect_stdout(printed):
            exec(compile(e.code, f"{page} python example {number + 1}", "exec"), namespace)  # noqa: S102
