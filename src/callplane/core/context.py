"""Who is acting: the workspace a request is scoped to, the key that made it, its request id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    workspace_id: uuid.UUID
    key_id: uuid.UUID | None
    request_id: str | None
    scope: str = "full"  # of the API key: "full", or "read" (see workspaces.models.ApiKey)
