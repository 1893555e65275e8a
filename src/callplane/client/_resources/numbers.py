"""``client.numbers``: the inventory, assignments, providers (buy, import, release)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, Unpack

from pydantic import TypeAdapter

from callplane.client._base_client import Call, keyed, present
from callplane.client._bulk_import import ImportReport, import_csv
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._params import NewNumber, NumberChanges
from callplane.client._resources._transport import Sends, SendsAsync, segment
from callplane.client._resources.agents import Agents
from callplane.client._resources.releases import AsyncReleases, Releases
from callplane.client._types import (
    AvailableNumber,
    Number,
    NumberHealth,
    NumbersSummary,
    ProviderImport,
)

__all__ = ["AsyncNumbers", "Numbers"]

Direction = Literal["inbound", "outbound"]
Provider = Literal["sandbox", "twilio"]
_NUMBER = TypeAdapter(Number)
_NUMBERS = TypeAdapter(list[Number])
_SUMMARY = Call("GET", "/v1/numbers/summary", TypeAdapter(NumbersSummary))
_HEALTH = TypeAdapter(NumberHealth)


def _path(number: str) -> str:
    return f"/v1/numbers/{segment(number)}"


def _create(
    e164: str, friendly_name: str | None, monthly_cost_cents: int | None, key: str | None
) -> Call[Number]:
    body = present(e164=e164, friendly_name=friendly_name, monthly_cost_cents=monthly_cost_cents)
    return Call("POST", "/v1/numbers", _NUMBER, json=body, idempotency_key=keyed(key))


def _create_batch(numbers: Sequence[str | NewNumber], key: str | None) -> Call[list[Number]]:
    items = [{"e164": n} if isinstance(n, str) else dict(n) for n in numbers]
    body = {"numbers": items}
    return Call("POST", "/v1/numbers/batch", _NUMBERS, json=body, idempotency_key=keyed(key))


def _list(
    agent_id: str | None,
    assignment: Literal["inbound", "outbound", "none"] | None,
    country: str | None,
    number_type: str | None,
    status: str | None,
    q: str | None,
    limit: int | None,
) -> Call[list[Number]]:
    params = present(
        agent_id=agent_id,
        assignment=assignment,
        country_code=country,
        number_type=number_type,
        status=status,
        q=q,
        limit=limit,
    )
    return Call("GET", "/v1/numbers", _NUMBERS, params)


def _assign(
    number: str, agent_id: str, assignment_type: Direction, replace: bool, key: str | None
) -> Call[Number]:
    body = {
        "number_id": number,
        "agent_id": agent_id,
        "assignment_type": assignment_type,
        "replace": replace,
    }
    return Call("POST", "/v1/numbers/assign", _NUMBER, json=body, idempotency_key=keyed(key))


def _unassign(
    number: str, assignment_type: Direction, agent_id: str | None, key: str | None
) -> Call[Number]:
    body = present(number_id=number, assignment_type=assignment_type, agent_id=agent_id)
    return Call("POST", "/v1/numbers/unassign", _NUMBER, json=body, idempotency_key=keyed(key))


def _available(
    provider: Provider, country: str, area_code: str | None, contains: str | None, limit: int
) -> Call[list[AvailableNumber]]:
    params = present(
        provider=provider, country=country, area_code=area_code, contains=contains, limit=limit
    )
    return Call("GET", "/v1/numbers/available", TypeAdapter(list[AvailableNumber]), params)


def _purchase(
    phone_numbers: Sequence[str], provider: Provider, agent_id: str | None, key: str | None
) -> Call[list[Number]]:
    body = present(provider=provider, phone_numbers=list(phone_numbers), agent_id=agent_id)
    return Call("POST", "/v1/numbers/purchase", _NUMBERS, json=body, idempotency_key=keyed(key))


def _import_from_provider(
    provider: Provider, configure_voice: bool, key: str | None
) -> Call[ProviderImport]:
    body = {"provider": provider, "configure_voice": configure_voice}
    result = TypeAdapter(ProviderImport)
    return Call("POST", "/v1/numbers/import", result, json=body, idempotency_key=keyed(key))


class Numbers:
    def __init__(self, client: Sends) -> None:
        self._client = client
        self.releases = Releases(client)

    def create(
        self,
        e164: str,
        *,
        friendly_name: str | None = None,
        monthly_cost_cents: int | None = None,
        idempotency_key: str | None = None,
    ) -> Number:
        """Add a number you already own to the inventory (409 if it is anyone's already)."""
        call = _create(e164, friendly_name, monthly_cost_cents, idempotency_key)
        return self._client._call(call)

    def create_batch(
        self, numbers: Sequence[str | NewNumber], *, idempotency_key: str | None = None
    ) -> builtins.list[Number]:
        """Add up to 1,000 numbers in one transaction: all of them, or none (422 names each)."""
        return self._client._call(_create_batch(numbers, idempotency_key))

    def import_csv(
        self,
        path: Path | str,
        *,
        agent_id: str | None = None,
        direction: Direction = "outbound",
        batch_size: int = 1000,
        on_progress: Callable[[int, int], None] | None = None,
        resume: bool = True,
    ) -> ImportReport:
        """Import a CSV of numbers in batches; rejected rows are reported, not raised.

        With ``resume`` a progress file next to the CSV lets a re-run go on where an interrupted
        one stopped; it is removed once every row is in. ``on_progress(settled, total)`` counts
        rows of the file.
        """
        return import_csv(
            self,
            Agents(self._client),
            Path(path),
            agent_id=agent_id,
            direction=direction,
            batch_size=batch_size,
            on_progress=on_progress,
            resume=resume,
        )

    def list(
        self,
        *,
        agent_id: str | None = None,
        assignment: Literal["inbound", "outbound", "none"] | None = None,
        country: str | None = None,
        number_type: Literal["local", "mobile", "toll_free", "other"] | None = None,
        status: Literal["active", "suspended"] | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> Pager[Number]:
        """Every number matching the filters (``q`` searches E.164, slug and name)."""
        call = _list(agent_id, assignment, country, number_type, status, q, limit)
        return self._client._list(call)

    def get(self, number: str) -> Number:
        """A number by id, E.164 or slug."""
        return self._client._call(Call("GET", _path(number), _NUMBER))

    def update(
        self, number: str, *, if_match: str | None = None, **changes: Unpack[NumberChanges]
    ) -> Number:
        """Change the keys given (``None`` clears)."""
        call = Call("PATCH", _path(number), _NUMBER, json=dict(changes), if_match=if_match)
        return self._client._call(call)

    def health(self, number: str) -> NumberHealth:
        """The number's caller-ID state, the figures behind it, and its caps."""
        return self._client._call(Call("GET", f"{_path(number)}/health", _HEALTH))

    def pause(self, number: str) -> NumberHealth:
        """Stop using the number as caller ID until it is resumed."""
        return self._client._call(Call("POST", f"{_path(number)}/health/pause", _HEALTH))

    def resume(self, number: str) -> NumberHealth:
        """Lift a pause, or end a bench early (on probation)."""
        return self._client._call(Call("POST", f"{_path(number)}/health/resume", _HEALTH))

    def delete(self, number: str, *, if_match: str | None = None) -> Number:
        """Detach the number from every agent and remove it; a purchased one is released."""
        return self._client._call(Call("DELETE", _path(number), _NUMBER, if_match=if_match))

    def release(self, number: str) -> Number:
        """Give a purchased number back to its provider: the same request as ``delete``.

        The release itself is queued and retried on the server: ``releases.list()`` shows it.
        """
        return self.delete(number)

    def assign(
        self,
        number: str,
        agent_id: str,
        *,
        assignment_type: Direction = "inbound",
        replace: bool = False,
        idempotency_key: str | None = None,
    ) -> Number:
        """Give the number to an agent; inbound, another agent's number is a ``Conflict``."""
        call = _assign(number, agent_id, assignment_type, replace, idempotency_key)
        return self._client._call(call)

    def unassign(
        self,
        number: str,
        assignment_type: Direction = "inbound",
        *,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Number:
        """Remove the number's assignment(s) in one direction (of one agent if given)."""
        call = _unassign(number, assignment_type, agent_id, idempotency_key)
        return self._client._call(call)

    def summary(self) -> NumbersSummary:
        return self._client._call(_SUMMARY)

    def available(
        self,
        *,
        provider: Provider = "sandbox",
        country: str = "US",
        area_code: str | None = None,
        contains: str | None = None,
        limit: int = 20,
    ) -> builtins.list[AvailableNumber]:
        """Numbers the provider offers for sale (at most 100)."""
        return self._client._call(_available(provider, country, area_code, contains, limit))

    def purchase(
        self,
        phone_numbers: Sequence[str],
        *,
        provider: Provider = "sandbox",
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> builtins.list[Number]:
        """Buy up to 100 numbers, all or none, and give them to the agent if one is named."""
        call = _purchase(phone_numbers, provider, agent_id, idempotency_key)
        return self._client._call(call)

    def import_from_provider(
        self,
        provider: Provider = "sandbox",
        *,
        configure_voice: bool = True,
        idempotency_key: str | None = None,
    ) -> ProviderImport:
        """Add the numbers the provider account already holds."""
        call = _import_from_provider(provider, configure_voice, idempotency_key)
        return self._client._call(call)


class AsyncNumbers:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client
        self.releases = AsyncReleases(client)

    async def create(
        self,
        e164: str,
        *,
        friendly_name: str | None = None,
        monthly_cost_cents: int | None = None,
        idempotency_key: str | None = None,
    ) -> Number:
        """Add a number you already own to the inventory (409 if it is anyone's already)."""
        call = _create(e164, friendly_name, monthly_cost_cents, idempotency_key)
        return await self._client._call(call)

    async def create_batch(
        self, numbers: Sequence[str | NewNumber], *, idempotency_key: str | None = None
    ) -> builtins.list[Number]:
        """Add up to 1,000 numbers in one transaction: all of them, or none (422 names each)."""
        return await self._client._call(_create_batch(numbers, idempotency_key))

    def list(
        self,
        *,
        agent_id: str | None = None,
        assignment: Literal["inbound", "outbound", "none"] | None = None,
        country: str | None = None,
        number_type: Literal["local", "mobile", "toll_free", "other"] | None = None,
        status: Literal["active", "suspended"] | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Number]:
        """Every number matching the filters (``q`` searches E.164, slug and name)."""
        call = _list(agent_id, assignment, country, number_type, status, q, limit)
        return self._client._list(call)

    async def get(self, number: str) -> Number:
        """A number by id, E.164 or slug."""
        return await self._client._call(Call("GET", _path(number), _NUMBER))

    async def update(
        self, number: str, *, if_match: str | None = None, **changes: Unpack[NumberChanges]
    ) -> Number:
        """Change the keys given (``None`` clears)."""
        call = Call("PATCH", _path(number), _NUMBER, json=dict(changes), if_match=if_match)
        return await self._client._call(call)

    async def health(self, number: str) -> NumberHealth:
        """The number's caller-ID state, the figures behind it, and its caps."""
        return await self._client._call(Call("GET", f"{_path(number)}/health", _HEALTH))

    async def pause(self, number: str) -> NumberHealth:
        """Stop using the number as caller ID until it is resumed."""
        return await self._client._call(Call("POST", f"{_path(number)}/health/pause", _HEALTH))

    async def resume(self, number: str) -> NumberHealth:
        """Lift a pause, or end a bench early (on probation)."""
        return await self._client._call(Call("POST", f"{_path(number)}/health/resume", _HEALTH))

    async def delete(self, number: str, *, if_match: str | None = None) -> Number:
        """Detach the number from every agent and remove it; a purchased one is released."""
        return await self._client._call(Call("DELETE", _path(number), _NUMBER, if_match=if_match))

    async def release(self, number: str) -> Number:
        """Give a purchased number back to its provider: the same request as ``delete``."""
        return await self.delete(number)

    async def assign(
        self,
        number: str,
        agent_id: str,
        *,
        assignment_type: Direction = "inbound",
        replace: bool = False,
        idempotency_key: str | None = None,
    ) -> Number:
        """Give the number to an agent; inbound, another agent's number is a ``Conflict``."""
        call = _assign(number, agent_id, assignment_type, replace, idempotency_key)
        return await self._client._call(call)

    async def unassign(
        self,
        number: str,
        assignment_type: Direction = "inbound",
        *,
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Number:
        """Remove the number's assignment(s) in one direction (of one agent if given)."""
        call = _unassign(number, assignment_type, agent_id, idempotency_key)
        return await self._client._call(call)

    async def summary(self) -> NumbersSummary:
        return await self._client._call(_SUMMARY)

    async def available(
        self,
        *,
        provider: Provider = "sandbox",
        country: str = "US",
        area_code: str | None = None,
        contains: str | None = None,
        limit: int = 20,
    ) -> builtins.list[AvailableNumber]:
        """Numbers the provider offers for sale (at most 100)."""
        return await self._client._call(_available(provider, country, area_code, contains, limit))

    async def purchase(
        self,
        phone_numbers: Sequence[str],
        *,
        provider: Provider = "sandbox",
        agent_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> builtins.list[Number]:
        """Buy up to 100 numbers, all or none, and give them to the agent if one is named."""
        call = _purchase(phone_numbers, provider, agent_id, idempotency_key)
        return await self._client._call(call)

    async def import_from_provider(
        self,
        provider: Provider = "sandbox",
        *,
        configure_voice: bool = True,
        idempotency_key: str | None = None,
    ) -> ProviderImport:
        """Add the numbers the provider account already holds."""
        call = _import_from_provider(provider, configure_voice, idempotency_key)
        return await self._client._call(call)
