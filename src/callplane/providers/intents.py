"""Purchase intents: written and committed before a provider is asked to sell a number.

See ``PurchaseIntent`` for why; ``callplane.providers.recovery`` settles the ones a crashed or
failed request left pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.providers.models import PurchaseIntent


def record(session: Session, actor: Actor, provider: str, e164s: Sequence[str]) -> list[uuid.UUID]:
    """Add a pending intent per number; the caller commits before calling the provider."""
    now = utcnow()
    intents = [
        PurchaseIntent(
            id=ids.new_uuid(),
            workspace_id=actor.workspace_id,
            e164=e164,
            provider=provider,
            status="pending",
            request_id=actor.request_id,
            created_at=now,
            updated_at=now,
        )
        for e164 in e164s
    ]
    session.add_all(intents)
    session.flush()
    return [i.id for i in intents]


def settle(session: Session, intent_ids: Sequence[uuid.UUID], status: str) -> None:
    """Close intents (completed, adopted or abandoned), in the caller's transaction."""
    if intent_ids:
        session.execute(
            update(PurchaseIntent)
            .where(PurchaseIntent.id.in_(intent_ids), PurchaseIntent.status == "pending")
            .values(status=status, updated_at=utcnow())
        )


def complete(session: Session, intent_ids: Sequence[uuid.UUID]) -> None:
    """The numbers are in the inventory, in this same transaction."""
    settle(session, intent_ids, "completed")
