"""``client.workspace``: the workspace of the API key, and its telephony settings."""

from __future__ import annotations

from typing import Unpack

from pydantic import TypeAdapter

from callplane.client._base_client import Call
from callplane.client._params import CallerIdPolicyChanges, WorkspaceChanges
from callplane.client._resources._transport import Sends, SendsAsync
from callplane.client._types import CallerIdPolicy, Workspace

__all__ = ["AsyncWorkspaceResource", "WorkspaceResource"]

_WORKSPACE = TypeAdapter(Workspace)
_GET = Call("GET", "/v1/workspace", _WORKSPACE)
_POLICY = TypeAdapter(CallerIdPolicy)
_GET_POLICY = Call("GET", "/v1/workspace/caller-id-policy", _POLICY)


def _update_policy(changes: CallerIdPolicyChanges) -> Call[CallerIdPolicy]:
    return Call("PATCH", "/v1/workspace/caller-id-policy", _POLICY, json=dict(changes))


def _update(changes: WorkspaceChanges) -> Call[Workspace]:
    return Call("PATCH", "/v1/workspace", _WORKSPACE, json=dict(changes))


class WorkspaceResource:
    def __init__(self, client: Sends) -> None:
        self._client = client

    def get(self) -> Workspace:
        return self._client._call(_GET)

    def update(self, **changes: Unpack[WorkspaceChanges]) -> Workspace:
        """Change the keys given (``None`` clears); the Twilio auth token is write-only."""
        return self._client._call(_update(changes))

    def caller_id_policy(self) -> CallerIdPolicy:
        return self._client._call(_GET_POLICY)

    def update_caller_id_policy(self, **changes: Unpack[CallerIdPolicyChanges]) -> CallerIdPolicy:
        """Change the thresholds given; the others keep their values."""
        return self._client._call(_update_policy(changes))


class AsyncWorkspaceResource:
    def __init__(self, client: SendsAsync) -> None:
        self._client = client

    async def get(self) -> Workspace:
        return await self._client._call(_GET)

    async def update(self, **changes: Unpack[WorkspaceChanges]) -> Workspace:
        """Change the keys given (``None`` clears); the Twilio auth token is write-only."""
        return await self._client._call(_update(changes))

    async def caller_id_policy(self) -> CallerIdPolicy:
        return await self._client._call(_GET_POLICY)

    async def update_caller_id_policy(
        self, **changes: Unpack[CallerIdPolicyChanges]
    ) -> CallerIdPolicy:
        """Change the thresholds given; the others keep their values."""
        return await self._client._call(_update_policy(changes))
