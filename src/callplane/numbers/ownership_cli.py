"""``callplane verify-number``: the operator vouches that a workspace owns a number.

For numbers no provider integration can prove (a SIP trunk, a carrier without an API): the
operator checks ownership out of band (an invoice, a letter of authorisation) and says so with
an explicit flag. The audit log of the workspace records ``number.verified`` by ``operator``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.core.errors import DomainError, not_found
from callplane.core.phone import parse_e164
from callplane.numbers import ownership
from callplane.settings import get_settings


def verify_number(
    e164: Annotated[str, typer.Argument(help="The number, E.164.")],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id (ws_…).")],
    ownership_checked: Annotated[
        bool,
        typer.Option(
            "--ownership-checked",
            help="Required: you checked that this workspace owns the number.",
        ),
    ] = False,
) -> None:
    """Mark a workspace's number as verified, so it may be used as caller ID."""
    console = Console()
    if not ownership_checked:
        console.print(
            "[red]error[/red] check that the workspace owns the number (an invoice, a letter of "
            "authorisation), then repeat with --ownership-checked"
        )
        raise typer.Exit(code=1)
    settings = get_settings()
    database = Database(create_db_engine(settings.database_url, pool_size=1))
    try:
        workspace_id = ids.parse("workspace", workspace)
        if workspace_id is None:
            raise not_found("workspace", workspace)
        parsed = parse_e164(e164, "e164")
        with database.transaction() as session:
            number = ownership.workspace_number(session, workspace_id, parsed.e164)
            if number is None:
                raise not_found("number", parsed.e164)
            ownership.verify(session, Actor(workspace_id, None, None), number, "operator")
    except DomainError as exc:
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        raise typer.Exit(code=1) from exc
    finally:
        database.engine.dispose()
    console.print(f"{parsed.e164} is verified for {workspace}")
