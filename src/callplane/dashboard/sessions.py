"""Signing in and out of the dashboard: an API key becomes a server-side session.

The browser holds only a random token, signed and time-stamped; the database holds its hash,
the key that signed in, and the session's CSRF token. Every request re-checks that key, so a
revoked key signs its sessions out at their next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.dashboard.models import DashboardSession
from callplane.workspaces.models import ApiKey, Workspace
from callplane.workspaces.service import authenticate

LIFETIME = dt.timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is at the keyboard: the key's workspace, and the session's CSRF token."""

    actor: Actor
    workspace_name: str
    key_prefix: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, api_key: str, secret: str, request_id: str) -> str:
    """Check the key exactly as the API does; returns the new session's token for the cookie."""
    actor = authenticate(session, api_key.strip(), secret, request_id)
    now = utcnow()
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    assert actor.key_id is not None  # authenticate() always names the key
    session.add(
        DashboardSession(
            token_hash=_hash(token),
            workspace_id=actor.workspace_id,
            key_id=actor.key_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return token


def current(session: Session, token: str, request_id: str) -> SignedIn | None:
    """The session behind a token, or None when it expired, was ended or its key was revoked."""
    row = session.execute(
        select(DashboardSession, ApiKey, Workspace.name)
        .join(ApiKey, ApiKey.id == DashboardSession.key_id)
        .join(Workspace, Workspace.id == DashboardSession.workspace_id)
        .where(DashboardSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    record, key, workspace_name = row
    if key.revoked_at is not None or record.expires_at <= utcnow():
        return None
    return SignedIn(
        Actor(record.workspace_id, key.id, request_id),
        workspace_name,
        key.key_prefix,
        record.csrf_token,
    )


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(DashboardSession).where(DashboardSession.token_hash == _hash(token)))
