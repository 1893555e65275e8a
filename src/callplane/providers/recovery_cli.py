"""``callplane reconcile``: provider accounts against the inventory, and stuck purchases settled."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from callplane.core import ids
from callplane.core.db import Database, create_db_engine
from callplane.providers.base import PROVIDER_NAMES
from callplane.providers.recovery import Reconciler
from callplane.providers.registry import Providers
from callplane.settings import get_settings


def reconcile(
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Only this workspace (ws_…).")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    adopt_orphans: Annotated[
        bool,
        typer.Option(
            "--adopt-orphans",
            help="Add numbers the provider holds but the inventory lacks, as imported.",
        ),
    ] = False,
    older_than: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Settle pending purchases older than this many seconds "
            "(default CALLPLANE_PURCHASE_RECOVERY_AFTER_SECONDS).",
        ),
    ] = None,
) -> None:
    """List each provider account's numbers against the inventory; settle stuck purchases.

    A pending purchase the provider completed is added as purchased (a delete then releases
    it); one it never completed is abandoned. Numbers held at the provider but missing here are
    reported (added with --adopt-orphans), as are numbers here the provider no longer holds.
    """
    console = Console()
    settings = get_settings()
    workspace_ids = None
    if workspace is not None:
        parsed = ids.parse("workspace", workspace)
        if parsed is None:
            console.print(f"[red]error[/red] workspace_not_found: {workspace}")
            raise typer.Exit(code=1)
        workspace_ids = [parsed]
    if provider is not None and provider not in PROVIDER_NAMES:
        console.print(f"[red]error[/red] provider: one of {', '.join(PROVIDER_NAMES)}")
        raise typer.Exit(code=1)
    age = settings.purchase_recovery_after_seconds if older_than is None else older_than
    database = Database(create_db_engine(settings.database_url, pool_size=2, max_overflow=2))
    try:
        reconciler = Reconciler(database, Providers(settings), intent_age=dt.timedelta(seconds=age))
        findings = reconciler.reconcile(
            workspace_ids,
            [provider] if provider else PROVIDER_NAMES,
            adopt=adopt_orphans,
        )
    finally:
        database.engine.dispose()
    if not findings:
        console.print("every provider account matches the inventory")
        return
    table = Table("workspace", "provider", "number", "finding")
    for f in findings:
        table.add_row(ids.render("workspace", f.workspace_id), f.provider, f.e164, f.kind)
    console.print(table)
