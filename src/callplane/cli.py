"""The ``callplane`` command: local admin commands on the database, and the API's commands.

Serving, migrating, workspaces and keys work on the database directly (they are how the first
key comes to exist); everything else goes through a running server with ``callplane.client``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from typing import Annotated, NoReturn

import typer
import uvicorn
from pydantic import ValidationError
from rich.table import Table

from callplane.commands import agents, events, numbers, routing, webhooks
from callplane.commands.database import migrate as migrate_database
from callplane.commands.database import require_schema, transaction
from callplane.commands.exit_codes import ExitCode
from callplane.commands.output import JsonOption, console, errors, fail
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.crypto_cli import reencrypt_secrets
from callplane.core.db import utcnow
from callplane.core.errors import DomainError, not_found
from callplane.core.server import BoundedHttpToolsProtocol
from callplane.numbers.ownership_cli import verify_number
from callplane.providers.recovery_cli import reconcile
from callplane.providers.releases import run_worker
from callplane.settings import DEVELOPMENT_SECRET_WARNING, get_settings
from callplane.webhooks.delivery import run_worker as run_delivery_worker
from callplane.workspaces import service as workspaces

EPILOG = (
    "Exit codes: 0 ok; 1 refused (not found, conflict, invalid); 2 usage error or no API key; "
    "3 import done with rejected rows; 4 server unreachable; 5 database not reachable or not "
    "migrated."
)
app = typer.Typer(
    help="callplane: phone numbers for voice-AI agents.", epilog=EPILOG, no_args_is_help=True
)
workspace_app = typer.Typer(help="Workspaces (on the database).", no_args_is_help=True)
key_app = typer.Typer(help="API keys (on the database).", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
app.add_typer(numbers.app, name="numbers")
app.add_typer(agents.app, name="agents")
app.add_typer(routing.app, name="route")
app.add_typer(events.app, name="events")
app.add_typer(webhooks.app, name="webhooks")
app.command("re-encrypt-secrets")(reencrypt_secrets)
app.command("verify-number")(verify_number)
app.command("reconcile")(reconcile)


def _refused(exc: DomainError) -> NoReturn:
    fail(ExitCode.ERROR, f"{exc.code}: {exc.message}")


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


@app.command()
def migrate() -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    migrate_database(get_settings().database_url)
    console.print("database is at the latest schema")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    run_migrations: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Serve the API; on the very first start, create the default workspace and show its key."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        refused = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        fail(ExitCode.USAGE, f"callplane will not start: {refused}")
    if settings.uses_development_secret:
        errors.print(f"[yellow]warning[/yellow] {DEVELOPMENT_SECRET_WARNING}", soft_wrap=True)
    if run_migrations:
        migrate_database(settings.database_url)
    bootstrap = (
        settings.bootstrap_api_key.get_secret_value() if settings.bootstrap_api_key else None
    )
    with transaction(settings.database_url) as session:
        created = workspaces.ensure_default_workspace(
            session, settings.secret_key.get_secret_value(), bootstrap
        )
    if created is not None:
        workspace, issued = created
        console.print(f"Created workspace [bold]{ids.render('workspace', workspace.id)}[/bold].")
        key_id = ids.render("api_key", issued.record.id)
        if bootstrap:
            console.print(
                f"Its first API key ({key_id}) is the one in CALLPLANE_BOOTSTRAP_API_KEY."
            )
        else:
            console.print(f"Its API key {key_id}, shown this once and stored only as a hash:")
            console.print(f"  [bold green]{issued.plaintext}[/bold green]", soft_wrap=True)
    uvicorn.run(
        "callplane.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=BoundedHttpToolsProtocol,  # bounded header size and time (core/server.py)
    )


@workspace_app.command("create")
def workspace_create(name: str) -> None:
    """Create a workspace and print its id and first API key (shown once)."""
    settings = get_settings()
    try:
        with transaction(settings.database_url) as session:
            workspace, issued = workspaces.create_workspace(
                session, name, settings.secret_key.get_secret_value()
            )
    except DomainError as exc:
        _refused(exc)
    console.print(f"workspace_id: {ids.render('workspace', workspace.id)}")
    console.print(f"key_id: {ids.render('api_key', issued.record.id)}")
    console.print(f"api_key: {issued.plaintext}", soft_wrap=True)


@workspace_app.command("list")
def workspace_list(json_output: JsonOption = False) -> None:
    """Every workspace of this installation, with its number of active keys."""
    with transaction(get_settings().database_url) as session:
        listed = workspaces.list_workspaces(session)
    rows = [
        {
            "id": ids.render("workspace", item.workspace.id),
            "name": item.workspace.name,
            "active_keys": item.active_keys,
            "created_at": _when(item.workspace.created_at),
        }
        for item in listed
    ]
    _print_rows(rows, json_output, f"{len(rows)} workspaces")


@key_app.command("create")
def key_create(
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id (ws_…).")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
    scope: Annotated[str, typer.Option(help="full, or read (cannot change anything).")] = "full",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="The key stops working after this many days.")
    ] = None,
) -> None:
    """Create an API key for a workspace; the key is printed once."""
    settings = get_settings()
    workspace_id = ids.parse("workspace", workspace)
    try:
        if workspace_id is None:
            raise not_found("workspace", workspace)
        with transaction(settings.database_url) as session:
            issued = workspaces.create_key(
                session,
                Actor(workspace_id, None, None),
                name,
                settings.secret_key.get_secret_value(),
                scope=scope,
                expires_at=utcnow() + dt.timedelta(days=expires_in_days)
                if expires_in_days
                else None,
            )
    except DomainError as exc:
        _refused(exc)
    console.print(f"key_id: {ids.render('api_key', issued.record.id)}")
    console.print(f"api_key: {issued.plaintext}", soft_wrap=True)


@key_app.command("list")
def key_list(
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Only this workspace's keys (ws_…).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """API keys: id, label, prefix, created, last used (to the minute), revoked."""
    workspace_id = ids.parse("workspace", workspace) if workspace else None
    if workspace and workspace_id is None:
        fail(ExitCode.ERROR, f"workspace_not_found: no workspace '{workspace}'")
    with transaction(get_settings().database_url) as session:
        listed = workspaces.list_keys(session, workspace_id)
    rows = [
        {
            "id": ids.render("api_key", key.id),
            "workspace_id": ids.render("workspace", key.workspace_id),
            "name": key.name,
            "prefix": key.key_prefix,
            "created_at": _when(key.created_at),
            "last_used_at": _when(key.last_used_at),
            "revoked_at": _when(key.revoked_at),
        }
        for key in listed
    ]
    _print_rows(rows, json_output, f"{len(rows)} API keys")


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke an API key by its id (key_…); requests with it get 401 from now on."""
    settings = get_settings()
    parsed = ids.parse("api_key", key_id)
    try:
        if parsed is None:
            raise not_found("api_key", key_id)
        with transaction(settings.database_url) as session:
            workspaces.revoke_key(session, parsed)
    except DomainError as exc:
        _refused(exc)
    console.print(f"revoked {key_id}")


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option(help="Work the due releases and webhook deliveries once, then exit.")
    ] = False,
) -> None:
    """Release deleted numbers and deliver webhooks (for deployments that run them apart)."""
    settings = get_settings()
    require_schema(settings.database_url)
    if once:
        done = run_worker(settings, once=True)
        sent = run_delivery_worker(settings, once=True)
        console.print(f"{done} release(s) attempted, {sent} webhook delivery attempt(s)")
        return
    stop = threading.Event()
    deliveries = threading.Thread(
        target=run_delivery_worker, args=(settings,), kwargs={"stop": stop}, name="webhook-worker"
    )
    deliveries.start()
    try:
        run_worker(settings)  # until SIGTERM or Ctrl-C
    finally:
        stop.set()
        deliveries.join()


def _print_rows(rows: Sequence[Mapping[str, object]], json_output: bool, title: str) -> None:
    if json_output:
        console.print_json(data=rows)
        return
    table = Table(*(rows[0] if rows else ["id"]), title=title)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)
