"""Browser tests: Debian's Chromium, driven by Playwright, against a live ``callplane serve``.

One server per database for the whole module (starting one costs a second or two); each test
makes its own workspaces, so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import text

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine
from callplane.numbers import ownership
from callplane.workspaces.service import create_workspace
from tests.conftest import TABLES
from tests.helpers import SECRET
from tests.live_server import live_server

CHROMIUM = os.environ.get("CALLPLANE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    """A live server and its database, to make workspaces in."""

    name: str
    base_url: str
    database: Database
    log_path: Path

    def workspace(self, name: str) -> Workspace:
        with self.database.transaction() as session:
            workspace, issued = create_workspace(session, name, SECRET)
        workspace_id = ids.render("workspace", workspace.id)
        return Workspace(self, workspace_id, issued.record.id, issued.plaintext)


@dataclass
class Workspace:
    site: Site
    id: str
    key_id: Any
    key: str

    def api(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx2.request(
            method,
            self.site.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        assert response.status_code < 300, response.text
        return response.json()["data"]

    def agent(self, type_: str, name: str, **fields: Any) -> dict[str, Any]:
        return dict(self.api("POST", "/v1/agents", {"name": name, "type": type_, **fields}))

    def numbers(self, *e164s: str) -> None:
        self.api("POST", "/v1/numbers/batch", {"numbers": [{"e164": e} for e in e164s]})

    def verify(self, e164: str) -> None:
        """The operator vouches for a number: usable as caller ID (numbers.ownership)."""
        workspace_id = ids.parse("workspace", self.id)
        assert workspace_id is not None
        with self.site.database.transaction() as session:
            row = ownership.workspace_number(session, workspace_id, e164)
            assert row is not None
            ownership.verify(session, Actor(workspace_id, None, None), row, "operator")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API holds an event loop open while it
    runs, which would break the later tests that start their own (``asyncio.run``)."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        path = folder / "callplane.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(create_db_engine(url, pool_size=2))
    if request.param == "postgresql":
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    log_path = folder / "server.log"
    with live_server(url, log_path) as base_url:
        yield Site(request.param, base_url, database, log_path)
    database.engine.dispose()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
