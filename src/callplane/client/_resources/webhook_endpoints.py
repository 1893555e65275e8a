"""``client.webhook_endpoints``: where events are posted, their secrets and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Unpack

from pydantic import BaseModel, TypeAdapter

from callplane.client._base_client import Call, present
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._params import WebhookEndpointChanges
from callplane.client._resources._transport import Sends, SendsAsync, segment
from callplane.client._types import (
    EventType,
    IssuedWebhookEndpoint,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = ["AsyncWebhookEndpoints", "WebhookEndpoints"]

Status = Literal["pending", "succeeded", "failed"]


class _Requeued(BaseModel):
    requeued: int


_ENDPOINT = TypeAdapter(WebhookEndpoint)
_ENDPOINTS = TypeAdapter(list[WebhookEndpoint])
_ISSUED = TypeAdapter(IssuedWebhookEndpoint)
_DELIVERY = TypeAdapter(WebhookDelivery)
_DELIVERIES = TypeAdapter(list[WebhookDelivery])
_REQUEUED = TypeAdapter(_Requeued)
EventTypes = list[EventType]
_EVENT_TYPES = TypeAdapter(EventTypes)


def _path(endpoint_id: str, *rest: str) -> str:
    return "/".join(("/v1/webhook-endpoints", segment(endpoint_id), *map(segment, rest)))


def _create(
    url: str, event_types: Sequence[str] | None, description: str | None, enabled: bool
) -> Call[IssuedWebhookEndpoint]:
    body = {
        "url": url,
        "enabled": enabled,
        **present(description=description),
        **({"event_types": list(event_types)} if event_types is not None else {}),
    }
    return Call("POST", "/v1/webhook-endpoints", _ISSUED, json=body)


def _rotate(endpoint_id: str, overlap_seconds: int | None) -> Call[IssuedWebhookEndpoint]:
    body = present(overlap_seconds=overlap_seconds)
    return Call("POST", _path(endpoint_id, "rotate-secret"), _ISSUED, json=body)


def _deliveries(
    endpoint_id: str, status: Status | None, limit: int | None
) -> Call[list[WebhookDelivery]]:
    params = present(status=status, limit=limit)
    return Call("GET", _path(endpoint_id, "deliveries"), _DELIVERIES, params)


def _redeliver(endpoint_id: str, delivery_id: str) -> Call[WebhookDelivery]:
    return Call("POST", _path(endpoint_id, "deliveries", delivery_id, "redeliver"), _DELIVERY)


def _redeliver_failed(endpoint_id: str) -> Call[_Requeued]:
    return Call("POST", _path(endpoint_id, "deliveries", "redeliver-failed"), _REQUEUED)


_LIST_TYPES = Call("GET", "/v1/event-types", _EVENT_TYPES)


class WebhookEndpoints:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def create(
        self,
        url: str,
        *,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> IssuedWebhookEndpoint:
        """A new endpoint (every event type unless ``event_types``); keep its ``secret``."""
        return self._client._call(_create(url, event_types, description, enabled))

    def list(self, *, limit: int | None = None) -> Pager[WebhookEndpoint]:
        """Every endpoint of the workspace, oldest first."""
        call = Call("GET", "/v1/webhook-endpoints", _ENDPOINTS, present(limit=limit))
        return self._client._list(call)

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return self._client._call(Call("GET", _path(endpoint_id), _ENDPOINT))

    def update(
        self, endpoint_id: str, **changes: Unpack[WebhookEndpointChanges]
    ) -> WebhookEndpoint:
        """Change the keys given: ``url``, ``event_types``, ``description``, ``enabled``."""
        call = Call("PATCH", _path(endpoint_id), _ENDPOINT, json=dict(changes))
        return self._client._call(call)

    def delete(self, endpoint_id: str) -> WebhookEndpoint:
        """Delete the endpoint and its delivery log."""
        return self._client._call(Call("DELETE", _path(endpoint_id), _ENDPOINT))

    def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> IssuedWebhookEndpoint:
        """A new secret; the old one also signs for ``overlap_seconds`` (server default 24 h)."""
        return self._client._call(_rotate(endpoint_id, overlap_seconds))

    def list_deliveries(
        self, endpoint_id: str, *, status: Status | None = None, limit: int | None = None
    ) -> Pager[WebhookDelivery]:
        """The endpoint's deliveries, newest first."""
        return self._client._list(_deliveries(endpoint_id, status, limit))

    def redeliver(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send one delivery's event again (same ``webhook-id``)."""
        return self._client._call(_redeliver(endpoint_id, delivery_id))

    def redeliver_failed(self, endpoint_id: str) -> int:
        """Queue every failed delivery of the endpoint again; returns how many."""
        return self._client._call(_redeliver_failed(endpoint_id)).requeued

    def event_types(self) -> EventTypes:
        """Every event type an endpoint can subscribe to."""
        return self._client._call(_LIST_TYPES)


class AsyncWebhookEndpoints:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    async def create(
        self,
        url: str,
        *,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> IssuedWebhookEndpoint:
        """A new endpoint (every event type unless ``event_types``); keep its ``secret``."""
        return await self._client._call(_create(url, event_types, description, enabled))

    def list(self, *, limit: int | None = None) -> AsyncPager[WebhookEndpoint]:
        """Every endpoint of the workspace, oldest first."""
        call = Call("GET", "/v1/webhook-endpoints", _ENDPOINTS, present(limit=limit))
        return self._client._list(call)

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._client._call(Call("GET", _path(endpoint_id), _ENDPOINT))

    async def update(
        self, endpoint_id: str, **changes: Unpack[WebhookEndpointChanges]
    ) -> WebhookEndpoint:
        """Change the keys given: ``url``, ``event_types``, ``description``, ``enabled``."""
        call = Call("PATCH", _path(endpoint_id), _ENDPOINT, json=dict(changes))
        return await self._client._call(call)

    async def delete(self, endpoint_id: str) -> WebhookEndpoint:
        """Delete the endpoint and its delivery log."""
        return await self._client._call(Call("DELETE", _path(endpoint_id), _ENDPOINT))

    async def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> IssuedWebhookEndpoint:
        """A new secret; the old one also signs for ``overlap_seconds`` (server default 24 h)."""
        return await self._client._call(_rotate(endpoint_id, overlap_seconds))

    def list_deliveries(
        self, endpoint_id: str, *, status: Status | None = None, limit: int | None = None
    ) -> AsyncPager[WebhookDelivery]:
        """The endpoint's deliveries, newest first."""
        return self._client._list(_deliveries(endpoint_id, status, limit))

    async def redeliver(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send one delivery's event again (same ``webhook-id``)."""
        return await self._client._call(_redeliver(endpoint_id, delivery_id))

    async def redeliver_failed(self, endpoint_id: str) -> int:
        """Queue every failed delivery of the endpoint again; returns how many."""
        return (await self._client._call(_redeliver_failed(endpoint_id))).requeued

    async def event_types(self) -> EventTypes:
        """Every event type an endpoint can subscribe to."""
        return await self._client._call(_LIST_TYPES)
