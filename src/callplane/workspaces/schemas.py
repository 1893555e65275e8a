from __future__ import annotations

from pydantic import BaseModel

from callplane.core import ids
from callplane.core.schemas import iso
from callplane.workspaces.models import Workspace


class WorkspaceOut(BaseModel):
    id: str
    name: str
    created_at: str

    @classmethod
    def of(cls, w: Workspace) -> WorkspaceOut:
        return cls(
            id=ids.render("workspace", w.id), name=w.name, created_at=iso(w.created_at) or ""
        )
