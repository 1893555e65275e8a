"""``client.routing``: what the media plane asks on every call."""

from __future__ import annotations

from pydantic import TypeAdapter

from callplane.client._base_client import Call, present
from callplane.client._resources._transport import Sends, SendsAsync
from callplane.client._types import CallerIdSelection, InboundResolution

__all__ = ["AsyncRouting", "Routing"]


def _resolve_inbound(to: str, caller: str | None) -> Call[InboundResolution]:
    params = present(to=to) | present(**{"from": caller})
    return Call("GET", "/v1/routing/inbound", TypeAdapter(InboundResolution), params)


def _select_caller_id(agent_id: str, to: str, dry_run: bool) -> Call[CallerIdSelection]:
    body = {"agent_id": agent_id, "to": to, "dry_run": dry_run}
    return Call("POST", "/v1/routing/outbound", TypeAdapter(CallerIdSelection), json=body)


class Routing:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def resolve_inbound(self, to: str, *, caller: str | None = None) -> InboundResolution:
        """Which agent answers a call to ``to`` (from ``caller``, which decides country rules)."""
        return self._client._call(_resolve_inbound(to, caller))

    def select_caller_id(
        self, agent_id: str, to: str, *, dry_run: bool = False
    ) -> CallerIdSelection:
        """The number the agent's call to ``to`` goes out from; the use is counted unless
        ``dry_run``."""
        return self._client._call(_select_caller_id(agent_id, to, dry_run))


class AsyncRouting:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    async def resolve_inbound(self, to: str, *, caller: str | None = None) -> InboundResolution:
        """Which agent answers a call to ``to`` (from ``caller``, which decides country rules)."""
        return await self._client._call(_resolve_inbound(to, caller))

    async def select_caller_id(
        self, agent_id: str, to: str, *, dry_run: bool = False
    ) -> CallerIdSelection:
        """The number the agent's call to ``to`` goes out from; the use is counted unless
        ``dry_run``."""
        return await self._client._call(_select_caller_id(agent_id, to, dry_run))
