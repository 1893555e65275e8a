"""A CSV import started on one server is followed, and its report downloaded, on another.

Two ``callplane serve`` processes share one PostgreSQL, as behind a load balancer: the job's
progress and report live in the database, so the server that did not run it shows them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from callplane.core import ids
from callplane.core.db import Database, create_db_engine, utcnow
from callplane.dashboard.imports import STALLED_AFTER
from callplane.dashboard.models import ImportJob
from tests.dashboard.conftest import Site
from tests.dashboard.people import accessible, fresh_numbers, sign_in
from tests.live_server import live_server


@pytest.fixture
def two_sites(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    database = Database(create_db_engine(postgres_url, pool_size=2))
    with (
        live_server(postgres_url, tmp_path / "one.log") as one,
        live_server(postgres_url, tmp_path / "two.log") as two,
    ):
        yield (
            Site("postgresql", one, database, tmp_path / "one.log"),
            Site("postgresql", two, database, tmp_path / "two.log"),
        )
    database.engine.dispose()


def test_an_import_uploaded_to_one_server_is_followed_on_another(
    browser: Browser, two_sites: tuple[Site, Site], tmp_path: Path
) -> None:
    one, two = two_sites
    ws, other = one.workspace("two-servers"), one.workspace("two-servers-other")
    good = fresh_numbers(2500)
    csv_file = tmp_path / "numbers.csv"
    csv_file.write_text(
        "e164\n" + "\n".join(good[:1200]) + "\nnot a number\n" + "\n".join(good[1200:]) + "\n"
    )
    context = browser.new_context(base_url=one.base_url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, ws.key)
    page.goto("/imports/new")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    with page.expect_response(lambda r: r.url.endswith("/imports") and r.status == 303) as sent:
        page.get_by_role("button", name="Import", exact=True).click()
    job_path = sent.value.headers["location"]

    page.goto(two.base_url + job_path)  # the same browser, the other server
    expect(page.get_by_role("status")).to_contain_text(
        "Done: 2,501 rows, 2,500 imported, 0 already in this workspace, 1 rejected",
        timeout=120_000,  # the page refreshes itself each second while the job runs
    )
    accessible(page)
    expect(page.locator("table tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "line,value,code,reason"
    assert lines[1].startswith("1202,not a number,invalid_phone_number,")
    page.goto(two.base_url + "/numbers")
    expect(page.locator("h1 .count")).to_have_text("2,500 numbers")
    context.close()

    stranger = browser.new_context(base_url=two.base_url)
    snoop = stranger.new_page()
    sign_in(snoop, other.key)
    assert snoop.goto(two.base_url + job_path).status == 404  # type: ignore[union-attr]
    assert snoop.request.get(two.base_url + job_path + "/rejected.csv").status == 404
    stranger.close()


def test_an_import_whose_server_stopped_says_so(
    browser: Browser, two_sites: tuple[Site, Site]
) -> None:
    one, _ = two_sites
    ws = one.workspace("stalled")
    workspace_id = ids.parse("workspace", ws.id)
    assert workspace_id is not None
    long_ago = utcnow() - STALLED_AFTER - dt.timedelta(seconds=5)
    recently = utcnow()
    with one.database.transaction() as session:
        for job_id, seen in (("stalled-job", long_ago), ("running-job", recently)):
            session.add(
                ImportJob(
                    id=job_id,
                    workspace_id=workspace_id,
                    filename="big.csv",
                    state="running",
                    done=3000,
                    total=9000,
                    created_at=long_ago,
                    updated_at=seen,
                )
            )
    context = browser.new_context(base_url=one.base_url)
    page = context.new_page()
    sign_in(page, ws.key)
    page.goto("/imports/running-job")
    expect(page.get_by_role("status")).to_contain_text("Importing… 3,000 of 9,000 rows")
    page.goto("/imports/stalled-job")
    expect(page.get_by_role("alert")).to_contain_text("No progress for over 5 minutes")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    accessible(page)
    context.close()
