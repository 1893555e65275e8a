"""Small typed helpers that build test data through the public API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from callplane.app import create_app
from callplane.commands import output
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.numbers import ownership
from callplane.settings import Settings
from callplane.workspaces.service import create_workspace

SECRET = "test-secret-key"


@dataclass
class Backend:
    name: str
    url: str
    database: Database


@dataclass
class Tenant:
    """One workspace, its API key, and a client that sends that key."""

    backend: Backend
    client: TestClient
    workspace_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.get(path, headers=self.auth, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx2.Response:
        return self.client.post(path, json=body, headers=self.auth, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> httpx2.Response:
        return self.client.put(path, json=body, headers=self.auth, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> httpx2.Response:
        return self.client.patch(path, json=body, headers=self.auth, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.delete(path, headers=self.auth, **kwargs)

    def agent(self, type_: str = "outbound", name: str = "Agent", **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/agents", {"name": name, "type": type_, **fields})
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])

    def number(self, e164: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/numbers", {"e164": e164, **fields})
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])

    def verified_number(self, e164: str, **fields: Any) -> dict[str, Any]:
        """A number imported by hand and vouched for by the operator: usable as caller ID."""
        number = self.number(e164, **fields)
        workspace_id = ids.parse("workspace", self.workspace_id)
        assert workspace_id is not None
        with self.backend.database.transaction() as session:
            row = ownership.workspace_number(session, workspace_id, number["e164"])
            assert row is not None
            ownership.verify(session, Actor(workspace_id, None, None), row, "operator")
        return {**number, "verified_by": "operator"}

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        params = {"type": type_} if type_ else {}
        response = self.get("/v1/events", params=params)
        assert response.status_code == 200, response.text
        return list(response.json()["data"])


def settings_for(backend: Backend) -> Settings:
    return Settings(
        database_url=backend.url,
        secret_key=SECRET,  # type: ignore[arg-type]
        release_worker=False,  # tests drive the release worker themselves
        webhooks_worker=False,  # and the webhook delivery worker
    )


def make_client(backend: Backend) -> TestClient:
    app = create_app(settings_for(backend), backend.database)
    return TestClient(app, raise_server_exceptions=False)


def make_tenant(backend: Backend, client: TestClient, name: str) -> Tenant:
    with backend.database.transaction() as session:
        workspace, issued = create_workspace(session, name, SECRET)
    return Tenant(backend, client, ids.render("workspace", workspace.id), issued.plaintext)


def error_code(response: httpx2.Response) -> str:
    return str(response.json()["error"]["code"])


@contextmanager
def wide_cli_tables() -> Iterator[None]:
    """Print the CLI's tables 250 columns wide, so that no id is cut short with an ellipsis.

    Rich fixes a console's width when ``callplane.commands.output`` is imported, from
    ``COLUMNS`` if it is set (pytest-xdist's workers set it to 80): a ``COLUMNS`` handed to
    ``CliRunner`` later changes nothing.
    """
    widths = output.console.width, output.errors.width
    output.console.width = output.errors.width = 250
    try:
        yield
    finally:
        output.console.width, output.errors.width = widths
