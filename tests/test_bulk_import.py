"""``callplane numbers import``: batches over the HTTP API, rejected rows with line and reason,
and a re-run that resumes instead of starting over."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from callplane.cli import app
from callplane.client import Client, NotFound, TransportError
from tests.client_support import InProcessTransport, client_for
from tests.helpers import Backend, Tenant
from tests.live_server import live_server

BAD = [  # (number, monthly_cost_cents, the code it is rejected with)
    ("not-a-number", "", "invalid_phone_number"),
    ("+1", "", "invalid_phone_number"),
    ("", "", "missing_number"),
    ("+1202555abcd", "", "invalid_phone_number"),
    ("+13055550142", "1.5", "invalid_monthly_cost"),
]


def write_csv(path: Path, count: int, bad_every: int = 100, seed: int = 3) -> dict[int, str]:
    """``count`` rows after a header; every ``bad_every``-th row is bad. Returns {line: code}."""
    rng = random.Random(seed)
    seen: set[str] = set()
    bad: dict[int, str] = {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["e164", "friendly_name", "monthly_cost_cents"])
        for i in range(count):
            line = i + 2
            if i % bad_every == bad_every - 1:
                number, cost, code = BAD[(i // bad_every) % len(BAD)]
                writer.writerow([number, "bad", cost])
                bad[line] = code
                continue
            number = ""
            while not number or number in seen:
                number = f"+1{rng.choice((212, 305, 415))}{rng.randint(2000000, 9999999)}"
            seen.add(number)
            writer.writerow([number, f"line {line}", "115"])
    return bad


@pytest.fixture
def client(tenant: Tenant) -> Client:
    return client_for(tenant)


def test_two_thousand_rows_with_one_percent_bad(
    tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "numbers.csv"
    bad = write_csv(path, 2000)
    assert len(bad) == 20
    seen: list[tuple[int, int]] = []
    report = client.numbers.import_csv(
        path, on_progress=lambda done, total: seen.append((done, total))
    )
    assert report.imported == 1980 and report.already_present == 0
    assert {r.line: r.code for r in report.rejected} == bad
    assert all(r.reason for r in report.rejected)
    # Progress counts rows of the file, rejected ones included, batch after batch.
    assert seen[0] == (0, 2000) and seen[-1] == (2000, 2000)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert 1000 < seen[1][0] < 1020  # the first 1,000 good rows and the bad among them
    summary = tenant.get("/v1/numbers/summary").json()["data"]
    assert summary["total"] == 1980 and summary["monthly_cost_cents"] == 1980 * 115
    # Rows were rejected, so the progress file stays: re-running the finished file sends
    # nothing and reports the same rejected rows.
    assert (tmp_path / "numbers.csv.progress").exists()
    again = client.numbers.import_csv(path)
    assert again.imported == 0 and again.skipped_by_progress == 1980
    assert {r.line: r.code for r in again.rejected} == bad


def test_a_fully_successful_import_leaves_no_progress_file(
    tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "import" / "numbers.csv"
    path.parent.mkdir()
    path.write_text("e164\n+12125550120\n+12125550121\n+12125550122\n")
    seen: list[tuple[int, int]] = []
    report = client.numbers.import_csv(
        path, batch_size=2, on_progress=lambda done, total: seen.append((done, total))
    )
    assert report.imported == 3 and not report.rejected
    assert seen == [(0, 3), (2, 3), (3, 3), (3, 3)]
    assert list(path.parent.iterdir()) == [path]


class GoneAfter(InProcessTransport):
    """The app in process, until it goes away after ``batches`` batch requests."""

    def __init__(self, tenant: Tenant, batches: int) -> None:
        super().__init__(tenant.client)
        self.left = batches

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/numbers/batch":
            self.left -= 1
            if self.left < 0:
                raise httpx2.ConnectError("connection refused", request=request)
        return super().handle_request(request)


def test_an_interrupted_import_resumes_where_it_stopped(
    tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    path = tmp_path / "numbers.csv"
    bad = write_csv(path, 600, bad_every=50)
    gone = Client("http://testserver", tenant.key, transport=GoneAfter(tenant, 2), max_retries=0)
    with pytest.raises(TransportError):
        gone.numbers.import_csv(path, batch_size=200)  # 2 batches in, then gone
    resumed = client.numbers.import_csv(path, batch_size=200)
    assert resumed.skipped_by_progress > 0
    assert {r.line: r.code for r in resumed.rejected} == bad
    assert tenant.get("/v1/numbers/summary").json()["data"]["total"] == 600 - len(bad)
    # Without the progress file the server's answers alone make a re-run harmless.
    (tmp_path / "numbers.csv.progress").unlink()
    fresh = client.numbers.import_csv(path, batch_size=200)
    assert fresh.imported == 0 and fresh.already_present == 600 - len(bad)
    assert {r.line: r.code for r in fresh.rejected} == bad


def test_a_number_of_another_workspace_is_rejected_and_numbers_go_to_the_agent(
    tenant: Tenant, other_tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    other_tenant.number("+12125550111")
    agent = tenant.agent("outbound", "Dialer")
    path = tmp_path / "few.csv"
    path.write_text(
        "e164,friendly_name\n+12125550110,a\n+12125550111,b\n+12125550112,c\n"
        f"+12125550113,{'x' * 201}\n+12125550110,again\n"
    )
    report = client.numbers.import_csv(path, agent_id=agent["id"])
    assert report.imported == 2 and report.attached == 2
    assert [(r.line, r.code) for r in report.rejected] == [
        (3, "number_not_available"),  # found by the server
        (5, "string_too_long"),  # refused by the server's request validation
        (6, "duplicate_in_file"),  # found before sending
    ]
    assert report.rejected[0].reason == "this number is not available"
    assert "line 2" in report.rejected[2].reason
    listed = tenant.get("/v1/numbers", params={"agent_id": agent["id"]}).json()["data"]
    assert sorted(n["e164"] for n in listed) == ["+12125550110", "+12125550112"]
    with pytest.raises(NotFound) as unknown:
        client.numbers.import_csv(path, agent_id="agt_unknown", resume=False)
    assert unknown.value.code == "agent_not_found"


def test_the_cli_imports_over_http_and_reports_rejected_rows(
    backend: Backend, tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "numbers.csv"
    bad = write_csv(path, 300, bad_every=50)
    agent = tenant.agent("inbound", "Desk")
    rejected_csv = tmp_path / "rejected.csv"
    with live_server(backend.url, tmp_path / "server.log") as base_url:
        result = CliRunner().invoke(
            app,
            [
                "numbers",
                "import",
                str(path),
                "--agent",
                agent["id"],
                "--direction",
                "inbound",
                "--report",
                str(rejected_csv),
            ],
            env={"CALLPLANE_URL": base_url, "CALLPLANE_API_KEY": tenant.key},
        )
    assert result.exit_code == 3, result.output
    assert "294 imported" in result.output and "6 rejected" in result.output
    with rejected_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {int(r["line"]): r["code"] for r in rows} == bad
    summary = tenant.get("/v1/numbers/summary").json()["data"]
    assert summary["total"] == 294 and summary["by_assignment"]["inbound"] == 294
