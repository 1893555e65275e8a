"""``callplane numbers import FILE.csv``: a client of the HTTP API, not of the database.

It sends the file through ``POST /v1/numbers/batch`` in batches of 1,000, so the server checks
every rule exactly as for any other client. A refused batch (all or nothing on the server)
names each bad item by index; those rows are set aside with their CSV line and reason and the
rest of the batch is sent again. Resuming is safe twice over: a progress file next to the CSV
records how many rows are settled, and a row the server reports as ``number_already_exists``
(in *this* workspace) counts as done: a re-run after a crash in the middle of a batch. A number
another workspace holds is ``number_not_available``, named one per batch: that row is rejected
and the rest sent again (the server limits how often it says so, see numbers.ownership).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from callplane.core.errors import DomainError
from callplane.core.phone import parse_e164
from callplane.numbers.csv_encoding import UnreadableCsv, read_text
from callplane.numbers.ownership import UNAVAILABLE_PER_HOUR

BATCH = 1000
# A round per number held elsewhere (the server names one per answer), up to its hourly limit.
MAX_ROUNDS = UNAVAILABLE_PER_HOUR + 5
NUMBER_COLUMNS = ("e164", "phone_number", "number")
_INDEX = re.compile(r"^numbers\[(\d+)\]")


class Response(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Http(Protocol):
    """The part of ``httpx.Client`` this uses; tests pass the app's own test client."""

    def get(self, url: str) -> Response: ...

    def post(self, url: str, *, json: Any = ...) -> Response: ...

    def put(self, url: str, *, json: Any = ...) -> Response: ...


class BulkImportError(Exception):
    """The import cannot go on (bad key, unknown agent, server down); progress is kept."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    e164: str
    friendly_name: str | None = None
    monthly_cost_cents: int | None = None

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {"e164": self.e164}
        if self.friendly_name:
            item["friendly_name"] = self.friendly_name
        if self.monthly_cost_cents is not None:
            item["monthly_cost_cents"] = self.monthly_cost_cents
        return item


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    value: str
    code: str
    reason: str


@dataclass
class Report:
    rows: int = 0
    imported: int = 0
    already_present: int = 0
    attached: int = 0
    skipped_by_progress: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    seconds: float = 0.0


def read_rows(path: Path) -> tuple[list[Row], list[Rejected]]:
    """Rows of the CSV with their line numbers; a header names the columns, else column 1.

    Raises UnreadableCsv, naming the line, for a file that is not CSV text (see csv_encoding).

    Numbers are checked here with the server's own parser (``callplane.core.phone``), so a
    batch is refused on the server only in rare cases (a number someone else imported).
    """
    rows: list[Row] = []
    rejected: list[Rejected] = []
    first_line: dict[str, int] = {}
    content, _ = read_text(path)
    reader = csv.reader(io.StringIO(content, newline=""))
    columns: dict[str, int] = {"e164": 0}
    line = 0
    try:
        for record in reader:
            line = reader.line_num
            if not record or not any(cell.strip() for cell in record):
                continue
            names = [cell.strip().lower() for cell in record]
            if line == 1 and any(name in NUMBER_COLUMNS for name in names):
                number = next(names.index(n) for n in NUMBER_COLUMNS if n in names)
                columns = {"e164": number} | {
                    n: names.index(n) for n in ("friendly_name", "monthly_cost_cents") if n in names
                }
                continue
            row = _row(line, record, columns)
            if isinstance(row, Row) and row.e164 in first_line:
                row = Rejected(
                    line,
                    row.e164,
                    "duplicate_in_file",
                    f"same number as line {first_line[row.e164]}",
                )
            if isinstance(row, Rejected):
                rejected.append(row)
            else:
                first_line[row.e164] = line
                rows.append(row)
    except csv.Error as exc:
        raise UnreadableCsv(_csv_problem(line + 1, exc)) from exc  # where the bad record began
    return rows, rejected


def _csv_problem(line: int, exc: csv.Error) -> str:
    """A message for a record the csv module could not read (it starts on ``line``)."""
    if "field larger than field limit" in str(exc):
        limit_kb = csv.field_size_limit() // 1024
        return (
            f"line {line}: a field is longer than {limit_kb} KB (an unclosed quote, or not a "
            "CSV of phone numbers)"
        )
    return f"line {line}: not readable as CSV ({exc})"


def _row(line: int, record: list[str], columns: dict[str, int]) -> Row | Rejected:
    def cell(name: str) -> str:
        index = columns.get(name)
        return record[index].strip() if index is not None and index < len(record) else ""

    text = cell("e164")
    if not text:
        return Rejected(line, "", "missing_number", "no phone number in this row")
    try:
        e164 = parse_e164(text, "e164").e164
    except DomainError as exc:
        return Rejected(line, text, exc.code, exc.message)
    cost_text = cell("monthly_cost_cents")
    cost = None
    if cost_text:
        if not cost_text.isdigit():
            return Rejected(
                line, text, "invalid_monthly_cost", f"monthly_cost_cents {cost_text!r} is not cents"
            )
        cost = int(cost_text)
    return Row(line, e164, cell("friendly_name") or None, cost)


class Progress:
    """How many rows of this exact file are settled, and what was rejected among them."""

    def __init__(self, csv_path: Path) -> None:
        self.path = csv_path.with_name(csv_path.name + ".progress")
        stat = csv_path.stat()
        self.signature = f"{stat.st_size}:{int(stat.st_mtime)}"
        self.done = 0
        self.rejected: list[Rejected] = []
        if self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
            except ValueError:
                saved = {}
            if saved.get("signature") == self.signature:
                self.done = int(saved.get("done", 0))
                self.rejected = [Rejected(**r) for r in saved.get("rejected", [])]

    def save(self, done: int, rejected: list[Rejected]) -> None:
        self.done, self.rejected = done, rejected
        payload = {
            "signature": self.signature,
            "done": done,
            "rejected": [asdict(r) for r in rejected],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(self.path)


def import_file(
    client: Http,
    path: Path,
    *,
    agent_id: str | None = None,
    direction: str = "outbound",
    batch_size: int = BATCH,
    on_progress: Callable[[int, int], None] | None = None,
    use_progress_file: bool = True,
) -> Report:
    """Import every good row; returns what happened to each row (``on_progress(done, total)``)."""
    start = time.perf_counter()
    rows, rejected = read_rows(path)
    report = Report(rows=len(rows) + len(rejected))
    progress = Progress(path) if use_progress_file else None
    settled = progress.done if progress else 0
    done_before = {r.line for r in (progress.rejected if progress else [])}
    report.rejected = list(progress.rejected) if progress else []
    report.rejected += [r for r in rejected if r.line not in done_before]
    todo = [r for r in rows if r.line > settled]
    report.skipped_by_progress = len(rows) - len(todo)
    if agent_id is not None:
        _check_agent(client, agent_id)
    sent = len(rows) - len(todo)
    if on_progress:
        on_progress(sent, len(rows))
    for chunk in _chunks(todo, batch_size):
        imported, present, refused = _send(client, chunk)
        report.imported += len(imported)
        report.already_present += len(present)
        report.rejected += refused
        if agent_id is not None:
            report.attached += _attach(client, agent_id, direction, imported + present, report)
        if progress:
            settled_rejected = [r for r in report.rejected if r.line <= chunk[-1].line]
            progress.save(chunk[-1].line, settled_rejected)
        sent += len(chunk)
        if on_progress:
            on_progress(sent, len(rows))
    if progress and not todo and rows:
        progress.save(rows[-1].line, [r for r in report.rejected if r.line <= rows[-1].line])
    report.rejected.sort(key=lambda r: r.line)
    report.seconds = time.perf_counter() - start
    return report


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _send(client: Http, chunk: list[Row]) -> tuple[list[Row], list[Row], list[Rejected]]:
    """Import a chunk, setting refused rows aside; returns (imported, already mine, rejected)."""
    pending = list(chunk)
    present: list[Row] = []
    rejected: list[Rejected] = []
    for _ in range(MAX_ROUNDS):  # each round removes the refused rows
        if not pending:
            return [], present, rejected
        response = _request(
            client.post, "/v1/numbers/batch", json={"numbers": [r.body() for r in pending]}
        )
        if response.status_code == 201:
            return pending, present, rejected
        refused = _refused_items(response)
        for index, code, message in refused:
            row = pending[index]
            if code == "number_already_exists":  # in this workspace: an earlier run got it in
                present.append(row)
            else:
                rejected.append(Rejected(row.line, row.e164, code, message))
        drop = {index for index, _, _ in refused}
        pending = [r for i, r in enumerate(pending) if i not in drop]
    raise BulkImportError("the server kept refusing the same batch; try again")


def _refused_items(response: Response) -> list[tuple[int, str, str]]:
    """(index in the batch, code, reason) for every refused item, or a BulkImportError."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BulkImportError(f"HTTP {response.status_code}: {response.text[:300]}") from exc
    items: list[tuple[int, str, str]] = []
    if response.status_code == 422 and error.get("code") in ("batch_invalid", "invalid_request"):
        for item in (error.get("details") or {}).get("errors", []):
            where = item.get("index")
            if where is None and (m := _INDEX.match(str(item.get("field", "")))):
                where = int(m.group(1))
            if where is None:
                break
            items.append((int(where), str(item.get("code") or item.get("type")), item["message"]))
        else:
            if items:
                return sorted(set(items))
    raise BulkImportError(f"{error.get('code')}: {error.get('message')}")


def _check_agent(client: Http, agent_id: str) -> None:
    response = _request(client.get, f"/v1/agents/{agent_id}")
    if response.status_code != 200:
        raise BulkImportError(
            f"agent {agent_id}: HTTP {response.status_code} {response.text[:300]}"
        )


def _attach(client: Http, agent_id: str, direction: str, rows: list[Row], report: Report) -> int:
    """Give the imported rows to the agent: outbound in one idempotent call, inbound one by one."""
    if not rows:
        return 0
    if direction == "outbound":
        response = _request(
            client.put,
            f"/v1/agents/{agent_id}/numbers",
            json={"phone_numbers": [r.e164 for r in rows]},
        )
        if response.status_code != 200:
            raise BulkImportError(f"attach: HTTP {response.status_code} {response.text[:300]}")
        return len(rows)
    attached = 0
    for row in rows:
        body = {"number_id": row.e164, "agent_id": agent_id, "assignment_type": direction}
        response = _request(client.post, "/v1/numbers/assign", json=body)
        if response.status_code == 200:
            attached += 1
            continue
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BulkImportError(f"assign: HTTP {response.status_code}") from exc
        if response.status_code >= 500 or response.status_code == 401:
            raise BulkImportError(f"assign: {error.get('code')}: {error.get('message')}")
        report.rejected.append(
            Rejected(
                row.line,
                row.e164,
                str(error.get("code")),
                "imported but not assigned: " + str(error.get("message")),
            )
        )
    return attached


def _request(method: Callable[..., Response], url: str, **kwargs: Any) -> Response:
    """One call, retried on transport errors and 503 with a short backoff."""
    delay = 0.5
    for attempt in range(5):
        try:
            response = method(url, **kwargs)
        except (httpx.TransportError, OSError) as exc:  # the server may be restarting
            if attempt == 4:
                raise BulkImportError(f"cannot reach the server: {exc}") from exc
        else:
            if response.status_code not in (502, 503, 504) or attempt == 4:
                if response.status_code == 401:
                    raise BulkImportError("the API key was refused (CALLPLANE_API_KEY)")
                return response
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")
