"""Workspaces and their API keys: creation, revocation, and turning a bearer token into an Actor."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict, Forbidden, InvalidInput, Unauthenticated, not_found
from callplane.core.secrets import display_prefix, generate_api_key, hash_api_key
from callplane.core.tenancy import scoped
from callplane.events import service as events
from callplane.workspaces.models import KEY_SCOPES, ApiKey, Workspace

MIN_KEY_LENGTH = 20


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as it exists only once: the plaintext is never stored and never shown again."""

    record: ApiKey
    plaintext: str


def create_workspace(
    session: Session, name: str, secret: str, *, first_key: str | None = None
) -> tuple[Workspace, IssuedKey]:
    name = name.strip()
    if not name:
        raise InvalidInput("invalid_name", "name: must not be empty", {"field": "name"})
    workspace = Workspace(id=ids.new_uuid(), name=name)
    session.add(workspace)
    session.flush()
    actor = Actor(workspace.id, None, None)
    events.record(
        session,
        actor,
        "workspace.created",
        [ids.render("workspace", workspace.id)],
        after={"name": name},
    )
    issued = create_key(session, actor, "default", secret, plaintext=first_key)
    return workspace, issued


def create_key(
    session: Session,
    actor: Actor,
    name: str,
    secret: str,
    *,
    plaintext: str | None = None,
    scope: str = "full",
    expires_at: dt.datetime | None = None,
) -> IssuedKey:
    if scope not in KEY_SCOPES:
        raise InvalidInput(
            "invalid_scope",
            f"scope: {scope!r} is not one of {', '.join(KEY_SCOPES)}",
            {"field": "scope", "value": scope, "allowed": list(KEY_SCOPES)},
        )
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput(
            "invalid_expiry", "expires_at: must be in the future", {"field": "expires_at"}
        )
    if session.get(Workspace, actor.workspace_id) is None:
        raise not_found("workspace", ids.render("workspace", actor.workspace_id))
    key = plaintext or generate_api_key()
    if len(key) < MIN_KEY_LENGTH or not key.isprintable() or " " in key:
        raise InvalidInput(
            "invalid_api_key_format",
            f"an API key needs at least {MIN_KEY_LENGTH} printable characters and no spaces",
        )
    key_hash = hash_api_key(key, secret)
    if session.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash)) is not None:
        raise Conflict("api_key_exists", "this API key is already registered")
    record = ApiKey(
        id=ids.new_uuid(),
        workspace_id=actor.workspace_id,
        name=name,
        key_hash=key_hash,
        key_prefix=display_prefix(key),
        scope=scope,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(record)
    events.record(
        session,
        actor,
        "api_key.created",
        [ids.render("api_key", record.id)],
        after={
            "name": name,
            "key_prefix": record.key_prefix,
            "scope": scope,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return IssuedKey(record, key)


def revoke_key(session: Session, key_id: uuid.UUID) -> ApiKey:
    record = session.get(ApiKey, key_id, with_for_update=True)
    if record is None:
        raise not_found("api_key", ids.render("api_key", key_id))
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        events.record(
            session,
            Actor(record.workspace_id, None, None),
            "api_key.revoked",
            [ids.render("api_key", record.id)],
        )
    return record


def require_token(token: str | None) -> str:
    if not token:
        raise Unauthenticated(
            "missing_api_key", "Authorization header with 'Bearer <api key>' is required"
        )
    return token


def authenticate(session: Session, token: str | None, secret: str, request_id: str) -> Actor:
    token = require_token(token)
    record = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(token, secret)))
    if record is None:
        raise Unauthenticated("invalid_api_key", "the API key is not valid")
    check_key_usable(record.revoked_at, record.expires_at)
    return Actor(record.workspace_id, record.id, request_id, record.scope)


def check_key_usable(revoked_at: dt.datetime | None, expires_at: dt.datetime | None) -> None:
    """A known key still works unless revoked or expired (also the hot paths' rule, which read
    the key with their own statement: routing/lookups.py)."""
    if revoked_at is not None:
        raise Unauthenticated("revoked_api_key", "the API key has been revoked")
    if expires_at is not None and expires_at <= utcnow():
        raise Unauthenticated("expired_api_key", "the API key has expired")


def require_full_scope(actor: Actor) -> None:
    """Changes need a full key; a read key may only read (and ask the routing questions)."""
    if actor.scope != "full":
        raise Forbidden(
            "insufficient_scope",
            "this API key is read-only; use a key with scope 'full' to change anything",
            {"scope": actor.scope, "required": "full"},
        )


def get_workspace(session: Session, actor: Actor) -> Workspace:
    workspace = session.get(Workspace, actor.workspace_id)
    if workspace is None:
        raise not_found("workspace", ids.render("workspace", actor.workspace_id))
    return workspace


SECRET_SETTINGS = frozenset({"twilio_auth_token"})


def update_workspace(session: Session, actor: Actor, changes: dict[str, Any]) -> Workspace:
    """Change name and telephony settings; secrets are recorded in the audit log as 'set' only."""
    workspace = session.get(Workspace, actor.workspace_id, with_for_update=True)
    if workspace is None:
        raise not_found("workspace", ids.render("workspace", actor.workspace_id))
    before = {name: _audit_value(name, getattr(workspace, name)) for name in changes}
    for name, value in changes.items():
        setattr(workspace, name, value)
    workspace.updated_at = utcnow()
    events.record(
        session,
        actor,
        "workspace.updated",
        [ids.render("workspace", workspace.id)],
        before=before,
        after={name: _audit_value(name, value) for name, value in changes.items()},
    )
    return workspace


def _audit_value(name: str, value: object) -> object:
    if name in SECRET_SETTINGS:
        return "set" if value else None
    return value


def ensure_default_workspace(
    session: Session, secret: str, bootstrap_key: str | None
) -> tuple[Workspace, IssuedKey] | None:
    """On the very first start, create the default workspace and its first key.

    Returns None when any workspace exists already: the first key is shown once, never again.
    """
    if session.scalar(select(func.count()).select_from(Workspace)):
        return None
    return create_workspace(session, "default", secret, first_key=bootstrap_key)


@dataclass(frozen=True, slots=True)
class WorkspaceListing:
    workspace: Workspace
    active_keys: int


def list_workspaces(session: Session) -> list[WorkspaceListing]:
    """Every workspace of the installation, oldest first (an operator's view, not a tenant's)."""
    active = (
        select(ApiKey.workspace_id, func.count().label("active_keys"))
        .where(ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.workspace_id)
        .subquery()
    )
    rows = session.execute(
        select(Workspace, func.coalesce(active.c.active_keys, 0))
        .outerjoin(active, active.c.workspace_id == Workspace.id)
        .order_by(Workspace.id)
    )
    return [WorkspaceListing(workspace, int(count)) for workspace, count in rows]


def list_keys(session: Session, workspace_id: uuid.UUID | None) -> list[ApiKey]:
    """The API keys of one workspace (or all), oldest first; ``last_used_at`` is kept by
    ``key_usage`` (to the minute)."""
    query = select(ApiKey) if workspace_id is None else scoped(ApiKey, workspace_id)
    return list(session.scalars(query.order_by(ApiKey.id)))
