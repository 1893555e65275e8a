"""Releases that are never lost: a job written with the delete, a worker that retries it.

Deleting a purchased number writes a ``ReleaseJob`` in the same transaction, so the promise
to cancel the subscription commits or rolls back with the delete itself. A worker then:

1. **claims** a due job in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   several workers share the queue; SQLite's ``BEGIN IMMEDIATE`` serialises claims), bumping
   ``attempts`` and pushing ``next_attempt_at`` one lease ahead under a fresh ``lease_id``;
2. **releases** at the provider with no transaction held open across the network call
   (the embedded sandbox writes its books in a transaction of its own);
3. **records** the outcome only if it still holds the lease: released, or the error and the
   next attempt after an exponential backoff, or failed once ``max_attempts`` are spent.

A worker killed between 1 and 3 leaves a job that becomes due again when its lease expires;
the next worker releases it again, and providers treat releasing a released number as success,
so a number is cancelled once and the job ends ``released``.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine, utcnow
from callplane.core.errors import DomainError, InvalidInput, not_found
from callplane.core.pagination import Page, keyset_page
from callplane.core.tenancy import scoped
from callplane.core.workers import poll
from callplane.events import service as events
from callplane.numbers.models import PhoneNumber
from callplane.providers.models import RELEASE_STATUSES, ReleaseJob
from callplane.providers.registry import Providers
from callplane.settings import Settings

log = logging.getLogger("callplane.releases")
RECOVERY_INTERVAL_SECONDS = 60.0


def releasable(number: PhoneNumber) -> bool:
    """Whether deleting the number cancels a subscription at a provider."""
    return number.source == "purchased" and bool(number.provider)


def enqueue(session: Session, actor: Actor, number: PhoneNumber) -> ReleaseJob | None:
    """Promise to release a number bought through a provider; others have nothing to cancel."""
    if not releasable(number):
        return None
    job = ReleaseJob(
        id=ids.new_uuid(),
        workspace_id=actor.workspace_id,
        number_id=number.id,
        e164=number.e164,
        provider=number.provider,
        provider_ref=number.provider_ref,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(job)
    events.record(
        session,
        actor,
        "number.release_scheduled",
        [ids.render("number", number.id)],
        after={"e164": number.e164, "provider": number.provider},
    )
    return job


def list_releases(
    session: Session, actor: Actor, *, status: str | None, cursor: str | None, limit: int
) -> Page[ReleaseJob]:
    """Newest first."""
    query = scoped(ReleaseJob, actor.workspace_id)
    if status is not None:
        if status not in RELEASE_STATUSES:
            raise InvalidInput(
                "invalid_status",
                f"status: must be one of {', '.join(RELEASE_STATUSES)}",
                {"field": "status", "value": status},
            )
        query = query.where(ReleaseJob.status == status)
    return keyset_page(session, query, ReleaseJob.id, cursor, limit, newest_first=True)


def retry_release(session: Session, actor: Actor, ref: str) -> ReleaseJob:
    """Put a failed release back in the queue (after fixing credentials, say)."""
    job_id = ids.parse("release", ref)
    job = None
    if job_id is not None:
        job = session.scalar(
            scoped(ReleaseJob, actor.workspace_id).where(ReleaseJob.id == job_id).with_for_update()
        )
    if job is None:
        raise not_found("release", ref)
    if job.status == "failed":
        job.status, job.attempts, job.next_attempt_at = "pending", 0, utcnow()
        job.updated_at = utcnow()
        events.record(session, actor, "number.release_retried", [ids.render("release", job.id)])
    return job


@dataclass(frozen=True, slots=True)
class Policy:
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    max_attempts: int = 20
    lease_seconds: float = 120.0

    def delay(self, attempts: int) -> dt.timedelta:
        seconds = self.backoff_seconds * 2 ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.backoff_max_seconds))


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: uuid.UUID
    lease_id: uuid.UUID
    workspace_id: uuid.UUID
    e164: str
    provider: str
    provider_ref: str | None
    attempts: int


class ReleaseWorker:
    """Works the release queue; any number of them may share one database.

    ``recover`` (purchase recovery, callplane.providers.recovery) runs in the same loop, at
    start and then every ``RECOVERY_INTERVAL_SECONDS``: a restarted server settles the
    purchases its predecessor died in the middle of.
    """

    def __init__(
        self,
        database: Database,
        providers: Providers,
        policy: Policy,
        recover: Callable[[], object] | None = None,
    ) -> None:
        self.database = database
        self.providers = providers
        self.policy = policy
        self.recover = recover

    def claim(self, now: dt.datetime | None = None) -> Claim | None:
        """Step 1: take the oldest due job under a new lease, or None when nothing is due."""
        now = now or utcnow()
        due = select(ReleaseJob.id).where(
            ReleaseJob.status == "pending", ReleaseJob.next_attempt_at <= now
        )
        with self.database.session(write=False) as session:
            if session.scalar(due.limit(1)) is None:
                return None  # an idle poll takes no write lock (SQLite has only one)
        with self.database.transaction() as session:
            job = session.scalar(
                select(ReleaseJob)
                .where(ReleaseJob.status == "pending", ReleaseJob.next_attempt_at <= now)
                .order_by(ReleaseJob.next_attempt_at, ReleaseJob.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return None
            lease = uuid.uuid4()
            job.attempts += 1
            job.lease_id = lease
            job.next_attempt_at = now + dt.timedelta(seconds=self.policy.lease_seconds)
            job.updated_at = utcnow()
            return Claim(
                job.id,
                lease,
                job.workspace_id,
                job.e164,
                job.provider,
                job.provider_ref,
                job.attempts,
            )

    def release(self, claim: Claim) -> DomainError | None:
        """Step 2: ask the provider; returns the failure instead of raising it."""
        write = self.providers.embedded(claim.provider)
        try:
            with self.database.session(write=write) as session, session.begin():
                provider = self.providers.get(claim.provider, session, claim.workspace_id)
                provider.release(claim.e164, claim.provider_ref)
        except DomainError as exc:
            return exc
        return None

    def record(
        self, claim: Claim, error: DomainError | None, now: dt.datetime | None = None
    ) -> str:
        """Step 3: write the outcome if the lease is still ours; returns the job's status."""
        now = now or utcnow()
        values: dict[str, object]
        if error is None:
            values = {"status": "released", "released_at": now}  # last_error stays: history
        elif claim.attempts >= self.policy.max_attempts:
            values = {"status": "failed", "last_error": _describe(error)}
        else:
            values = {
                "last_error": _describe(error),
                "next_attempt_at": now + self.policy.delay(claim.attempts),
            }
        with self.database.transaction() as session:
            result = session.execute(
                update(ReleaseJob)
                .where(ReleaseJob.id == claim.job_id, ReleaseJob.lease_id == claim.lease_id)
                .values(lease_id=None, updated_at=utcnow(), **values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                log.warning("release %s: lease lost, outcome left to its new holder", claim.e164)
                return "lease_lost"
            status = str(values.get("status", "pending"))
            if status != "pending":
                events.record(
                    session,
                    Actor(claim.workspace_id, None, None),
                    "number.released" if status == "released" else "number.release_failed",
                    [ids.render("release", claim.job_id)],
                    after={"e164": claim.e164, "provider": claim.provider},
                )
        if error is not None:
            log.warning(
                "release of %s at %s failed (attempt %d): %s",
                claim.e164,
                claim.provider,
                claim.attempts,
                error.code,
            )
        return status

    def run_once(self, now: dt.datetime | None = None, *, limit: int = 100) -> int:
        """Work every due job (up to ``limit``); returns how many were attempted."""
        done = 0
        while done < limit:
            claim = self.claim(now)
            if claim is None:
                break
            self.record(claim, self.release(claim), now)
            done += 1
        return done

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Work the queue until ``stop`` is set, settling stale purchases every few minutes."""
        recover_at = time.monotonic()

        def one_pass() -> int:
            nonlocal recover_at
            if self.recover is not None and time.monotonic() >= recover_at:
                recover_at = time.monotonic() + RECOVERY_INTERVAL_SECONDS
                self.recover()
            return self.run_once()

        poll(stop, poll_seconds, one_pass, "release worker")


def _describe(error: DomainError) -> str:
    return f"{error.code}: {error.message}"[:2000]


def policy_from(providers: Providers) -> Policy:
    s = providers.settings
    return Policy(
        s.release_backoff_seconds,
        s.release_backoff_max_seconds,
        s.release_max_attempts,
        s.release_lease_seconds,
    )


def recover(database: Database, providers: Providers) -> Callable[[], object]:
    """The purchase recovery the worker runs (see ReleaseWorker)."""
    # Imported here: recovery uses the purchase service, which imports this module.
    from callplane.providers.recovery import Reconciler

    age = dt.timedelta(seconds=providers.settings.purchase_recovery_after_seconds)
    return Reconciler(database, providers, intent_age=age).recover_purchases


def run_worker(settings: Settings, *, once: bool = False) -> int:
    """``callplane worker``: work the queue until SIGTERM or Ctrl-C (or one pass with ``once``)."""
    database = Database(create_db_engine(settings.database_url, pool_size=2, max_overflow=2))
    providers = Providers(settings)
    worker = ReleaseWorker(
        database, providers, policy_from(providers), recover(database, providers)
    )
    try:
        if once:
            return worker.run_once()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        log.info("release worker started")
        worker.run(stop, settings.release_poll_seconds)
        return 0
    finally:
        database.engine.dispose()
