"""The ``callplane`` command: serve, migrate, workspaces and keys, release worker, CSV import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.core.errors import DomainError, not_found
from callplane.core.migrate import upgrade
from callplane.core.server import BoundedHttpToolsProtocol
from callplane.numbers.bulk_import_cli import run_import
from callplane.providers.releases import run_worker
from callplane.settings import Settings, get_settings
from callplane.workspaces import service as workspaces

app = typer.Typer(help="callplane: phone numbers for voice-AI agents.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
numbers_app = typer.Typer(
    help="Numbers, through a running server's HTTP API.", no_args_is_help=True
)
app.add_typer(numbers_app, name="numbers")
console = Console()


@contextmanager
def _transaction(settings: Settings) -> Iterator[Session]:
    """One unit of work on a short-lived engine, disposed so no connection outlives the command."""
    database = Database(create_db_engine(settings.database_url, pool_size=1))
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.engine.dispose()


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]error[/red] {exc.code}: {exc.message}")
    return typer.Exit(code=1)


@app.command()
def migrate() -> None:
    """Apply the database migrations (SQLite or PostgreSQL, from DATABASE_URL)."""
    upgrade(get_settings().database_url)
    console.print("database is at the latest schema")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    run_migrations: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Serve the API; on the very first start, create the default workspace and show its key."""
    settings = get_settings()
    if run_migrations:
        upgrade(settings.database_url)
    bootstrap = (
        settings.bootstrap_api_key.get_secret_value() if settings.bootstrap_api_key else None
    )
    with _transaction(settings) as session:
        created = workspaces.ensure_default_workspace(
            session, settings.secret_key.get_secret_value(), bootstrap
        )
    if created is not None:
        workspace, issued = created
        console.print(f"Created workspace [bold]{ids.render('workspace', workspace.id)}[/bold].")
        if bootstrap:
            console.print("Its first API key is the one given in CALLPLANE_BOOTSTRAP_API_KEY.")
        else:
            console.print("Its API key, shown this once and stored only as a hash:")
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
        with _transaction(settings) as session:
            workspace, issued = workspaces.create_workspace(
                session, name, settings.secret_key.get_secret_value()
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"workspace_id: {ids.render('workspace', workspace.id)}")
    console.print(f"api_key: {issued.plaintext}", soft_wrap=True)


@key_app.command("create")
def key_create(
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id (ws_…).")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
) -> None:
    """Create an API key for a workspace; the key is printed once."""
    settings = get_settings()
    workspace_id = ids.parse("workspace", workspace)
    try:
        if workspace_id is None:
            raise not_found("workspace", workspace)
        with _transaction(settings) as session:
            issued = workspaces.create_key(
                session,
                Actor(workspace_id, None, None),
                name,
                settings.secret_key.get_secret_value(),
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"key_id: {ids.render('api_key', issued.record.id)}")
    console.print(f"api_key: {issued.plaintext}", soft_wrap=True)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke an API key by its id (key_…); requests with it get 401 from now on."""
    settings = get_settings()
    parsed = ids.parse("api_key", key_id)
    try:
        if parsed is None:
            raise not_found("api_key", key_id)
        with _transaction(settings) as session:
            workspaces.revoke_key(session, parsed)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"revoked {key_id}")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Work the due releases once, then exit.")] = False,
) -> None:
    """Release deleted numbers at their providers (for deployments that run it apart)."""
    settings = get_settings()
    done = run_worker(settings, once=once)
    if once:
        console.print(f"{done} release(s) attempted")


@numbers_app.command("import")
def numbers_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of numbers.")],
    agent: Annotated[str | None, typer.Option(help="Give every number to this agent.")] = None,
    direction: Annotated[
        str, typer.Option(help="outbound (attach) or inbound (assign).")
    ] = "outbound",
    url: Annotated[str, typer.Option(envvar="CALLPLANE_URL")] = "http://127.0.0.1:8080",
    api_key: Annotated[str, typer.Option(envvar="CALLPLANE_API_KEY", show_default=False)] = "",
    report: Annotated[
        Path | None, typer.Option(help="Also write the rejected rows to this CSV.")
    ] = None,
) -> None:
    """Import a CSV (column e164, or the first column) in batches of 1,000; re-run to resume.

    Exits 0 when every row is in, 2 when some rows were rejected (listed with their line and
    reason), 1 when the import could not go on.
    """
    if direction not in ("outbound", "inbound"):
        console.print("[red]error[/red] --direction must be outbound or inbound")
        raise typer.Exit(code=1)
    if not api_key:
        console.print("[red]error[/red] set CALLPLANE_API_KEY (or --api-key)")
        raise typer.Exit(code=1)
    raise typer.Exit(code=run_import(console, url, api_key, file, agent, direction, report))
