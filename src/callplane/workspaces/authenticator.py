"""API keys as the native API's authenticator: what ``core.http`` asks of every request."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from callplane.core.context import Actor
from callplane.workspaces import service
from callplane.workspaces.key_usage import KeyUsage


class KeyAuthenticator:
    """Bearer tokens checked against the hashed API keys; uses recorded through ``KeyUsage``."""

    def __init__(self, secret: str, usage: KeyUsage) -> None:
        self._secret = secret
        self._usage = usage

    def authenticate(self, session: Session, token: str | None, request_id: str) -> Actor:
        return service.authenticate(session, token, self._secret, request_id)

    def require_full_scope(self, actor: Actor) -> None:
        service.require_full_scope(actor)

    def note_use(self, actor: Actor) -> Callable[[], None] | None:
        key_id = actor.key_id
        if key_id is None or not self._usage.due(key_id):
            return None
        return partial(self._usage.record, key_id)
