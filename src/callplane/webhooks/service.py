"""Webhook endpoints of a workspace: create, change, rotate their secrets, read and redo deliveries.

The URL is checked twice: its form and host when it is stored (here and in the request schema,
through ``callplane.core.urls``), and the address it resolves to at every attempt (the delivery
worker), since a name can point elsewhere later.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import InvalidInput, not_found
from callplane.core.pagination import Page, keyset_page
from callplane.core.schemas import iso
from callplane.core.tenancy import scoped
from callplane.events import catalog
from callplane.events import service as events
from callplane.webhooks import outbox
from callplane.webhooks.models import DELIVERY_STATUSES, WebhookDelivery, WebhookEndpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Issued:
    """An endpoint with its new secret in clear: returned once, at creation and rotation."""

    endpoint: WebhookEndpoint
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_scheme(url: str, allow_http: bool) -> None:
    """Endpoints are https unless the operator allows http (CALLPLANE_WEBHOOKS_ALLOW_HTTP)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise InvalidInput(
            "webhook_url_not_https",
            "url: webhook endpoints must use https (set CALLPLANE_WEBHOOKS_ALLOW_HTTP=true to "
            "allow http in development)",
            {"field": "url", "value": url},
        )


def check_event_types(types: list[str]) -> list[str]:
    """The subscription without duplicates, in order; unknown names are a 422 naming them."""
    missing = catalog.unknown(types)
    if missing:
        raise InvalidInput(
            "unknown_event_type",
            f"event_types: unknown event type(s) {', '.join(missing)}; see GET /v1/event-types",
            {"field": "event_types", "unknown": missing},
        )
    unique = list(dict.fromkeys(types))
    return [catalog.ALL] if catalog.ALL in unique else unique


def create_endpoint(
    session: Session, actor: Actor, fields: dict[str, Any], *, allow_http: bool
) -> Issued:
    check_scheme(fields["url"], allow_http)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=ids.new_uuid(),
        workspace_id=actor.workspace_id,
        url=fields["url"],
        description=fields.get("description"),
        event_types=check_event_types(fields["event_types"]),
        enabled=fields["enabled"],
        disabled_reason=None if fields["enabled"] else "manual",
        secret=secret,
    )
    session.add(endpoint)
    session.flush()
    outbox.forget(session, actor.workspace_id)
    events.record(
        session,
        actor,
        "webhook_endpoint.created",
        [ids.render("webhook_endpoint", endpoint.id)],
        after=snapshot(endpoint),
    )
    return Issued(endpoint, secret)


def list_endpoints(
    session: Session, actor: Actor, *, cursor: str | None, limit: int
) -> Page[WebhookEndpoint]:
    query = scoped(WebhookEndpoint, actor.workspace_id)
    return keyset_page(session, query, WebhookEndpoint.id, cursor, limit)


def get_endpoint(
    session: Session, actor: Actor, ref: str, *, lock: bool = False
) -> WebhookEndpoint:
    endpoint_id = ids.parse("webhook_endpoint", ref)
    query = scoped(WebhookEndpoint, actor.workspace_id).where(WebhookEndpoint.id == endpoint_id)
    found = session.scalar(query.with_for_update() if lock else query) if endpoint_id else None
    if found is None:
        raise not_found("webhook_endpoint", ref)
    return found


def update_endpoint(
    session: Session, actor: Actor, ref: str, changes: dict[str, Any], *, allow_http: bool
) -> WebhookEndpoint:
    """A partial update; enabling an endpoint or changing its URL forgets its failures."""
    endpoint = get_endpoint(session, actor, ref, lock=True)
    before = snapshot(endpoint)
    if "url" in changes:
        check_scheme(changes["url"], allow_http)
        endpoint.url = changes["url"]
        endpoint.held_until = None  # a new address is worth trying at once
    if "event_types" in changes:
        endpoint.event_types = check_event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        endpoint.enabled = changes["enabled"]
        endpoint.disabled_reason = None if endpoint.enabled else "manual"
        endpoint.failing_since, endpoint.held_until = None, None
    endpoint.updated_at = utcnow()
    session.flush()
    outbox.forget(session, actor.workspace_id)
    events.record(
        session,
        actor,
        "webhook_endpoint.updated",
        [ids.render("webhook_endpoint", endpoint.id)],
        before=before,
        after=snapshot(endpoint),
    )
    return endpoint


def delete_endpoint(session: Session, actor: Actor, ref: str) -> WebhookEndpoint:
    """Delete the endpoint and its delivery log; nothing more is sent to it."""
    endpoint = get_endpoint(session, actor, ref, lock=True)
    before = snapshot(endpoint)
    outbox.forget(session, actor.workspace_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    events.record(
        session,
        actor,
        "webhook_endpoint.deleted",
        [ids.render("webhook_endpoint", endpoint.id)],
        before=before,
    )
    return endpoint


def rotate_secret(session: Session, actor: Actor, ref: str, overlap: dt.timedelta) -> Issued:
    """A new secret signs from now on; the current one keeps signing for ``overlap`` too.

    A rotation during an overlap drops the oldest secret: at most two ever sign.
    """
    endpoint = get_endpoint(session, actor, ref, lock=True)
    secret = new_secret()
    now = utcnow()
    if overlap > dt.timedelta(0) and endpoint.secret is not None:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = secret
    endpoint.updated_at = now
    session.flush()
    events.record(
        session,
        actor,
        "webhook_endpoint.secret_rotated",
        [ids.render("webhook_endpoint", endpoint.id)],
        after={"previous_secret_expires_at": iso(endpoint.previous_secret_expires_at)},
    )
    return Issued(endpoint, secret)


def list_deliveries(
    session: Session,
    actor: Actor,
    ref: str,
    *,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> Page[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    endpoint = get_endpoint(session, actor, ref)
    query = scoped(WebhookDelivery, actor.workspace_id).where(
        WebhookDelivery.endpoint_id == endpoint.id
    )
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise InvalidInput(
                "invalid_status",
                f"status: must be one of {', '.join(DELIVERY_STATUSES)}",
                {"field": "status", "value": status},
            )
        query = query.where(WebhookDelivery.status == status)
    return keyset_page(session, query, WebhookDelivery.id, cursor, limit, newest_first=True)


def redeliver(session: Session, actor: Actor, ref: str, delivery_ref: str) -> WebhookDelivery:
    """Send one delivery's event again, whatever became of it (same ``webhook-id``).

    A delivery in flight is left to its attempt; a waiting one is brought forward.
    """
    endpoint = get_endpoint(session, actor, ref)
    delivery_id = ids.parse("webhook_delivery", delivery_ref)
    delivery = (
        session.scalar(
            scoped(WebhookDelivery, actor.workspace_id)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
            .with_for_update()
        )
        if delivery_id
        else None
    )
    if delivery is None:
        raise not_found("webhook_delivery", delivery_ref)
    now = utcnow()
    if delivery.lease_id is None:
        delivery.status, delivery.next_attempt_at, delivery.scheduled_at = "pending", now, now
        delivery.updated_at = now
    events.record(
        session,
        actor,
        "webhook_endpoint.redelivery_requested",
        [ids.render("webhook_endpoint", endpoint.id), ids.render("webhook_delivery", delivery.id)],
        after={"deliveries": 1, "event_id": ids.render("event", delivery.event_id)},
    )
    return delivery


def redeliver_failed(session: Session, actor: Actor, ref: str) -> int:
    """Queue every ``failed`` delivery of the endpoint again; returns how many."""
    endpoint = get_endpoint(session, actor, ref, lock=True)
    now = utcnow()
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "failed")
        .values(status="pending", next_attempt_at=now, scheduled_at=now, updated_at=now)
    )
    count = int(result.rowcount)  # type: ignore[attr-defined]
    events.record(
        session,
        actor,
        "webhook_endpoint.redelivery_requested",
        [ids.render("webhook_endpoint", endpoint.id)],
        after={"deliveries": count, "status": "failed"},
    )
    return count


def snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never its secrets."""
    return {
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "description": endpoint.description,
    }
