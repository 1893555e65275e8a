"""The inventory at a glance: counts by status, country, type, assignment, and the monthly bill."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from callplane.assignments.models import Assignment
from callplane.core.context import Actor
from callplane.numbers.models import PhoneNumber


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    monthly_cost_cents: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_country: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_provider: dict[str, int] = field(default_factory=dict)
    by_assignment: dict[str, int] = field(default_factory=dict)


def summarize(session: Session, actor: Actor) -> Summary:
    """A handful of GROUP BY queries; the database does the counting, not Python."""
    mine = PhoneNumber.workspace_id == actor.workspace_id
    total, cost = session.execute(
        select(func.count(), func.coalesce(func.sum(PhoneNumber.monthly_cost_cents), 0)).where(mine)
    ).one()

    def grouped(column: Any, none_as: str) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(mine).group_by(column))
        return {str(key) if key is not None else none_as: int(n) for key, n in rows}

    def having(direction: str) -> int:
        held = exists().where(
            Assignment.number_id == PhoneNumber.id, Assignment.direction == direction
        )
        return int(session.scalar(select(func.count()).where(mine, held)) or 0)

    unassigned = session.scalar(
        select(func.count()).where(mine, ~exists().where(Assignment.number_id == PhoneNumber.id))
    )
    return Summary(
        total=int(total),
        monthly_cost_cents=int(cost),
        by_status=grouped(PhoneNumber.status, "unknown"),
        by_country=grouped(PhoneNumber.country_code, "unknown"),
        by_type=grouped(PhoneNumber.number_type, "unknown"),
        by_provider=grouped(PhoneNumber.provider, "none"),
        by_assignment={
            "inbound": having("inbound"),
            "outbound": having("outbound"),
            "none": int(unassigned or 0),
        },
    )
