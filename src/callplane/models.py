"""Every ORM model, imported in one place so Alembic and the metadata see the whole schema."""

from callplane.agents.models import Agent
from callplane.core.db import Base
from callplane.dashboard.models import DashboardSession, ImportJob
from callplane.events.models import Event
from callplane.numbers.models import SEARCH_OBJECTS, Assignment, NumberCount, PhoneNumber
from callplane.providers.models import PurchaseIntent, ReleaseJob, SandboxNumber
from callplane.routing.call_legs import AnsweredCallLeg
from callplane.routing.models import CallerIdSelection
from callplane.workspaces.models import ApiKey, Workspace


def compared(name: str | None, _type: str, _parents: object) -> bool:
    """Alembic's ``include_name``: the objects migrations alone make are not the models'."""
    return name not in SEARCH_OBJECTS


__all__ = [
    "Agent",
    "AnsweredCallLeg",
    "ApiKey",
    "Assignment",
    "Base",
    "CallerIdSelection",
    "DashboardSession",
    "Event",
    "ImportJob",
    "NumberCount",
    "PhoneNumber",
    "PurchaseIntent",
    "ReleaseJob",
    "SandboxNumber",
    "Workspace",
    "compared",
]
