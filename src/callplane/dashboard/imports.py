"""CSV imports from the browser, run by the very engine behind ``callplane numbers import``.

The engine (``client._bulk_import``) asks two small interfaces for four things: add a batch,
assign one number, check an agent, attach numbers. Here they are answered by the services
in-process, one transaction per call, as the signed-in workspace, and a refusal is raised as
the exception the client would raise for the same answer: same parsing, same batches, same
report of rejected rows. A job runs in a thread of the server that received the file and keeps
its progress and report in the database (``import_jobs``), so every server can show it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from callplane.agents.service import get_agent
from callplane.assignments import service as assignments
from callplane.assignments.schemas import AttachRequest
from callplane.client import CallplaneError
from callplane.client._base_client import api_error
from callplane.client._bulk_import import ImportReport, RejectedRow, import_csv
from callplane.client._params import NewNumber
from callplane.core.context import Actor
from callplane.core.csv_export import write_rows
from callplane.core.db import Database, utcnow
from callplane.core.error_handlers import Problem, native_details, problem_from_validation
from callplane.core.errors import DomainError
from callplane.dashboard.models import ImportJob
from callplane.events import service as events
from callplane.numbers.csv_encoding import UnreadableCsv
from callplane.numbers.schemas import NumberBatch
from callplane.numbers.service import import_batch

KEPT_JOBS = 50  # per workspace; starting one more forgets the oldest
UNEXPECTED = "an unexpected error stopped it (see the server log)"
# A running job writes its progress after every batch, a second or so apart; this long without
# any, the server that ran it has most likely stopped (the job does not move to another one).
STALLED_AFTER = dt.timedelta(minutes=5)
log = logging.getLogger("callplane.dashboard.imports")


class _InProcess:
    """One transaction per call, as ``actor``; refusals raised as the client raises them."""

    def __init__(self, database: Database, actor: Actor) -> None:
        self.database = database
        self.actor = actor

    def run(self, work: Callable[[Session], object]) -> object:
        try:
            with self.database.transaction() as session:
                return work(session)
        except DomainError as exc:
            problem = Problem(exc.status, exc.code, exc.message, exc.details)
            raise api_error(exc.status, exc.code, exc.message, native_details(problem)) from exc


class InProcessNumbers(_InProcess):
    def create_batch(self, numbers: Sequence[str | NewNumber], /) -> object:
        try:
            body = NumberBatch.model_validate(
                {"numbers": [{"e164": n} if isinstance(n, str) else dict(n) for n in numbers]}
            )
        except ValidationError as exc:
            problem = problem_from_validation(RequestValidationError(exc.errors()))
            details = native_details(problem)
            raise api_error(problem.status, problem.code, problem.message, details) from exc
        return self.run(lambda s: import_batch(s, self.actor, [n.to_input() for n in body.numbers]))

    def assign(
        self, number: str, agent_id: str, /, *, assignment_type: Literal["inbound", "outbound"]
    ) -> object:
        return self.run(
            lambda s: assignments.assign(s, self.actor, number, agent_id, assignment_type)
        )


class InProcessAgents(_InProcess):
    def get(self, agent_id: str, /) -> object:
        return self.run(lambda s: get_agent(s, self.actor, agent_id))

    def attach_numbers(self, agent_id: str, phone_numbers: Sequence[str], /) -> object:
        references = AttachRequest(phone_numbers=list(phone_numbers)).references()
        return self.run(lambda s: assignments.attach_outbound(s, self.actor, agent_id, references))


@dataclass(frozen=True, slots=True)
class JobView:
    """One import as the progress page shows it, read from the database."""

    id: str
    filename: str
    done: int
    total: int | None
    finished: bool
    stalled: bool  # running, but no progress for STALLED_AFTER: its server may have stopped
    error: str | None
    report: ImportReport | None

    def rejected_csv(self) -> str:
        """The rejected rows as the CLI writes them: line, value, code, reason."""
        out = io.StringIO()
        rows = self.report.rejected if self.report else []
        write_rows(
            out,
            ["line", "value", "code", "reason"],
            ((r.line, r.value, r.code, r.reason) for r in rows),
        )
        return out.getvalue()


def get(session: Session, job_id: str, workspace_id: uuid.UUID) -> JobView | None:
    """A job of this workspace; another workspace's job is as absent as an unknown one."""
    job = session.get(ImportJob, job_id)
    if job is None or job.workspace_id != workspace_id:
        return None
    report = None
    if job.report is not None:
        rejected = [RejectedRow(**row) for row in job.report["rejected"]]
        report = ImportReport(**{**job.report, "rejected": rejected})
    running = job.state == "running"
    return JobView(
        job.id,
        job.filename,
        job.done,
        job.total,
        not running,
        running and utcnow() - job.updated_at > STALLED_AFTER,
        job.error,
        report,
    )


def record(session: Session, actor: Actor, filename: str) -> str:
    """The new job's row, in the request's transaction; ``run`` it once that has committed.

    Committed before it runs, the job is found by the progress page on any server; the thread
    that runs it writes its progress and, at the end, the report or the error to that row.
    """
    job_id = secrets.token_urlsafe(12)
    session.add(
        ImportJob(
            id=job_id,
            workspace_id=actor.workspace_id,
            filename=filename[:255],
            state="running",
            done=0,
        )
    )
    session.flush()
    kept = (
        select(ImportJob.id)
        .where(ImportJob.workspace_id == actor.workspace_id)
        .order_by(ImportJob.created_at.desc(), ImportJob.id)
        .limit(KEPT_JOBS)
    )
    session.execute(
        delete(ImportJob).where(
            ImportJob.workspace_id == actor.workspace_id, ImportJob.id.not_in(kept)
        )
    )
    events.record(session, actor, "import.started", [f"imp_{job_id}"], after={"filename": filename})
    return job_id


def run(
    database: Database,
    actor: Actor,
    job_id: str,
    path: Path,
    filename: str,
    agent_id: str | None,
    direction: Literal["inbound", "outbound"],
) -> None:
    """Run a recorded job in a thread of this server; the file is removed when it ends."""

    def save(done: int, total: int) -> None:
        with database.transaction() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(done=done, total=total, updated_at=utcnow())
            )

    def work() -> None:
        try:
            report = import_csv(
                InProcessNumbers(database, actor),
                InProcessAgents(database, actor),
                path,
                agent_id=agent_id,
                direction=direction,
                on_progress=save,
                resume=False,
            )
        except UnreadableCsv as exc:
            _finish(database, actor, job_id, error=f"{filename}, {exc}; nothing was imported")
        except CallplaneError as exc:
            _finish(database, actor, job_id, error=str(exc))
        except Exception:  # the page must say the job ended, whatever ended it
            log.exception("import %s failed", job_id)
            _finish(database, actor, job_id, error=UNEXPECTED)
        else:
            _finish(database, actor, job_id, report=report)
        finally:
            path.unlink(missing_ok=True)

    threading.Thread(target=work, name=f"import-{job_id}", daemon=True).start()


def _finish(
    database: Database,
    actor: Actor,
    job_id: str,
    *,
    report: ImportReport | None = None,
    error: str | None = None,
) -> None:
    with database.transaction() as session:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                state="failed" if error else "done",
                error=error,
                report=asdict(report) if report else None,
                updated_at=utcnow(),
            )
        )
        summary: dict[str, object] = {"error": error}
        if report is not None:
            summary = {k: v for k, v in asdict(report).items() if k != "rejected"}
            summary["rejected"] = len(report.rejected)
        events.record(session, actor, "import.finished", [f"imp_{job_id}"], after=summary)
