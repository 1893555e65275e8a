"""The terminal side of ``callplane numbers import``: progress bar, summary, rejected rows."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from callplane.core.csv_export import write_rows
from callplane.numbers.bulk_import import BulkImportError, import_file
from callplane.numbers.csv_encoding import UnreadableCsv


def run_import(
    console: Console,
    url: str,
    api_key: str,
    path: Path,
    agent_id: str | None,
    direction: str,
    report_path: Path | None,
) -> int:
    """The CLI's side: an HTTP client, a progress bar, and the report; returns the exit code."""
    headers = {"Authorization": f"Bearer {api_key}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=300) as client,
        Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("rows", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = import_file(
                client, path, agent_id=agent_id, direction=direction, on_progress=advance
            )
        except UnreadableCsv as exc:
            console.print(f"[red]error[/red] {path.name}, {escape(str(exc))}; nothing was sent")
            return 1
        except BulkImportError as exc:
            console.print(f"[red]error[/red] {exc} (progress is kept: re-run to resume)")
            return 1
    rate = (report.imported + report.already_present) / report.seconds if report.seconds else 0.0
    console.print(
        f"{report.rows} rows: {report.imported} imported, {report.already_present} already "
        f"there, {report.skipped_by_progress} done by an earlier run, "
        f"{len(report.rejected)} rejected"
        + (f", {report.attached} given to {agent_id}" if agent_id else "")
        + f" ({report.seconds:.1f} s, {rate:,.0f} rows/s)"
    )
    if report.rejected:
        table = Table("line", "value", "code", "reason", title="Rejected rows")
        for r in report.rejected[:200]:
            table.add_row(str(r.line), escape(r.value), escape(r.code), escape(r.reason))
        console.print(table)
        if len(report.rejected) > 200:
            console.print(f"… and {len(report.rejected) - 200} more")
    if report_path is not None:
        with report_path.open("w", newline="", encoding="utf-8") as handle:
            write_rows(
                handle,
                ["line", "value", "code", "reason"],
                ((r.line, r.value, r.code, r.reason) for r in report.rejected),
            )
    return 2 if report.rejected else 0
