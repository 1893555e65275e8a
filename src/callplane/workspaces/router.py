from __future__ import annotations

from fastapi import APIRouter

from callplane.core.envelope import Envelope
from callplane.core.http import CurrentActor, DbSession, ok
from callplane.workspaces import service
from callplane.workspaces.schemas import WorkspaceOut, WorkspaceUpdate

router = APIRouter(prefix="/v1/workspace", tags=["workspace"])


@router.get("")
def current_workspace(actor: CurrentActor, session: DbSession) -> Envelope[WorkspaceOut]:
    """The workspace the API key belongs to."""
    return ok(WorkspaceOut.of(service.get_workspace(session, actor)), actor)


@router.patch("")
def update_workspace(
    body: WorkspaceUpdate, actor: CurrentActor, session: DbSession
) -> Envelope[WorkspaceOut]:
    """Rename the workspace or set its telephony settings (the Twilio auth token is write-only)."""
    return ok(WorkspaceOut.of(service.update_workspace(session, actor, body.changes())), actor)
