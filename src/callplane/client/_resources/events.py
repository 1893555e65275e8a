"""``client.events``: the audit log, newest first."""

from __future__ import annotations

from pydantic import TypeAdapter

from callplane.client._base_client import Call, present
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._resources._transport import Sends, SendsAsync
from callplane.client._types import Event

__all__ = ["AsyncEvents", "Events"]

_EVENTS = TypeAdapter(list[Event])


def _list(type: str | None, limit: int | None) -> Call[list[Event]]:
    return Call("GET", "/v1/events", _EVENTS, present(type=type, limit=limit))


class Events:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def list(self, *, type: str | None = None, limit: int | None = None) -> Pager[Event]:
        """Every event, newest first (``type`` e.g. ``number.created``); ``limit`` per page."""
        return self._client._list(_list(type, limit))


class AsyncEvents:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    def list(self, *, type: str | None = None, limit: int | None = None) -> AsyncPager[Event]:
        """Every event, newest first (``type`` e.g. ``number.created``); ``limit`` per page."""
        return self._client._list(_list(type, limit))
