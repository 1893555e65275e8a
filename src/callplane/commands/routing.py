"""``callplane route …``: ask the routing questions a call asks, to check a setup by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from callplane.commands.output import ApiKeyOption, JsonOption, UrlOption, connect, show_one

app = typer.Typer(help="Call routing, as the media plane asks it.", no_args_is_help=True)


@app.command("inbound")
def inbound(
    to: Annotated[str, typer.Argument(help="The dialed number, E.164.")],
    caller: Annotated[str | None, typer.Option("--from", help="The caller, E.164.")] = None,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Which agent answers a call to this number, and why."""
    with connect(url, api_key) as client:
        show_one(client.routing.resolve_inbound(to, caller=caller), json_output=json_output)


@app.command("outbound")
def outbound(
    agent: Annotated[str, typer.Argument(help="The calling agent (agt_…).")],
    to: Annotated[str, typer.Argument(help="The number it calls, E.164.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide, but count no use.")] = False,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Which number the agent's call goes out from (counted as a call, unless --dry-run)."""
    with connect(url, api_key) as client:
        selection = client.routing.select_caller_id(agent, to, dry_run=dry_run)
        show_one(selection, json_output=json_output)
