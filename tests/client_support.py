"""Clients of the library wired to the app in this process, and transports that misbehave."""

from __future__ import annotations

import httpx2
from fastapi.testclient import TestClient

from callplane.client import Client
from tests.helpers import Tenant


class InProcessTransport(httpx2.BaseTransport):
    """Hands each request to Starlette's TestClient: the real app, lifespan and all, no socket.

    A transport rather than the TestClient itself, so that the tests' misbehaving transports
    can wrap it.
    """

    def __init__(self, test_client: TestClient) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.test_client.request(
            request.method,
            str(request.url),
            headers=[(k, v) for k, v in request.headers.multi_items() if k != "host"],
            content=request.read(),
        )
        return httpx2.Response(
            answer.status_code,
            headers=answer.headers.multi_items(),
            content=answer.content,
            request=request,
        )


def client_for(tenant: Tenant, **options: object) -> Client:
    """A library client of the tenant's workspace, talking to the app in this process."""
    return Client(
        "http://testserver",
        tenant.key,
        transport=InProcessTransport(tenant.client),
        **options,  # type: ignore[arg-type]
    )
