"""``callplane webhooks …``: endpoints that receive the workspace's events, over the API."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from callplane.client import WebhookEndpointChanges
from callplane.commands.output import (
    ApiKeyOption,
    Column,
    JsonOption,
    UrlOption,
    connect,
    console,
    errors,
    show_list,
    show_one,
)

app = typer.Typer(help="Webhook endpoints and their deliveries.", no_args_is_help=True)

Status = Literal["pending", "succeeded", "failed"]
EndpointArgument = Annotated[str, typer.Argument(help="The endpoint id (we_…).")]
EventTypesOption = Annotated[
    list[str] | None,
    typer.Option("--event-type", help="An event type to send (repeat it); default every type."),
]
COLUMNS: list[Column] = [
    ("id", lambda e: e.id),
    ("url", lambda e: e.url),
    ("event types", lambda e: e.event_types),
    ("enabled", lambda e: e.enabled),
    ("disabled because", lambda e: e.disabled_reason),
    ("secret", lambda e: e.secret_hint),
]
DELIVERY_COLUMNS: list[Column] = [
    ("id", lambda d: d.id),
    ("event", lambda d: d.event_type),
    ("status", lambda d: d.status),
    ("attempts", lambda d: d.attempts),
    ("answer", lambda d: d.response_status),
    ("ms", lambda d: d.latency_ms),
    ("error", lambda d: d.last_error),
    ("next attempt", lambda d: d.next_attempt_at),
]


@app.command("list")
def list_endpoints(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """List the workspace's webhook endpoints."""
    with connect(url, api_key) as client:
        found = client.webhook_endpoints.list(limit=min(limit, 500))
        show_list(found, COLUMNS, json_output=json_output, limit=limit, title="endpoints")


@app.command("show")
def show(
    endpoint: EndpointArgument,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show one endpoint (its secret only as a hint)."""
    with connect(url, api_key) as client:
        show_one(client.webhook_endpoints.get(endpoint), json_output=json_output)


@app.command("create")
def create(
    endpoint_url: Annotated[str, typer.Argument(help="Where to post events (https://…).")],
    event_type: EventTypesOption = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="Send at once.")] = True,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Create an endpoint and print its signing secret, shown this once."""
    with connect(url, api_key) as client:
        issued = client.webhook_endpoints.create(
            endpoint_url, event_types=event_type, description=description, enabled=enabled
        )
    show_one(issued, json_output=json_output)
    if not json_output:
        errors.print("Keep the secret now: it is not shown again (rotate-secret issues a new one).")


@app.command("update")
def update(
    endpoint: EndpointArgument,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="A new URL.")] = None,
    event_type: EventTypesOption = None,
    description: Annotated[str | None, typer.Option(help="A new note ('' clears it).")] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn sending on or off.")
    ] = None,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Change an endpoint's URL, event types, description, or turn it on or off."""
    changes = WebhookEndpointChanges()
    if endpoint_url is not None:
        changes["url"] = endpoint_url
    if event_type:
        changes["event_types"] = event_type
    if description is not None:
        changes["description"] = description or None
    if enabled is not None:
        changes["enabled"] = enabled
    with connect(url, api_key) as client:
        show_one(client.webhook_endpoints.update(endpoint, **changes), json_output=json_output)


@app.command("delete")
def delete(
    endpoint: EndpointArgument,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Delete an endpoint and its delivery log."""
    with connect(url, api_key) as client:
        deleted = client.webhook_endpoints.delete(endpoint)
    console.print(f"deleted {deleted.id}")


@app.command("rotate-secret")
def rotate_secret(
    endpoint: EndpointArgument,
    overlap_seconds: Annotated[
        int | None,
        typer.Option(min=0, help="How long the old secret keeps signing [server: 86400]."),
    ] = None,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Issue a new signing secret (printed once); the old one signs beside it for a while."""
    with connect(url, api_key) as client:
        issued = client.webhook_endpoints.rotate_secret(endpoint, overlap_seconds=overlap_seconds)
    show_one(issued, json_output=json_output)


@app.command("deliveries")
def deliveries(
    endpoint: EndpointArgument,
    status: Annotated[Status | None, typer.Option(help="Only deliveries in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """The endpoint's delivery log, newest first."""
    with connect(url, api_key) as client:
        found = client.webhook_endpoints.list_deliveries(
            endpoint, status=status, limit=min(limit, 500)
        )
        show_list(found, DELIVERY_COLUMNS, json_output=json_output, limit=limit, title="deliveries")


@app.command("redeliver")
def redeliver(
    endpoint: EndpointArgument,
    delivery: Annotated[str, typer.Argument(help="The delivery id (whd_…).")],
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Send one delivery's event again."""
    with connect(url, api_key) as client:
        show_one(client.webhook_endpoints.redeliver(endpoint, delivery), json_output=json_output)


@app.command("redeliver-failed")
def redeliver_failed(
    endpoint: EndpointArgument,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Queue every failed delivery of the endpoint again."""
    with connect(url, api_key) as client:
        count = client.webhook_endpoints.redeliver_failed(endpoint)
    console.print(f"{count} deliveries queued again")


@app.command("event-types")
def event_types(
    json_output: JsonOption = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Every event type an endpoint can subscribe to."""
    with connect(url, api_key) as client:
        found = client.webhook_endpoints.event_types()
    columns: list[Column] = [("type", lambda t: t.type), ("description", lambda t: t.description)]
    show_list(found, columns, json_output=json_output, limit=len(found) or 1, title="event types")
