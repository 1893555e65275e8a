"""``callplane numbers …``: the inventory and its assignments, over the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from callplane.client import Number
from callplane.commands.exit_codes import ExitCode
from callplane.commands.numbers_import import run_import
from callplane.commands.output import (
    ApiKeyOption,
    Column,
    JsonOption,
    UrlOption,
    connect,
    fail,
    show_list,
    show_one,
)

app = typer.Typer(help="Numbers, through a running server's API.", no_args_is_help=True)

Direction = Literal["inbound", "outbound"]
AgentOption = Annotated[str, typer.Option("--agent", help="The agent (agt_…).")]
DirectionOption = Annotated[
    Direction, typer.Option("--direction", help="inbound (answers) or outbound (calls from).")
]
COLUMNS: list[Column] = [
    ("e164", lambda n: n.e164),
    ("name", lambda n: n.friendly_name),
    ("country", lambda n: n.country_code),
    ("type", lambda n: n.number_type),
    ("status", lambda n: n.status),
    ("inbound agent", lambda n: n.inbound_agent_id),
    ("outbound agents", lambda n: n.outbound_agent_ids),
    ("id", lambda n: n.id),
]


@app.command("list")
def list_numbers(
    agent: Annotated[str | None, typer.Option(help="Only this agent's numbers.")] = None,
    assignment: Annotated[
        Literal["inbound", "outbound", "none"] | None, typer.Option(help="Assigned how.")
    ] = None,
    country: Annotated[str | None, typer.Option(help="ISO country, e.g. US.")] = None,
    q: Annotated[str | None, typer.Option(help="Search E.164, slug and name.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List numbers (every page, up to --limit)."""
    with connect(url, api_key) as client:
        numbers = client.numbers.list(
            agent_id=agent, assignment=assignment, country=country, q=q, limit=min(limit, 500)
        )
        show_list(numbers, COLUMNS, json_output=json_output, limit=limit, title="numbers")


@app.command("show")
def show(
    number: Annotated[str, typer.Argument(help="E.164, slug or id.")],
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show one number."""
    with connect(url, api_key) as client:
        show_one(client.numbers.get(number), json_output=json_output)


@app.command("assign")
def assign(
    number: Annotated[str, typer.Argument(help="E.164, slug or id.")],
    agent: AgentOption,
    direction: DirectionOption = "inbound",
    replace: Annotated[bool, typer.Option(help="Take it from its inbound agent.")] = False,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Give a number to an agent (inbound by default: that agent answers it)."""
    with connect(url, api_key) as client:
        result = client.numbers.assign(number, agent, assignment_type=direction, replace=replace)
        show_one(result, json_output=json_output)


@app.command("unassign")
def unassign(
    number: Annotated[str, typer.Argument(help="E.164, slug or id.")],
    direction: DirectionOption = "inbound",
    agent: Annotated[str | None, typer.Option(help="Only this agent's assignment.")] = None,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove a number's assignment(s) in one direction."""
    with connect(url, api_key) as client:
        show_one(
            client.numbers.unassign(number, direction, agent_id=agent), json_output=json_output
        )


@app.command("attach")
def attach(
    numbers: Annotated[list[str], typer.Argument(help="E.164s, slugs or ids.")],
    agent: AgentOption,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Attach numbers outbound to an agent (all or none; attached ones stay as they are)."""
    by_kind: dict[str, list[str]] = {"e164": [], "slug": [], "id": []}
    for reference in numbers:
        kind = "e164" if reference.startswith("+") else "slug" if reference.isdigit() else "id"
        by_kind[kind].append(reference)
    with connect(url, api_key) as client:
        result = client.agents.attach_numbers(
            agent,
            by_kind["e164"] or None,
            phone_number_slugs=by_kind["slug"] or None,
            number_ids=by_kind["id"] or None,
        )
    if json_output:
        show_one(result, json_output=True)
        return
    show_list(
        result.numbers, COLUMNS, json_output=False, limit=len(result.numbers), title="numbers"
    )
    typer.echo(f"{result.newly_attached} newly attached to {agent}")


@app.command("detach")
def detach(
    number: Annotated[str, typer.Argument(help="E.164, slug or id.")],
    agent: AgentOption,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Take a number from an agent, in both directions; the agent is shown after."""
    with connect(url, api_key) as client:
        show_one(client.agents.detach_number(agent, number), json_output=json_output)


@app.command("delete")
def delete(
    number: Annotated[str, typer.Argument(help="E.164, slug or id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Delete a number everywhere (a purchased one is released at its provider)."""
    if not yes:
        typer.confirm(f"Delete {number} from every agent and the inventory?", abort=True)
    with connect(url, api_key) as client:
        deleted: Number = client.numbers.delete(number)
    show_one(deleted, json_output=json_output)


@app.command("import")
def import_numbers(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of numbers.")],
    agent: Annotated[str | None, typer.Option(help="Give every number to this agent.")] = None,
    direction: DirectionOption = "outbound",
    report: Annotated[
        Path | None, typer.Option(help="Also write the rejected rows to this CSV.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Import a CSV (column e164, or the first column) in batches of 1,000; re-run to resume.

    Exits 0 when every row is in, 3 when some rows were rejected (listed with their line and
    reason); see `callplane --help` for the other codes.
    """
    if not api_key:
        fail(ExitCode.USAGE, "no API key: set CALLPLANE_API_KEY or pass --api-key")
    raise typer.Exit(code=int(run_import(url, api_key, file, agent, direction, report)))
