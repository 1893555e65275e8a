"""CSV import by upload: a form, a live progress page, the report and its rejected rows."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callplane.core.errors import InvalidInput, NotFound
from callplane.core.http import DbSession
from callplane.dashboard import imports
from callplane.dashboard.lookups import Agents
from callplane.dashboard.sessions import SignedIn
from callplane.dashboard.web import DashboardRoute, Editor, Viewer, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _job(session: Session, who: SignedIn, job_id: str) -> imports.JobView:
    job = imports.get(session, job_id, who.actor.workspace_id)
    if job is None:
        raise NotFound(
            "import_not_found",
            f"No such import (the last {imports.KEPT_JOBS} imports of a workspace are kept)",
        )
    return job


@router.get("/imports/new")
def new_import(request: Request, who: Viewer, session: DbSession) -> Response:
    return render(
        request,
        "imports/new.html",
        {"title": "Import numbers", "section": "Import", "agents": Agents(session, who.actor)},
        who=who,
    )


@router.post("/imports")
def start_import(
    request: Request,
    who: Editor,
    session: DbSession,
    later: BackgroundTasks,
    file: Annotated[UploadFile, File()],
    agent: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    agents = Agents(session, who.actor)
    chosen = None
    if agent:
        chosen = next((a for a in agents.active() if a.ref == agent), None)
        if chosen is None:
            raise InvalidInput("choose_agent", "Choose an active agent, or none.")
    with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as handle:
        shutil.copyfileobj(file.file, handle)
    filename = file.filename or "upload.csv"
    job_id = imports.record(session, who.actor, filename)
    later.add_task(  # after the response, so after the job's row is committed
        imports.run,
        request.app.state.database,
        who.actor,
        job_id,
        Path(handle.name),
        filename,
        chosen.ref if chosen else None,
        "inbound" if chosen and chosen.type == "inbound" else "outbound",
    )
    return redirect(f"/imports/{job_id}")


@router.get("/imports/{job_id}")
def import_page(request: Request, job_id: str, who: Viewer, session: DbSession) -> Response:
    job = _job(session, who, job_id)
    return render(
        request,
        "imports/progress.html",
        {"title": f"Import of {job.filename}", "section": "Import", "job": job},
        who=who,
    )


@router.get("/imports/{job_id}/rejected.csv")
def rejected_rows(job_id: str, who: Viewer, session: DbSession) -> Response:
    job = _job(session, who, job_id)
    return Response(
        job.rejected_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="rejected-rows.csv"'},
    )
