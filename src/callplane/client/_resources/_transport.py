"""What a resource needs from its client: send one call, or list through a paginated one."""

from __future__ import annotations

from typing import Protocol, TypeVar
from urllib.parse import quote

from callplane.client._base_client import Call
from callplane.client._pagination import AsyncPager, Pager

T = TypeVar("T")


class Sends(Protocol):
    def _call(self, call: Call[T]) -> T: ...

    def _list(self, call: Call[list[T]]) -> Pager[T]: ...


class SendsAsync(Protocol):
    async def _call(self, call: Call[T]) -> T: ...

    def _list(self, call: Call[list[T]]) -> AsyncPager[T]: ...


def segment(value: str) -> str:
    """A path segment from a caller's value: an E.164 keeps its ``+``, a ``/`` cannot escape."""
    return quote(value, safe="+")
