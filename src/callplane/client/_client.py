"""``Client`` and ``AsyncClient``: the base client's requests, sent, retried and waited for."""

from __future__ import annotations

import copy
import time
from types import TracebackType
from typing import Self, TypeVar

import anyio
import httpx2

from callplane.client._base_client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    IDEMPOTENCY_HEADER,
    BaseClient,
    Call,
    Page,
    new_request_id,
)
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._resources.agents import Agents, AsyncAgents
from callplane.client._resources.events import AsyncEvents, Events
from callplane.client._resources.numbers import AsyncNumbers, Numbers
from callplane.client._resources.routing import AsyncRouting, Routing
from callplane.client._resources.webhook_endpoints import AsyncWebhookEndpoints, WebhookEndpoints
from callplane.client._resources.workspace import AsyncWorkspaceResource, WorkspaceResource

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")


class Client(BaseClient):
    """A callplane API client: ``Client(base_url, api_key)``, or from the environment.

    ``base_url`` defaults to ``CALLPLANE_URL`` (else ``http://127.0.0.1:8080``), ``api_key`` to
    ``CALLPLANE_API_KEY``. Pass ``http_client`` (an ``httpx2.Client``, which you then close) or
    ``transport`` to choose how requests travel, e.g. to an app in the same process in tests.
    """

    numbers: Numbers
    agents: Agents
    routing: Routing
    events: Events
    workspace: WorkspaceResource
    webhook_endpoints: WebhookEndpoints

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx2.Client | None = None,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries)
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        self._owns_http = http_client is None
        self._http = http_client or httpx2.Client(transport=transport)
        self._bind()

    def _bind(self) -> None:
        self.numbers = Numbers(self)
        self.agents = Agents(self)
        self.routing = Routing(self)
        self.events = Events(self)
        self.workspace = WorkspaceResource(self)
        self.webhook_endpoints = WebhookEndpoints(self)

    def with_options(
        self, *, timeout: float | httpx2.Timeout | None = None, max_retries: int | None = None
    ) -> Client:
        """A client with other settings that shares this one's connections."""
        other = copy.copy(self)
        other.timeout = self.timeout if timeout is None else timeout
        other.max_retries = self.max_retries if max_retries is None else max_retries
        other._owns_http = False
        other._bind()
        return other

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, call: Call[T]) -> T:
        request_id = new_request_id()
        response = self._send(
            call.method, call.path, call.params, call.json, request_id, call.headers()
        )
        return self._result(call, response, request_id)

    def _list(self, call: Call[list[T]]) -> Pager[T]:
        def fetch(cursor: str | None) -> Page[T]:
            params = {**(call.params or {}), **({"cursor": cursor} if cursor else {})}
            request_id = new_request_id()
            response = self._send(call.method, call.path, params, None, request_id)
            return self._page(call.result, response, request_id)

        return Pager(fetch)

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, object] | None,
        json: object,
        request_id: str,
        headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """One call, retried while the base client says it is safe and worth it."""
        attempt = 0
        while True:
            request = self._build_request(
                self._http, method, path, params, json, request_id, headers
            )
            outcome: httpx2.Response | httpx2.TransportError
            try:
                outcome = self._http.send(request)
            except httpx2.TransportError as exc:
                outcome = exc
            delay = self._retry_delay(
                method, attempt, outcome, keyed=IDEMPOTENCY_HEADER in (headers or {})
            )
            if delay is None:
                if isinstance(outcome, httpx2.TransportError):
                    raise self._transport_error(outcome, request, request_id) from outcome
                return outcome
            if isinstance(outcome, httpx2.Response):
                outcome.close()
            time.sleep(delay)
            attempt += 1


class AsyncClient(BaseClient):
    """The asynchronous twin of ``Client``: the same namespaces, awaited; lists ``async for``."""

    numbers: AsyncNumbers
    agents: AsyncAgents
    routing: AsyncRouting
    events: AsyncEvents
    workspace: AsyncWorkspaceResource
    webhook_endpoints: AsyncWebhookEndpoints

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries)
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        self._owns_http = http_client is None
        self._http = http_client or httpx2.AsyncClient(transport=transport)
        self._bind()

    def _bind(self) -> None:
        self.numbers = AsyncNumbers(self)
        self.agents = AsyncAgents(self)
        self.routing = AsyncRouting(self)
        self.events = AsyncEvents(self)
        self.workspace = AsyncWorkspaceResource(self)
        self.webhook_endpoints = AsyncWebhookEndpoints(self)

    def with_options(
        self, *, timeout: float | httpx2.Timeout | None = None, max_retries: int | None = None
    ) -> AsyncClient:
        """A client with other settings that shares this one's connections."""
        other = copy.copy(self)
        other.timeout = self.timeout if timeout is None else timeout
        other.max_retries = self.max_retries if max_retries is None else max_retries
        other._owns_http = False
        other._bind()
        return other

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, call: Call[T]) -> T:
        request_id = new_request_id()
        response = await self._send(
            call.method, call.path, call.params, call.json, request_id, call.headers()
        )
        return self._result(call, response, request_id)

    def _list(self, call: Call[list[T]]) -> AsyncPager[T]:
        async def fetch(cursor: str | None) -> Page[T]:
            params = {**(call.params or {}), **({"cursor": cursor} if cursor else {})}
            request_id = new_request_id()
            response = await self._send(call.method, call.path, params, None, request_id)
            return self._page(call.result, response, request_id)

        return AsyncPager(fetch)

    async def _send(
        self,
        method: str,
        path: str,
        params: dict[str, object] | None,
        json: object,
        request_id: str,
        headers: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """One call, retried while the base client says it is safe and worth it."""
        attempt = 0
        while True:
            request = self._build_request(
                self._http, method, path, params, json, request_id, headers
            )
            outcome: httpx2.Response | httpx2.TransportError
            try:
                outcome = await self._http.send(request)
            except httpx2.TransportError as exc:
                outcome = exc
            delay = self._retry_delay(
                method, attempt, outcome, keyed=IDEMPOTENCY_HEADER in (headers or {})
            )
            if delay is None:
                if isinstance(outcome, httpx2.TransportError):
                    raise self._transport_error(outcome, request, request_id) from outcome
                return outcome
            if isinstance(outcome, httpx2.Response):
                await outcome.aclose()
            await anyio.sleep(delay)
            attempt += 1
