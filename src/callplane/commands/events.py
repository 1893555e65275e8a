"""``callplane events tail``: the latest changes, and with ``--follow`` each new one as it comes."""

from __future__ import annotations

import time
from itertools import islice
from typing import Annotated

import typer
from rich.table import Table

from callplane.client import Client, Event
from callplane.commands.output import ApiKeyOption, JsonOption, UrlOption, connect, console

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command("tail")
def tail(
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, help="How many to show first.")
    ] = 20,
    type: Annotated[str | None, typer.Option(help="Only events of this type.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new ones.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 2.0,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Print the latest events, oldest first; --follow polls for new ones until Ctrl-C."""
    with connect(url, api_key) as client:
        latest = list(islice(client.events.list(type=type, limit=min(count, 500)), count))
        _print(list(reversed(latest)), json_output)
        last = latest[0].id if latest else None
        try:
            while follow:
                time.sleep(interval)
                new = _newer_than(client, last, type)
                _print(new, json_output)
                last = new[-1].id if new else last
        except KeyboardInterrupt:
            return


def _newer_than(client: Client, last: str | None, type: str | None) -> list[Event]:
    """Events after ``last``, oldest first (ids are time-ordered: newest first in the log)."""
    new: list[Event] = []
    events = client.events.list(type=type, limit=100)
    for event in events if last is not None else islice(events, 100):
        if last is not None and event.id <= last:
            break
        new.append(event)
    return list(reversed(new))


def _print(events: list[Event], json_output: bool) -> None:
    if json_output:
        for event in events:  # one JSON object a line, so a script can read as they come
            typer.echo(event.model_dump_json())
        return
    if not events:
        return
    table = Table("time", "type", "resources", "request", "key", box=None)
    for e in events:
        table.add_row(
            e.created_at.isoformat(timespec="seconds"),
            e.type,
            ", ".join(e.resource_ids),
            e.request_id or "-",
            e.actor_key_id or "-",
        )
    console.print(table)
