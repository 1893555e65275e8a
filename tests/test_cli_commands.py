"""The CLI's API commands against a live server, its admin lists on the database, and an exit
code of its own for each way a command can end."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from callplane.cli import app
from callplane.commands.exit_codes import ExitCode
from callplane.settings import get_settings
from tests.helpers import SECRET, Backend, Tenant, wide_cli_tables
from tests.live_server import free_port, live_server


@pytest.fixture
def server(backend: Backend, tenant: Tenant, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a shell pointed at a live server with the tenant's key."""
    get_settings.cache_clear()  # the admin commands read DATABASE_URL afresh
    with wide_cli_tables(), live_server(backend.url, tmp_path / "server.log") as base_url:
        yield {
            "CALLPLANE_URL": base_url,
            "CALLPLANE_API_KEY": tenant.key,
            "DATABASE_URL": backend.url,
            "CALLPLANE_SECRET_KEY": SECRET,
        }
    get_settings.cache_clear()


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def ok(env: dict[str, str], *args: str) -> Result:
    result = run(env, *args)
    assert result.exit_code == ExitCode.OK, result.output
    return result


def data(result: Result) -> Any:
    return json.loads(result.stdout)


def test_an_operators_first_hour(server: dict[str, str], tmp_path: Path) -> None:
    desk = data(ok(server, "agents", "create", "Front desk", "--type", "inbound", "--json"))
    dialer = data(ok(server, "agents", "create", "Dialer", "--type", "outbound", "--json"))
    listed = ok(server, "agents", "list")
    assert "Front desk" in listed.stdout and "Dialer" in listed.stdout
    assert [a["name"] for a in data(ok(server, "agents", "list", "--json"))] == [
        "Front desk",
        "Dialer",
    ]

    # Numbers come from the CSV import; the rest of the commands work on them.
    csv = tmp_path / "import" / "numbers.csv"
    csv.parent.mkdir()
    csv.write_text("e164\n+16286666348\n+12025550143\n+33782990580\n")
    imported = ok(server, "numbers", "import", str(csv))
    assert "3 imported" in imported.stdout and "3/3" in imported.stdout
    assert list(csv.parent.iterdir()) == [csv]  # every row is in: no progress file left

    assigned = ok(server, "numbers", "assign", "+16286666348", "--agent", desk["id"])
    assert desk["id"] in assigned.stdout
    attached = ok(
        server, "numbers", "attach", "+12025550143", "33782990580", "--agent", dialer["id"]
    )
    assert "2 newly attached" in attached.stdout
    shown = data(ok(server, "numbers", "show", "12025550143", "--json"))
    assert shown["outbound_agent_ids"] == [dialer["id"]]
    table = ok(server, "numbers", "list", "--country", "US").stdout
    assert "+16286666348" in table and "+33782990580" not in table and "2 numbers" in table
    assert len(data(ok(server, "numbers", "list", "--limit", "2", "--json"))) == 2

    inbound = data(ok(server, "route", "inbound", "+16286666348", "--json"))
    assert inbound["reason"] and inbound["number"]["e164"] == "+16286666348"
    unproven = run(server, "route", "outbound", dialer["id"], "+12125550199")
    assert unproven.exit_code == ExitCode.ERROR and "no_caller_id_available" in unproven.output
    workspace = shown["workspace_id"]
    ok(server, "verify-number", "+12025550143", "--workspace", workspace, "--ownership-checked")
    outbound = data(ok(server, "route", "outbound", dialer["id"], "+12125550199", "--json"))
    assert outbound["number"]["e164"] == "+12025550143"  # the one proven number
    shown_agent = ok(server, "agents", "show", dialer["id"]).stdout
    assert "+12025550143" in shown_agent and "+33782990580" in shown_agent

    ok(server, "numbers", "detach", "+33782990580", "--agent", dialer["id"])
    ok(server, "numbers", "unassign", "+16286666348")
    assert data(ok(server, "numbers", "show", "+16286666348", "--json"))["inbound_agent_id"] is None
    ok(server, "numbers", "delete", "+33782990580", "--yes")

    tail = ok(server, "events", "tail", "-n", "3").stdout
    assert "number.deleted" in tail and "number.unassigned" in tail
    lines = ok(server, "events", "tail", "-n", "50", "--json").stdout.splitlines()
    types = [json.loads(line)["type"] for line in lines]
    assert types[0] == "workspace.created" and types[-1] == "number.deleted"  # oldest first


def test_events_tail_follows_new_events_until_interrupted(
    server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[float] = []

    def next_poll(seconds: float) -> None:
        """Between polls, something changes; on the third, the operator presses Ctrl-C."""
        polls.append(seconds)
        if len(polls) == 3:
            raise KeyboardInterrupt
        ok(server, "agents", "create", f"Agent {len(polls)}", "--type", "inbound")

    monkeypatch.setattr("callplane.commands.events.time.sleep", next_poll)
    result = ok(server, "events", "tail", "-n", "1", "--follow", "--interval", "0.5", "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == ["api_key.created", "agent.created", "agent.created"]
    assert [e["after"]["name"] for e in events[1:]] == ["Agent 1", "Agent 2"]
    assert polls == [0.5, 0.5, 0.5]


def test_each_way_to_fail_has_its_own_exit_code(server: dict[str, str], tmp_path: Path) -> None:
    missing = run(server, "numbers", "show", "+12025550100")
    assert missing.exit_code == ExitCode.ERROR
    assert "number_not_found" in missing.stderr and "Traceback" not in missing.output

    no_key = run({**server, "CALLPLANE_API_KEY": ""}, "numbers", "list")
    assert no_key.exit_code == ExitCode.USAGE and "CALLPLANE_API_KEY" in no_key.stderr
    assert run(server, "numbers", "list", "--no-such-option").exit_code == ExitCode.USAGE

    down = f"http://127.0.0.1:{free_port()}"
    unreachable = run({**server, "CALLPLANE_URL": down}, "agents", "list")
    assert unreachable.exit_code == ExitCode.UNREACHABLE
    assert down in unreachable.stderr and "callplane serve" in unreachable.stderr

    bad = tmp_path / "bad.csv"
    bad.write_text("e164\n+12025550188\nnot-a-number\n")
    rejected = run(server, "numbers", "import", str(bad))
    assert rejected.exit_code == ExitCode.ROWS_REJECTED
    assert "1 imported" in rejected.stdout and "invalid_phone_number" in rejected.stderr
    assert bad.with_name("bad.csv.progress").exists()  # not every row is in: a re-run resumes

    assert len({int(code) for code in ExitCode}) == len(ExitCode)


@pytest.fixture
def database_env(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    with wide_cli_tables():
        yield backend
    get_settings.cache_clear()


def value(output: str, label: str) -> str:
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith(label))


def test_key_and_workspace_lists(database_env: Backend, tmp_path: Path) -> None:
    created = ok({}, "workspace", "create", "Acme")
    workspace_id, key_id = value(created.stdout, "workspace_id"), value(created.stdout, "key_id")
    key = value(created.stdout, "api_key")
    second = value(ok({}, "key", "create", "--workspace", workspace_id).stdout, "key_id")
    ok({}, "key", "revoke", second)
    # A read is a use too (the audit log would not know it): api_keys.last_used_at does.
    with live_server(database_env.url, tmp_path / "server.log") as base_url:
        env = {"CALLPLANE_URL": base_url, "CALLPLANE_API_KEY": key}
        ok(env, "agents", "list")

    keys = data(ok({}, "key", "list", "--workspace", workspace_id, "--json"))
    assert [(k["id"], k["prefix"] == key[:12]) for k in keys] == [(key_id, True), (second, False)]
    assert keys[0]["last_used_at"] != "-" and keys[0]["revoked_at"] == "-"
    assert keys[1]["last_used_at"] == "-" and keys[1]["revoked_at"] != "-"
    table = ok({}, "key", "list").stdout
    assert key_id in table and second in table and key not in table

    workspaces = data(ok({}, "workspace", "list", "--json"))
    acme = next(w for w in workspaces if w["id"] == workspace_id)
    assert (acme["name"], acme["active_keys"]) == ("Acme", 1)
    assert "Acme" in ok({}, "workspace", "list").stdout


def test_an_unmigrated_database_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> None:
    empty = tmp_path / "empty.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    get_settings.cache_clear()
    try:
        for command in (["key", "list"], ["workspace", "create", "A"], ["worker", "--once"]):
            result = run({}, *command)
            assert result.exit_code == ExitCode.DATABASE, result.output
            assert "run `callplane migrate`" in result.stderr and "Traceback" not in result.output
        ok({}, "migrate")
        assert run({}, "workspace", "list").exit_code == ExitCode.OK
        nowhere = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/callplane"
        monkeypatch.setenv("DATABASE_URL", nowhere)
        get_settings.cache_clear()
        for command in (["migrate"], ["key", "list"]):
            down = run({}, *command)
            assert down.exit_code == ExitCode.DATABASE and "Traceback" not in down.output
            assert "cannot open the database at postgresql://postgres:***@127.0.0.1" in down.stderr
    finally:
        get_settings.cache_clear()


def test_the_first_start_prints_the_key_with_its_id(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, database)
    log = tmp_path / "server.log"
    with live_server(f"sqlite:///{database}", log):
        pass
    printed = log.read_text()
    assert "Created workspace ws_" in printed and "Its API key key_" in printed
    assert "sk_live_" in printed
