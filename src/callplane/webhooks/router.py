"""/v1/webhook-endpoints: where a workspace's events are posted, and how each delivery went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.events.catalog import EVENT_TYPES
from callplane.settings import Settings
from callplane.webhooks import service
from callplane.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    EventTypeOut,
    RedeliveryOut,
    RotateSecret,
)

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])
catalog_router = APIRouter(prefix="/v1/event-types", tags=["webhooks"])


def _allow_http(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.webhooks_allow_http


@catalog_router.get("")
def list_event_types(actor: CurrentActor) -> Envelope[list[EventTypeOut]]:
    """Every event type an endpoint may subscribe to (``*`` subscribes to all)."""
    types = [EventTypeOut(type=name, description=text) for name, text in EVENT_TYPES.items()]
    return ok(types, actor)


@router.post("", status_code=201)
def create_endpoint(
    body: EndpointCreate, request: Request, actor: CurrentActor, session: DbSession
) -> Envelope[EndpointWithSecret]:
    """Create an endpoint; its signing secret is in this answer and never shown again."""
    issued = service.create_endpoint(
        session, actor, body.model_dump(), allow_http=_allow_http(request)
    )
    return ok(EndpointWithSecret.issued(issued.endpoint, issued.secret), actor)


@router.get("")
def list_endpoints(
    actor: CurrentActor,
    session: DbSession,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[EndpointOut]:
    size = clamp_limit(limit)
    page = service.list_endpoints(session, actor, cursor=cursor, limit=size)
    return paged([EndpointOut.of(e) for e in page.items], page.next_cursor, size, actor)


@router.get("/{endpoint_id}")
def get_endpoint(
    endpoint_id: str, actor: CurrentActor, session: DbSession
) -> Envelope[EndpointOut]:
    return ok(EndpointOut.of(service.get_endpoint(session, actor, endpoint_id)), actor)


@router.patch("/{endpoint_id}")
def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    request: Request,
    actor: CurrentActor,
    session: DbSession,
) -> Envelope[EndpointOut]:
    """Change the URL, event types, description, or enable/disable the endpoint."""
    endpoint = service.update_endpoint(
        session, actor, endpoint_id, body.changes(), allow_http=_allow_http(request)
    )
    return ok(EndpointOut.of(endpoint), actor)


@router.delete("/{endpoint_id}")
def delete_endpoint(
    endpoint_id: str, actor: CurrentActor, session: DbSession
) -> Envelope[EndpointOut]:
    """Delete the endpoint and its delivery log."""
    return ok(EndpointOut.of(service.delete_endpoint(session, actor, endpoint_id)), actor)


@router.post("/{endpoint_id}/rotate-secret")
def rotate_secret(
    endpoint_id: str, actor: CurrentActor, session: DbSession, body: RotateSecret | None = None
) -> Envelope[EndpointWithSecret]:
    """A new secret, shown once; the old one keeps signing beside it for ``overlap_seconds``."""
    overlap = (body or RotateSecret()).overlap
    issued = service.rotate_secret(session, actor, endpoint_id, overlap)
    return ok(EndpointWithSecret.issued(issued.endpoint, issued.secret), actor)


@router.get("/{endpoint_id}/deliveries")
def list_deliveries(
    endpoint_id: str,
    actor: CurrentActor,
    session: DbSession,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[DeliveryOut]:
    """The endpoint's deliveries, newest first: status, attempts, last answer and latency."""
    size = clamp_limit(limit)
    page = service.list_deliveries(
        session, actor, endpoint_id, status=status, cursor=cursor, limit=size
    )
    return paged([DeliveryOut.of(d) for d in page.items], page.next_cursor, size, actor)


@router.post("/{endpoint_id}/deliveries/redeliver-failed")
def redeliver_failed(
    endpoint_id: str, actor: CurrentActor, session: DbSession
) -> Envelope[RedeliveryOut]:
    """Queue every failed delivery of the endpoint again."""
    return ok(RedeliveryOut(requeued=service.redeliver_failed(session, actor, endpoint_id)), actor)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver")
def redeliver(
    endpoint_id: str, delivery_id: str, actor: CurrentActor, session: DbSession
) -> Envelope[DeliveryOut]:
    """Send this delivery's event again, with the same ``webhook-id``."""
    return ok(DeliveryOut.of(service.redeliver(session, actor, endpoint_id, delivery_id)), actor)
