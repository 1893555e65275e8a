"""How commands print: rich tables for people, ``--json`` for scripts, errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from callplane.client import APIError, Client, TransportError
from callplane.commands.exit_codes import ExitCode

console = Console()
errors = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="CALLPLANE_URL", help="The server [default: http://127.0.0.1:8080]."
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="CALLPLANE_API_KEY", show_default=False, help="An API key."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

Column = tuple[str, Callable[[Any], object]]


def fail(code: ExitCode, message: str) -> NoReturn:
    errors.print(f"[red]error[/red] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=int(code))


@contextmanager
def connect(url: str | None, api_key: str | None) -> Iterator[Client]:
    """A client for one command; its errors become a clear message and an exit code."""
    if not api_key:
        fail(ExitCode.USAGE, "no API key: set CALLPLANE_API_KEY or pass --api-key")
    try:
        with Client(url, api_key) as client:
            yield client
    except TransportError as exc:
        fail(ExitCode.UNREACHABLE, f"{exc.message} (is `callplane serve` running there?)")
    except APIError as exc:
        fail(ExitCode.ERROR, f"{exc.code}: {exc.message} (request {exc.request_id})")


def as_json(value: BaseModel | Sequence[BaseModel]) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return json.dumps([item.model_dump(mode="json") for item in value], indent=2)


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def show_list(
    items: Iterable[Any], columns: Sequence[Column], *, json_output: bool, limit: int, title: str
) -> None:
    """At most ``limit`` items as a table (or JSON), saying when more were left out."""
    taken: list[Any] = []
    for item in items:
        if len(taken) == limit:
            if not json_output:
                errors.print(f"(more than {limit} {title}: raise --limit to see them)")
            break
        taken.append(item)
    if json_output:
        console.print_json(as_json(taken))
        return
    table = Table(*(name for name, _ in columns), title=f"{len(taken)} {title}")
    for item in taken:
        table.add_row(*(cell(get(item)) for _, get in columns))
    console.print(table)


def show_one(item: BaseModel, *, json_output: bool) -> None:
    """One resource as a two-column table of its fields (or JSON)."""
    if json_output:
        console.print_json(as_json(item))
        return
    table = Table("field", "value", show_header=False)
    for name, value in item.model_dump(mode="json").items():
        table.add_row(name, cell(value) if not isinstance(value, dict) else json.dumps(value))
    console.print(table)
