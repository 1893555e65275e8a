"""``client.routing``: what the media plane asks on every call."""

from __future__ import annotations

from typing import Literal

from pydantic import TypeAdapter

from callplane.client._base_client import Call, present
from callplane.client._resources._transport import Sends, SendsAsync, segment
from callplane.client._types import CallerIdSelection, CallOutcome, InboundResolution

__all__ = ["AsyncRouting", "Routing"]

Outcome = Literal["answered", "no_answer", "busy", "failed", "voicemail", "rejected"]


def _resolve_inbound(to: str, caller: str | None) -> Call[InboundResolution]:
    params = present(to=to) | present(**{"from": caller})
    return Call("GET", "/v1/routing/inbound", TypeAdapter(InboundResolution), params)


def _select_caller_id(agent_id: str, to: str, dry_run: bool) -> Call[CallerIdSelection]:
    body = {"agent_id": agent_id, "to": to, "dry_run": dry_run}
    return Call("POST", "/v1/routing/outbound", TypeAdapter(CallerIdSelection), json=body)


def _report_outcome(
    selection_id: str, outcome: Outcome, duration_seconds: int | None
) -> Call[CallOutcome]:
    path = f"/v1/routing/outbound/{segment(selection_id)}/outcome"
    body = {"outcome": outcome} | present(duration_seconds=duration_seconds)
    return Call("POST", path, TypeAdapter(CallOutcome), json=body)


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

    def report_outcome(
        self, selection_id: str, outcome: Outcome, *, duration_seconds: int | None = None
    ) -> CallOutcome:
        """How the selected call went, once (the same again is a replay; another is a 409)."""
        return self._client._call(_report_outcome(selection_id, outcome, duration_seconds))


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

    async def report_outcome(
        self, selection_id: str, outcome: Outcome, *, duration_seconds: int | None = None
    ) -> CallOutcome:
        """How the selected call went, once (the same again is a replay; another is a 409)."""
        return await self._client._call(_report_outcome(selection_id, outcome, duration_seconds))
