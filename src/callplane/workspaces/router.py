from __future__ import annotations

from fastapi import APIRouter

from callplane.core.envelope import Envelope
from callplane.core.http import CurrentActor, DbSession, ok
from callplane.workspaces import service
from callplane.workspaces.schemas import WorkspaceOut

router = APIRouter(prefix="/v1/workspace", tags=["workspace"])


@router.get("")
def current_workspace(actor: CurrentActor, session: DbSession) -> Envelope[WorkspaceOut]:
    """The workspace the API key belongs to."""
    return ok(WorkspaceOut.of(service.get_workspace(session, actor)), actor)
