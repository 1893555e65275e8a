"""``callplane agents …``: list, show and create agents, over the API."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from callplane.client import AgentFields
from callplane.commands.numbers import COLUMNS as NUMBER_COLUMNS
from callplane.commands.output import (
    ApiKeyOption,
    Column,
    JsonOption,
    UrlOption,
    connect,
    console,
    show_list,
    show_one,
)

app = typer.Typer(help="Agents, through a running server's API.", no_args_is_help=True)

Direction = Literal["inbound", "outbound"]
COLUMNS: list[Column] = [
    ("id", lambda a: a.id),
    ("name", lambda a: a.name),
    ("type", lambda a: a.type),
    ("language", lambda a: a.language),
    ("primary number", lambda a: a.primary_number_id),
    ("strategy", lambda a: a.outbound_strategy),
    ("archived", lambda a: a.archived_at),
]


@app.command("list")
def list_agents(
    type: Annotated[Direction | None, typer.Option(help="Only agents of this type.")] = None,
    archived: Annotated[bool, typer.Option(help="Include archived agents.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List agents (every page, up to --limit)."""
    with connect(url, api_key) as client:
        agents = client.agents.list(type=type, include_archived=archived, limit=min(limit, 500))
        show_list(agents, COLUMNS, json_output=json_output, limit=limit, title="agents")


@app.command("show")
def show(
    agent: Annotated[str, typer.Argument(help="The agent id (agt_…).")],
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show an agent and its numbers."""
    with connect(url, api_key) as client:
        found = client.agents.get(agent)
        show_one(found, json_output=json_output)
        if not json_output:
            console.print()
            numbers = client.agents.list_numbers(agent, limit=500)
            show_list(numbers, NUMBER_COLUMNS, json_output=False, limit=1000, title="numbers")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name people recognise.")],
    type: Annotated[Direction, typer.Option(help="inbound answers calls, outbound places them.")],
    language: Annotated[str | None, typer.Option(help="e.g. en-US.")] = None,
    voice: Annotated[str | None, typer.Option(help="The voice's name.")] = None,
    stream_url: Annotated[str | None, typer.Option(help="Media WebSocket (wss://…).")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where events are posted.")] = None,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create an agent."""
    fields = AgentFields()
    if language:
        fields["language"] = language
    if voice:
        fields["voice"] = voice
    if stream_url:
        fields["stream_url"] = stream_url
    if webhook_url:
        fields["webhook_url"] = webhook_url
    with connect(url, api_key) as client:
        show_one(client.agents.create(name, type, **fields), json_output=json_output)
