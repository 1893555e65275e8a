"""The async client against the real app in process (``httpx2.ASGITransport``) on both
databases: the same calls awaited, lists walked with ``async for``, the same exceptions."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from callplane.app import create_app
from callplane.client import AsyncClient, Conflict, NotFound
from tests.helpers import Backend, Tenant, settings_for


def test_the_async_client_against_the_app(backend: Backend, tenant: Tenant) -> None:
    app = create_app(settings_for(backend), backend.database)
    requests: list[httpx2.Request] = []

    async def main() -> None:
        async with (
            app.router.lifespan_context(app),
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=app), event_hooks={"request": [remember]}
            ) as http,
        ):
            # An injected httpx2 client: the library sends through it and leaves it open.
            client = AsyncClient("http://testserver", tenant.key, http_client=http)
            desk = await client.agents.create(
                "Desk", "inbound", stream_url="wss://media.example/desk"
            )
            created = await client.numbers.create_batch(
                [f"+1415555{i:04d}" for i in range(100, 109)]
            )
            await client.numbers.assign(created[0].e164, desk.id)
            with pytest.raises(Conflict):
                await client.agents.attach_numbers(desk.id, [created[1].e164])

            requests.clear()
            listed = [n.id async for n in client.numbers.list(limit=2)]
            assert listed == [n.id for n in created] and len(requests) == 5
            pages = [len(p.items) async for p in client.numbers.list(limit=4).pages()]
            assert pages == [4, 4, 1]

            resolution = await client.routing.resolve_inbound(created[0].e164)
            assert resolution.agent is not None and resolution.agent.id == desk.id
            assert (await client.numbers.get(created[0].slug)).inbound_agent_id == desk.id
            with pytest.raises(NotFound) as missing:
                await client.numbers.delete("+12025550100")
            assert missing.value.request_id.startswith("req_")
            events = [e.type async for e in client.events.list(type="number.assigned")]
            assert events == ["number.assigned"]
            assert (await client.workspace.get()).id == tenant.workspace_id
            await client.close()
            assert not http.is_closed

    async def remember(request: httpx2.Request) -> None:
        requests.append(request)

    asyncio.run(main())
