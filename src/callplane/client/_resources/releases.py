"""``client.numbers.releases``: purchased numbers being given back to their providers."""

from __future__ import annotations

from typing import Literal

from pydantic import TypeAdapter

from callplane.client._base_client import Call, keyed, present
from callplane.client._pagination import AsyncPager, Pager
from callplane.client._resources._transport import Sends, SendsAsync, segment
from callplane.client._types import Release

__all__ = ["AsyncReleases", "Releases"]

Status = Literal["pending", "released", "failed"]
_RELEASES = TypeAdapter(list[Release])
_RELEASE = TypeAdapter(Release)


def _list(status: Status | None, limit: int | None) -> Call[list[Release]]:
    return Call("GET", "/v1/numbers/releases", _RELEASES, present(status=status, limit=limit))


def _retry(release_id: str, key: str | None) -> Call[Release]:
    path = f"/v1/numbers/releases/{segment(release_id)}/retry"
    return Call("POST", path, _RELEASE, idempotency_key=keyed(key))


class Releases:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def list(self, *, status: Status | None = None, limit: int | None = None) -> Pager[Release]:
        """Releases, newest first."""
        return self._client._list(_list(status, limit))

    def retry(self, release_id: str, *, idempotency_key: str | None = None) -> Release:
        """Queue a ``failed`` release again (after fixing the provider credentials, say)."""
        return self._client._call(_retry(release_id, idempotency_key))


class AsyncReleases:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    def list(
        self, *, status: Status | None = None, limit: int | None = None
    ) -> AsyncPager[Release]:
        """Releases, newest first."""
        return self._client._list(_list(status, limit))

    async def retry(self, release_id: str, *, idempotency_key: str | None = None) -> Release:
        """Queue a ``failed`` release again (after fixing the provider credentials, say)."""
        return await self._client._call(_retry(release_id, idempotency_key))
