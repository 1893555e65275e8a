"""The terminal side of ``callplane numbers import``: a progress bar in rows, then the report.

Nothing is printed while the bar runs: the summary, the rejected rows and any error come after
it, below it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from callplane.client import APIError, Client, ImportReport, TransportError
from callplane.commands.exit_codes import ExitCode
from callplane.commands.output import console, errors
from callplane.core.csv_export import write_rows
from callplane.numbers.csv_encoding import UnreadableCsv

SHOWN_REJECTED = 200


def run_import(
    url: str | None,
    api_key: str,
    path: Path,
    agent_id: str | None,
    direction: Literal["inbound", "outbound"],
    report_path: Path | None,
) -> ExitCode:
    """Import with a progress bar and print what happened; returns the exit code."""
    failure: tuple[ExitCode, str] | None
    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
        console=console,
    )
    with Client(url, api_key, timeout=300) as client, bar:
        task = bar.add_task("rows", total=None)

        def advance(settled: int, total: int) -> None:
            bar.update(task, completed=settled, total=total)

        try:
            report = client.numbers.import_csv(
                path, agent_id=agent_id, direction=direction, on_progress=advance
            )
        except UnreadableCsv as exc:
            failure = (ExitCode.ERROR, f"{path.name}, {escape(str(exc))}; nothing was sent")
        except TransportError as exc:
            failure = (ExitCode.UNREACHABLE, exc.message)
        except APIError as exc:
            failure = (ExitCode.ERROR, f"{exc.code}: {exc.message} (request {exc.request_id})")
        else:
            failure = None
    if failure is not None:
        code, message = failure
        errors.print(f"[red]error[/red] {message}", soft_wrap=True, highlight=False)
        errors.print("progress is kept: run the same command again to resume")
        return code
    _print_report(report, agent_id)
    if report_path is not None:
        with report_path.open("w", newline="", encoding="utf-8") as handle:
            write_rows(
                handle,
                ["line", "value", "code", "reason"],
                ((r.line, r.value, r.code, r.reason) for r in report.rejected),
            )
    return ExitCode.ROWS_REJECTED if report.rejected else ExitCode.OK


def _print_report(report: ImportReport, agent_id: str | None) -> None:
    rate = (report.imported + report.already_present) / report.seconds if report.seconds else 0.0
    console.print(
        f"{report.rows} rows: {report.imported} imported, {report.already_present} already "
        f"there, {report.skipped_by_progress} done by an earlier run, "
        f"{len(report.rejected)} rejected"
        + (f", {report.attached} given to {agent_id}" if agent_id else "")
        + f" ({report.seconds:.1f} s, {rate:,.0f} rows/s)",
        highlight=False,
    )
    if not report.rejected:
        return
    table = Table("line", "value", "code", "reason", title="Rejected rows")
    for r in report.rejected[:SHOWN_REJECTED]:
        table.add_row(str(r.line), escape(r.value), escape(r.code), escape(r.reason))
    errors.print(table)
    if len(report.rejected) > SHOWN_REJECTED:
        errors.print(f"… and {len(report.rejected) - SHOWN_REJECTED} more (--report writes all)")
