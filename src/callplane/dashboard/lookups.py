"""Names for ids: the workspace's agents, read once per page through the agents service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from callplane.agents.service import list_agents
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.pagination import MAX_LIMIT


@dataclass(frozen=True, slots=True)
class AgentName:
    id: uuid.UUID
    ref: str
    name: str
    type: str
    archived: bool


class Agents:
    """Every agent of the workspace by id, archived ones included (history names them)."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.by_id: dict[uuid.UUID, AgentName] = {}
        cursor: str | None = None
        while True:
            page = list_agents(
                session, actor, type_=None, include_archived=True, cursor=cursor, limit=MAX_LIMIT
            )
            for view in page.items:
                a = view.agent
                self.by_id[a.id] = AgentName(
                    a.id, ids.render("agent", a.id), a.name, a.type, a.archived_at is not None
                )
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    def get(self, agent_id: uuid.UUID | None) -> AgentName | None:
        return self.by_id.get(agent_id) if agent_id else None

    def name_of(self, ref: str) -> str:
        """A rendered agent id as its name, for messages."""
        agent = self.get(ids.parse("agent", ref))
        return agent.name if agent else ref

    def active(self, type_: str | None = None) -> list[AgentName]:
        return sorted(
            (a for a in self.by_id.values() if not a.archived and type_ in (None, a.type)),
            key=lambda a: a.name.lower(),
        )
