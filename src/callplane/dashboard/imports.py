"""CSV imports from the browser, run by the very engine behind ``callplane numbers import``.

The engine (``numbers.bulk_import``) talks to the native API through a small HTTP-shaped
interface. Here that interface calls the same services in-process, one transaction per call,
as the signed-in workspace: same parsing, same batches, same report of rejected rows. Jobs run
in a thread of this server process and are kept in memory while it runs.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from callplane.agents.service import get_agent
from callplane.agents.service import view as agent_view
from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.core.envelope import error_body
from callplane.core.error_handlers import problem_from_validation
from callplane.core.errors import DomainError, NotFound
from callplane.numbers import assignments
from callplane.numbers.bulk_import import BulkImportError, Report, import_file
from callplane.numbers.schemas import AssignRequest, AttachRequest, NumberBatch
from callplane.numbers.service import get_number_view, import_batch

KEPT_JOBS = 50
log = logging.getLogger("callplane.dashboard.imports")


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer shaped like the native API's, for the engine to read."""

    status_code: int
    body: dict[str, Any]

    @property
    def text(self) -> str:
        return json.dumps(self.body)

    def json(self) -> Any:
        return self.body


class InProcessApi:
    """The five calls the import engine makes, answered by the services as ``actor``."""

    def __init__(self, database: Database, actor: Actor) -> None:
        self.database = database
        self.actor = actor

    def get(self, url: str) -> Reply:
        if url.startswith("/v1/numbers/"):
            ref = url.removeprefix("/v1/numbers/")
            return self._call(lambda s: get_number_view(s, self.actor, ref), 200)
        if url.startswith("/v1/agents/"):
            ref = url.removeprefix("/v1/agents/")
            return self._call(lambda s: agent_view(s, get_agent(s, self.actor, ref)), 200)
        return self._no_route(url)

    def post(self, url: str, *, json: Any = None) -> Reply:
        if url == "/v1/numbers/batch":
            return self._validated(NumberBatch, json, self._batch, 201)
        if url == "/v1/numbers/assign":
            return self._validated(AssignRequest, json, self._assign, 200)
        return self._no_route(url)

    def put(self, url: str, *, json: Any = None) -> Reply:
        if url.startswith("/v1/agents/") and url.endswith("/numbers"):
            agent = url.removeprefix("/v1/agents/").removesuffix("/numbers")
            return self._validated(
                AttachRequest,
                json,
                lambda s, body: assignments.attach_outbound(
                    s, self.actor, agent, body.references()
                ),
                200,
            )
        return self._no_route(url)

    def _batch(self, session: Session, body: NumberBatch) -> object:
        return import_batch(session, self.actor, [n.to_input() for n in body.numbers])

    def _assign(self, session: Session, body: AssignRequest) -> object:
        return assignments.assign(
            session,
            self.actor,
            body.number_id,
            body.agent_id,
            body.assignment_type,
            replace=body.replace,
        )

    def _validated(
        self, model: Any, payload: Any, work: Callable[[Session, Any], object], status: int
    ) -> Reply:
        try:
            body = model.model_validate(payload)
        except ValidationError as exc:
            problem = problem_from_validation(RequestValidationError(exc.errors()))
            return Reply(
                problem.status, error_body("-", problem.code, problem.message, problem.details)
            )
        return self._call(lambda s: work(s, body), status)

    def _call(self, work: Callable[[Session], object], status: int) -> Reply:
        try:
            with self.database.transaction() as session:
                work(session)
        except DomainError as exc:
            return Reply(exc.status, error_body("-", exc.code, exc.message, exc.details or None))
        return Reply(status, {"data": None})

    @staticmethod
    def _no_route(url: str) -> Reply:
        exc = NotFound("route_not_found", f"no in-process route for {url}")
        return Reply(404, error_body("-", exc.code, exc.message, None))


@dataclass
class ImportJob:
    id: str
    workspace_id: uuid.UUID
    filename: str
    done: int = 0
    total: int | None = None
    report: Report | None = None
    error: str | None = None
    finished: bool = False

    def rejected_csv(self) -> str:
        """The rejected rows as the CLI writes them: line, value, code, reason."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["line", "value", "code", "reason"])
        for r in self.report.rejected if self.report else []:
            writer.writerow([r.line, r.value, r.code, r.reason])
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
        direction: str,
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
                job.report = import_file(
                    InProcessApi(database, actor),
                    path,
                    agent_id=agent_id,
                    direction=direction,
                    on_progress=progress,
                    use_progress_file=False,
                )
            except BulkImportError as exc:
                job.error = str(exc)
            except (UnicodeDecodeError, csv.Error) as exc:
                job.error = f"the file is not a UTF-8 CSV file ({exc.__class__.__name__})"
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
