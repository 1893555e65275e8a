"""Every ORM model, imported in one place so Alembic and the metadata see the whole schema."""

from callplane.agents.models import Agent
from callplane.assignments.models import Assignment
from callplane.core.db import Base
from callplane.dashboard.models import DashboardSession, ImportJob
from callplane.events.models import Event
from callplane.idempotency.models import IdempotencyKey
from callplane.numbers.models import SEARCH_OBJECTS, NumberCount, PhoneNumber
from callplane.providers.models import PurchaseIntent, ReleaseJob, SandboxNumber
from callplane.reputation.models import CallerIdPolicy
from callplane.routing.call_legs import AnsweredCallLeg
from callplane.routing.models import CallerIdSelection
from callplane.webhooks.models import WebhookDelivery, WebhookEndpoint
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
    "CallerIdPolicy",
    "CallerIdSelection",
    "DashboardSession",
    "Event",
    "IdempotencyKey",
    "ImportJob",
    "NumberCount",
    "PhoneNumber",
    "PurchaseIntent",
    "ReleaseJob",
    "SandboxNumber",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workspace",
    "compared",
]
