"""Clients of the library wired to the app in this process, and transports that misbehave."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from callplane.client import Client
from tests.helpers import Tenant


class InProcessTransport(httpx.BaseTransport):
    """Hands each request to Starlette's TestClient: the real app, lifespan and all, no socket.

    The TestClient speaks ``httpx2``; the library speaks ``httpx``: this carries the request
    and the answer across unchanged.
    """

    def __init__(self, test_client: TestClient) -> None:
        self.test_client = test_client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.test_client.request(
            request.method,
            str(request.url),
            headers=[(k, v) for k, v in request.headers.multi_items() if k != "host"],
            content=request.read(),
        )
        return httpx.Response(
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
