"""The idempotency-key store: claim a key, answer a repeat from it, record the first answer.

One transaction. The request's own transaction inserts the key's row before the endpoint runs
and fills in the answer after it; the change and its record commit together, so no crash can
leave a change without its record or a record without its change, and nothing is left to clean
up after a crash (a dead server's transaction is rolled back by the database, row and all).

"In flight" is a transaction holding the key. On PostgreSQL each key has a transaction-scoped
advisory lock, taken without waiting: a second request while the first runs gets 409
``idempotency_request_in_flight`` at once, whichever server it reaches, and the unique
constraint on (workspace, API key, key) stays the arbiter of what is stored. SQLite runs one
writing transaction at a time, so there the second request waits for the first and is
answered with its replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from callplane.core.db import Database, utcnow
from callplane.core.errors import Conflict, InvalidInput
from callplane.idempotency.models import IdempotencyKey

TTL = dt.timedelta(hours=24)
PRUNE_BATCH = 1000
MAX_KEY_LENGTH = 255
# Visible ASCII: a UUID, a ULID, "order-42/attempt"; never spaces or control characters.
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
# The headers of an answer that belong to it (not to the connection or to this delivery).
REPLAYED_HEADERS = ("content-type", "location", "etag")


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose keys: one API key's, in one workspace."""

    workspace_id: uuid.UUID
    api_key_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Fingerprint:
    method: str
    path: str
    digest: str

    @classmethod
    def of(cls, method: str, path: str, body: bytes) -> Fingerprint:
        """Same method, same path (and query), same JSON once keys are sorted: same request."""
        try:
            canonical = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        except ValueError:
            canonical = body
        digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), canonical]))
        return cls(method, path, digest.hexdigest())


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def checked_key(header: str, value: str) -> str:
    if not _KEY.fullmatch(value):
        raise InvalidInput(
            "invalid_idempotency_key",
            f"{header}: 1 to {MAX_KEY_LENGTH} visible ASCII characters (a UUID, say)",
            {"header": header, "length": len(value)},
        )
    return value


def claim(
    session: Session, scope: Scope, key: str, fingerprint: Fingerprint
) -> uuid.UUID | StoredAnswer:
    """The first answer to replay, or the id of a new claim on ``key`` for this request."""
    _hold(session, scope, key)
    now = utcnow()
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.workspace_id == scope.workspace_id,
            IdempotencyKey.api_key_id == scope.api_key_id,
            IdempotencyKey.key == key,
        )
    )
    if row is not None and row.expires_at <= now:  # expired, not yet pruned: a new key
        session.delete(row)
        session.flush()
        row = None
    if row is None:
        claimed = IdempotencyKey(
            workspace_id=scope.workspace_id,
            api_key_id=scope.api_key_id,
            key=key,
            fingerprint=fingerprint.digest,
            method=fingerprint.method,
            path=fingerprint.path[:2048],
            created_at=now,
            expires_at=now + TTL,
        )
        session.add(claimed)
        session.flush()
        return claimed.id
    if row.fingerprint != fingerprint.digest:
        raise InvalidInput(
            "idempotency_key_reused",
            f"this idempotency key was used for another request ({row.method} {row.path}, "
            "or another body) in the last 24 hours; use a new key for a new request",
            {"method": row.method, "path": row.path},
        )
    if row.status is None or row.body is None:
        raise _in_flight()
    return StoredAnswer(row.status, dict(row.headers or {}), row.body)


def record(session: Session, claim_id: uuid.UUID, answer: StoredAnswer) -> None:
    """Keep the first answer, in the transaction that produced it."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claim_id)
        .values(status=answer.status, headers=answer.headers, body=answer.body)
    )


def prune(database: Database, now: dt.datetime | None = None) -> int:
    """Delete the keys past their 24 hours, a batch per short transaction; returns how many.

    Short transactions: on SQLite a delete holds the one write lock every request needs.
    """
    cutoff = now or utcnow()
    pruned = 0
    while True:
        with database.transaction() as session:
            expired = select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= cutoff)
            batch = list(session.scalars(expired.limit(PRUNE_BATCH)))
            if batch:
                session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(batch)))
        pruned += len(batch)
        if len(batch) < PRUNE_BATCH:
            return pruned


def _hold(session: Session, scope: Scope, key: str) -> None:
    """PostgreSQL: take the key for this transaction, or answer 409 if another one holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if not session.scalar(select(func.pg_try_advisory_xact_lock(advisory_lock_id(scope, key)))):
        raise _in_flight()


def advisory_lock_id(scope: Scope, key: str) -> int:
    """The key's PostgreSQL advisory lock: 64 bits of a hash of whose key it is and the key."""
    name = f"{scope.workspace_id}:{scope.api_key_id}:{key}".encode()
    return int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)


def _in_flight() -> Conflict:
    return Conflict(
        "idempotency_request_in_flight",
        "a request with this idempotency key is still being processed; retry shortly to get "
        "its answer",
        {"retry_after": 1},
    )
