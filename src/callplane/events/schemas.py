from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from callplane.core import ids
from callplane.core.schemas import iso
from callplane.events.models import Event


class EventOut(BaseModel):
    id: str
    type: str
    actor_key_id: str | None
    request_id: str | None
    resource_ids: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: str

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=ids.render("event", e.id),
            type=e.type,
            actor_key_id=ids.render("api_key", e.actor_key_id) if e.actor_key_id else None,
            request_id=e.request_id,
            resource_ids=e.resource_ids,
            before=e.before,
            after=e.after,
            created_at=iso(e.created_at) or "",
        )
