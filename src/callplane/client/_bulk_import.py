"""Bulk import of a CSV through the client: the server checks every row as for any request.

Rows go through ``numbers.create_batch`` in batches of 1,000. A refused batch (all or nothing
on the server) names each bad item by index; those rows are set aside with their CSV line and
reason and the rest of the batch is sent again. Resuming is safe twice over: a progress file
next to the CSV records how many rows are settled (and is removed once every row is in), and a
row the server reports as ``number_already_exists`` (in *this* workspace) counts as done: a
re-run after a crash in the middle of a batch. A number another workspace holds is
``number_not_available``, named one per answer: that row is rejected and the rest sent again
(the server limits how often it says so, see numbers.ownership).
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from callplane.client._exceptions import APIError, ValidationError
from callplane.client._params import NewNumber
from callplane.core.errors import DomainError
from callplane.core.phone import parse_e164
from callplane.numbers.csv_encoding import UnreadableCsv, read_text


class Numbers(Protocol):
    """What the import needs of ``client.numbers`` (the dashboard answers it in process)."""

    def create_batch(self, numbers: Sequence[str | NewNumber], /) -> object: ...

    def assign(
        self, number: str, agent_id: str, /, *, assignment_type: Literal["inbound", "outbound"]
    ) -> object: ...


class Agents(Protocol):
    """What the import needs of ``client.agents``."""

    def get(self, agent_id: str, /) -> object: ...

    def attach_numbers(self, agent_id: str, phone_numbers: Sequence[str], /) -> object: ...


__all__ = ["ImportReport", "RejectedRow"]

BATCH = 1000
NUMBER_COLUMNS = ("e164", "phone_number", "number")
_INDEX = re.compile(r"^numbers\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    e164: str
    friendly_name: str | None = None
    monthly_cost_cents: int | None = None

    def item(self) -> NewNumber:
        item = NewNumber(e164=self.e164)
        if self.friendly_name:
            item["friendly_name"] = self.friendly_name
        if self.monthly_cost_cents is not None:
            item["monthly_cost_cents"] = self.monthly_cost_cents
        return item


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row of the CSV that is not in: its line, what it held, and why."""

    line: int
    value: str
    code: str
    reason: str


@dataclass
class ImportReport:
    """What happened to every row of the file."""

    rows: int = 0
    imported: int = 0
    already_present: int = 0
    attached: int = 0
    skipped_by_progress: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    seconds: float = 0.0


def read_rows(path: Path) -> tuple[list[Row], list[RejectedRow]]:
    """Rows of the CSV with their line numbers; a header names the columns, else column 1.

    Raises UnreadableCsv, naming the line, for a file that is not CSV text (see csv_encoding).

    Numbers are checked here with the server's own parser (``callplane.core.phone``), so a
    batch is refused on the server only in rare cases (a number someone else imported).
    """
    rows: list[Row] = []
    rejected: list[RejectedRow] = []
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
                row = RejectedRow(
                    line,
                    row.e164,
                    "duplicate_in_file",
                    f"same number as line {first_line[row.e164]}",
                )
            if isinstance(row, RejectedRow):
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


def _row(line: int, record: list[str], columns: dict[str, int]) -> Row | RejectedRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return record[index].strip() if index is not None and index < len(record) else ""

    text = cell("e164")
    if not text:
        return RejectedRow(line, "", "missing_number", "no phone number in this row")
    try:
        e164 = parse_e164(text, "e164").e164
    except DomainError as exc:
        return RejectedRow(line, text, exc.code, exc.message)
    cost_text = cell("monthly_cost_cents")
    cost = None
    if cost_text:
        if not cost_text.isdigit():
            return RejectedRow(
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
        self.rejected: list[RejectedRow] = []
        if self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
            except ValueError:
                saved = {}
            if saved.get("signature") == self.signature:
                self.done = int(saved.get("done", 0))
                self.rejected = [RejectedRow(**r) for r in saved.get("rejected", [])]

    def save(self, done: int, rejected: list[RejectedRow]) -> None:
        self.done, self.rejected = done, rejected
        payload = {
            "signature": self.signature,
            "done": done,
            "rejected": [asdict(r) for r in rejected],
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(self.path)

    def remove(self) -> None:
        """Every row is in: nothing is left to resume."""
        self.path.unlink(missing_ok=True)


def import_csv(
    numbers: Numbers,
    agents: Agents,
    path: Path,
    *,
    agent_id: str | None = None,
    direction: Literal["inbound", "outbound"] = "outbound",
    batch_size: int = BATCH,
    on_progress: Callable[[int, int], None] | None = None,
    resume: bool = True,
) -> ImportReport:
    """Import every good row; ``on_progress(settled, total)`` counts rows of the file."""
    start = time.perf_counter()
    rows, rejected = read_rows(path)
    total = len(rows) + len(rejected)
    report = ImportReport(rows=total)
    progress = Progress(path) if resume else None
    settled_line = progress.done if progress else 0
    done_before = {r.line for r in (progress.rejected if progress else [])}
    report.rejected = list(progress.rejected) if progress else []
    report.rejected += [r for r in rejected if r.line not in done_before]
    todo = [r for r in rows if r.line > settled_line]
    report.skipped_by_progress = len(rows) - len(todo)
    if agent_id is not None:
        agents.get(agent_id)  # an unknown agent stops the import before anything is sent

    lines = sorted([r.line for r in rows] + [r.line for r in rejected])

    def settled(last_line: int) -> int:
        return bisect.bisect_right(lines, last_line)

    if on_progress:
        on_progress(settled(settled_line) if todo else total, total)
    for chunk in _chunks(todo, batch_size):
        imported, present, refused = _send(numbers, chunk)
        report.imported += len(imported)
        report.already_present += len(present)
        report.rejected += refused
        if agent_id is not None:
            report.attached += _give(
                numbers, agents, agent_id, direction, imported + present, report
            )
        last_line = chunk[-1].line
        if progress:
            progress.save(last_line, [r for r in report.rejected if r.line <= last_line])
        if on_progress:
            on_progress(settled(last_line), total)
    if on_progress and todo:
        on_progress(total, total)  # rows rejected after the last good row
    report.rejected.sort(key=lambda r: r.line)
    if progress:
        if report.rejected:  # a re-run of the same file reports them again, sending nothing
            last = max([r.line for r in rows] + [r.line for r in report.rejected])
            progress.save(last, report.rejected)
        else:
            progress.remove()
    report.seconds = time.perf_counter() - start
    return report


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _send(numbers: Numbers, chunk: list[Row]) -> tuple[list[Row], list[Row], list[RejectedRow]]:
    """Import a chunk, setting refused rows aside; returns (imported, already mine, rejected)."""
    pending = list(chunk)
    present: list[Row] = []
    rejected: list[RejectedRow] = []
    while pending:  # each round removes at least one refused row, or raises
        try:
            numbers.create_batch([r.item() for r in pending])
        except ValidationError as exc:
            refused = _refused_items(exc)
        else:
            return pending, present, rejected
        for index, code, message in refused:
            row = pending[index]
            if code == "number_already_exists":  # in this workspace: an earlier run got it in
                present.append(row)
            else:
                rejected.append(RejectedRow(row.line, row.e164, code, message))
        drop = {index for index, _, _ in refused}
        pending = [r for i, r in enumerate(pending) if i not in drop]
    return [], present, rejected


def _refused_items(exc: ValidationError) -> list[tuple[int, str, str]]:
    """(index in the batch, code, reason) of every refused item; else the error goes on up."""
    items: list[tuple[int, str, str]] = []
    if exc.code in ("batch_invalid", "invalid_request"):
        for item in exc.errors:
            where = item.get("index")
            if where is None and (m := _INDEX.match(str(item.get("field", "")))):
                where = int(m.group(1))
            if where is None:
                raise exc
            code = str(item.get("code") or item.get("type"))
            items.append((int(where), code, str(item.get("message"))))
    if not items:
        raise exc
    return sorted(set(items))


def _give(
    numbers: Numbers,
    agents: Agents,
    agent_id: str,
    direction: Literal["inbound", "outbound"],
    rows: list[Row],
    report: ImportReport,
) -> int:
    """Give the imported rows to the agent: outbound in one idempotent call, inbound one by one."""
    if not rows:
        return 0
    if direction == "outbound":
        agents.attach_numbers(agent_id, [r.e164 for r in rows])
        return len(rows)
    given = 0
    for row in rows:
        try:
            numbers.assign(row.e164, agent_id, assignment_type="inbound")
        except APIError as exc:
            if exc.status_code >= 500 or exc.status_code == 401:
                raise
            reason = "imported but not assigned: " + exc.message
            report.rejected.append(RejectedRow(row.line, row.e164, exc.code, reason))
        else:
            given += 1
    return given
