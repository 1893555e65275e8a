"""``client.agents``: agents, and the numbers they answer and call from."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Literal, Unpack

from pydantic import TypeAdapter

from callplane.client._base_client import Call, keyed, present
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._params import AgentChanges, AgentFields
from callplane.client._resources._transport import Sends, SendsAsync, segment
from callplane.client._types import Agent, AttachResult, CallerId, Number

__all__ = ["Agents", "AsyncAgents"]

Direction = Literal["inbound", "outbound"]
_AGENT = TypeAdapter(Agent)
_AGENTS = TypeAdapter(list[Agent])
_NUMBERS = TypeAdapter(list[Number])
_ATTACHED = TypeAdapter(AttachResult)
_CALLER_IDS = TypeAdapter(list[CallerId])


def _path(agent_id: str, *rest: str) -> str:
    return "/".join(("/v1/agents", segment(agent_id), *map(segment, rest)))


def _create(name: str, type: Direction, fields: AgentFields, key: str | None) -> Call[Agent]:
    body = {"name": name, "type": type, **fields}
    return Call("POST", "/v1/agents", _AGENT, json=body, idempotency_key=keyed(key))


def _list(type: Direction | None, include_archived: bool, limit: int | None) -> Call[list[Agent]]:
    params = present(type=type, limit=limit)
    if include_archived:
        params["include_archived"] = "true"
    return Call("GET", "/v1/agents", _AGENTS, params)


def _attach(
    agent_id: str,
    phone_numbers: Sequence[str] | None,
    phone_number_slugs: Sequence[str] | None,
    number_ids: Sequence[str] | None,
    key: str | None,
) -> Call[AttachResult]:
    lists = {
        "phone_numbers": phone_numbers,
        "phone_number_slugs": phone_number_slugs,
        "number_ids": number_ids,
    }
    body = {name: list(values) for name, values in lists.items() if values is not None}
    path = _path(agent_id, "numbers")
    return Call("PUT", path, _ATTACHED, json=body, idempotency_key=keyed(key))


class Agents:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def create(
        self,
        name: str,
        type: Direction,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[AgentFields],
    ) -> Agent:
        """An ``inbound`` agent answers calls; an ``outbound`` one places them."""
        return self._client._call(_create(name, type, fields, idempotency_key))

    def list(
        self,
        *,
        type: Direction | None = None,
        include_archived: bool = False,
        limit: int | None = None,
    ) -> Pager[Agent]:
        """Every agent, oldest first; ``limit`` per page."""
        return self._client._list(_list(type, include_archived, limit))

    def get(self, agent_id: str) -> Agent:
        return self._client._call(Call("GET", _path(agent_id), _AGENT))

    def update(
        self, agent_id: str, *, if_match: str | None = None, **changes: Unpack[AgentChanges]
    ) -> Agent:
        """Change the keys given (``None`` clears), e.g. ``primary_number_id``."""
        call = Call("PATCH", _path(agent_id), _AGENT, json=dict(changes), if_match=if_match)
        return self._client._call(call)

    def archive(self, agent_id: str, *, if_match: str | None = None) -> Agent:
        """Archive the agent: it keeps its history and lets go of its numbers."""
        return self._client._call(Call("DELETE", _path(agent_id), _AGENT, if_match=if_match))

    def list_numbers(self, agent_id: str, *, limit: int | None = None) -> Pager[Number]:
        """The numbers the agent answers or calls from."""
        call = Call("GET", _path(agent_id, "numbers"), _NUMBERS, present(limit=limit))
        return self._client._list(call)

    def caller_ids(self, agent_id: str) -> builtins.list[CallerId]:
        """The agent's outbound numbers, each with its caller-ID state, figures and caps."""
        return self._client._call(Call("GET", _path(agent_id, "caller-ids"), _CALLER_IDS))

    def attach_numbers(
        self,
        agent_id: str,
        phone_numbers: Sequence[str] | None = None,
        *,
        phone_number_slugs: Sequence[str] | None = None,
        number_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> AttachResult:
        """Attach numbers outbound, all or none (idempotent: attached ones stay as they are)."""
        call = _attach(agent_id, phone_numbers, phone_number_slugs, number_ids, idempotency_key)
        return self._client._call(call)

    def detach_number(self, agent_id: str, number: str) -> Agent:
        """Take one number (id, E.164 or slug) from the agent, in both directions."""
        return self._client._call(Call("DELETE", _path(agent_id, "numbers", number), _AGENT))


class AsyncAgents:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    async def create(
        self,
        name: str,
        type: Direction,
        *,
        idempotency_key: str | None = None,
        **fields: Unpack[AgentFields],
    ) -> Agent:
        """An ``inbound`` agent answers calls; an ``outbound`` one places them."""
        return await self._client._call(_create(name, type, fields, idempotency_key))

    def list(
        self,
        *,
        type: Direction | None = None,
        include_archived: bool = False,
        limit: int | None = None,
    ) -> AsyncPager[Agent]:
        """Every agent, oldest first; ``limit`` per page."""
        return self._client._list(_list(type, include_archived, limit))

    async def get(self, agent_id: str) -> Agent:
        return await self._client._call(Call("GET", _path(agent_id), _AGENT))

    async def update(
        self, agent_id: str, *, if_match: str | None = None, **changes: Unpack[AgentChanges]
    ) -> Agent:
        """Change the keys given (``None`` clears), e.g. ``primary_number_id``."""
        call = Call("PATCH", _path(agent_id), _AGENT, json=dict(changes), if_match=if_match)
        return await self._client._call(call)

    async def archive(self, agent_id: str, *, if_match: str | None = None) -> Agent:
        """Archive the agent: it keeps its history and lets go of its numbers."""
        return await self._client._call(Call("DELETE", _path(agent_id), _AGENT, if_match=if_match))

    def list_numbers(self, agent_id: str, *, limit: int | None = None) -> AsyncPager[Number]:
        """The numbers the agent answers or calls from."""
        call = Call("GET", _path(agent_id, "numbers"), _NUMBERS, present(limit=limit))
        return self._client._list(call)

    async def caller_ids(self, agent_id: str) -> builtins.list[CallerId]:
        """The agent's outbound numbers, each with its caller-ID state, figures and caps."""
        return await self._client._call(Call("GET", _path(agent_id, "caller-ids"), _CALLER_IDS))

    async def attach_numbers(
        self,
        agent_id: str,
        phone_numbers: Sequence[str] | None = None,
        *,
        phone_number_slugs: Sequence[str] | None = None,
        number_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> AttachResult:
        """Attach numbers outbound, all or none (idempotent: attached ones stay as they are)."""
        call = _attach(agent_id, phone_numbers, phone_number_slugs, number_ids, idempotency_key)
        return await self._client._call(call)

    async def detach_number(self, agent_id: str, number: str) -> Agent:
        """Take one number (id, E.164 or slug) from the agent, in both directions."""
        return await self._client._call(Call("DELETE", _path(agent_id, "numbers", number), _AGENT))
