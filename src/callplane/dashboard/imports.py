"""CSV imports from the browser, run by the very engine behind ``callplane numbers import``.

The engine (``client._bulk_import``) asks two small interfaces for four things: add a batch,
assign one number, check an agent, attach numbers. Here they are answered by the services
in-process, one transaction per call, as the signed-in workspace, and a refusal is raised as
the exception the client would raise for the same answer: same parsing, same batches, same
report of rejected rows. Jobs run in a thread of this server process and are kept in memory.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from callplane.agents.service import get_agent
from callplane.assignments import service as assignments
from callplane.assignments.schemas import AttachRequest
from callplane.client import CallplaneError
from callplane.client._base_client import api_error
from callplane.client._bulk_import import ImportReport, import_csv
from callplane.client._params import NewNumber
from callplane.core.context import Actor
from callplane.core.csv_export import write_rows
from callplane.core.db import Database
from callplane.core.error_handlers import Problem, native_details, problem_from_validation
from callplane.core.errors import DomainError
from callplane.numbers.csv_encoding import UnreadableCsv
from callplane.numbers.schemas import NumberBatch
from callplane.numbers.service import import_batch

KEPT_JOBS = 50
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


@dataclass
class ImportJob:
    id: str
    workspace_id: uuid.UUID
    filename: str
    done: int = 0
    total: int | None = None
    report: ImportReport | None = None
    error: str | None = None
    finished: bool = False

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


@dataclass
class ImportJobs:
    """This process's import jobs, the most recent ``KEPT_JOBS`` of them."""

    jobs: OrderedDict[str, ImportJob] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(
        self,
        database: Database,
        actor: Actor,
        path: Path,
        filename: str,
        agent_id: str | None,
        direction: Literal["inbound", "outbound"],
    ) -> ImportJob:
        job = ImportJob(secrets.token_urlsafe(12), actor.workspace_id, filename)
        with self.lock:
            self.jobs[job.id] = job
            while len(self.jobs) > KEPT_JOBS:
                self.jobs.popitem(last=False)

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def run() -> None:
            try:
                job.report = import_csv(
                    InProcessNumbers(database, actor),
                    InProcessAgents(database, actor),
                    path,
                    agent_id=agent_id,
                    direction=direction,
                    on_progress=progress,
                    resume=False,
                )
            except UnreadableCsv as exc:
                job.error = f"{filename}, {exc}; nothing was imported"
            except CallplaneError as exc:
                job.error = str(exc)
            except Exception:  # the page must say the job ended, whatever ended it
                log.exception("import %s failed", job.id)
                job.error = "an unexpected error stopped it (see the server log)"
            finally:
                path.unlink(missing_ok=True)
                job.finished = True

        threading.Thread(target=run, name=f"import-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str, workspace_id: uuid.UUID) -> ImportJob | None:
        """A job of this workspace; another workspace's job is as absent as an unknown one."""
        job = self.jobs.get(job_id)
        return job if job is not None and job.workspace_id == workspace_id else None
