"""The delivery worker: sends the outbox's deliveries, signed to the Standard Webhooks spec.

Each delivery goes through three steps, like a release (callplane.providers.releases):

1. **claim** the oldest due delivery in a short transaction (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so workers share the outbox and never hold one attempt together; SQLite's
   ``BEGIN IMMEDIATE`` serialises claims), bumping ``attempts`` and pushing ``next_attempt_at``
   one lease ahead under a fresh ``lease_id``. A delivery is due only when no earlier event of
   the same resource is still pending for the same endpoint: events reach an endpoint in order
   per resource, a retrying one holding back those after it;
2. **attempt** with no transaction open: resolve the endpoint's host, refuse a non-public
   address (DNS can change after the URL was stored), connect to exactly that address, post
   the signed payload with short timeouts, follow no redirect, keep a prefix of the answer;
3. **record** the outcome only if the lease is still ours: succeeded on 2xx; on a timeout, a
   connection error, 408, 429 or 5xx another attempt after an exponential backoff with jitter,
   until the retry window has passed, then failed; any other answer fails at once.

An attempt that gets no answer at all (timeout, refused connection, unresolvable or refused
address) holds the whole endpoint until its retry time: a dead host costs one attempt per backoff
step, not one timeout per waiting delivery, and other endpoints are not kept waiting behind it.

A worker killed between 1 and 3 leaves a delivery that is due again when its lease expires; the
next attempt sends it again (at least once, same ``webhook-id``, so receivers can deduplicate).
An endpoint whose attempts have all failed for ``disable_after`` is disabled, with an event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlalchemy import Select, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from standardwebhooks import Webhook

from callplane import __version__
from callplane.core import ids, urls
from callplane.core.context import Actor
from callplane.core.db import Database, create_db_engine, utcnow
from callplane.core.schemas import iso
from callplane.core.workers import poll
from callplane.events import service as events
from callplane.events.models import Event
from callplane.settings import Settings
from callplane.webhooks import outbox
from callplane.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("callplane.webhooks")

RESPONSE_PREFIX_BYTES = 1024
_RETRIED_STATUSES = frozenset({408, 429})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Policy:
    timeout_seconds: float = 10.0
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    retry_window: dt.timedelta = dt.timedelta(hours=24)
    disable_after: dt.timedelta = dt.timedelta(days=5)
    lease_seconds: float = 60.0
    allow_http: bool = False
    allow_private: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            timeout_seconds=settings.webhooks_timeout_seconds,
            backoff_seconds=settings.webhooks_backoff_seconds,
            backoff_max_seconds=settings.webhooks_backoff_max_seconds,
            retry_window=dt.timedelta(hours=settings.webhooks_retry_hours),
            disable_after=dt.timedelta(hours=settings.webhooks_disable_after_hours),
            lease_seconds=settings.webhooks_lease_seconds,
            allow_http=settings.webhooks_allow_http,
            allow_private=settings.allow_private_urls,
        )

    def delay(self, attempts: int, rng: random.Random) -> dt.timedelta:
        """Exponential backoff with "equal jitter": between half and all of the doubled step."""
        ceiling = min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.backoff_max_seconds)
        return dt.timedelta(seconds=rng.uniform(ceiling / 2, ceiling))

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("http", "https") if self.allow_http else ("https",)


@dataclass(frozen=True, slots=True)
class Claim:
    delivery_id: uuid.UUID
    lease_id: uuid.UUID
    workspace_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempts: int
    scheduled_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to; ``retry`` says whether another attempt may do better.

    ``endpoint_wide``: the failure is the endpoint's, not this message's (no answer at all, or
    no secret to sign with), so its other deliveries wait as long as this one.
    """

    succeeded: bool
    retry: bool
    error: str | None = None
    status: int | None = None
    body: str | None = None
    latency_ms: int | None = None
    endpoint_wide: bool = False


def payload(event: Event) -> dict[str, Any]:
    """The body every endpoint receives for an event (docs/webhooks.md describes it)."""
    return {
        "type": event.type,
        "timestamp": iso(event.created_at),
        "data": {
            "event_id": ids.render("event", event.id),
            "workspace_id": ids.render("workspace", event.workspace_id),
            "resource_ids": event.resource_ids,
            "before": event.before,
            "after": event.after,
            "actor_key_id": ids.render("api_key", event.actor_key_id)
            if event.actor_key_id
            else None,
            "request_id": event.request_id,
        },
    }


def signed_headers(
    message_id: str, body: str, secrets: list[str], signed_at: dt.datetime
) -> dict[str, str]:
    """Standard Webhooks headers; one ``v1,`` signature per secret, space-separated."""
    signatures = " ".join(Webhook(s).sign(message_id, signed_at, body) for s in secrets)
    return {
        "content-type": "application/json",
        "user-agent": f"callplane-webhooks/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": signatures,
    }


class Sender:
    """One HTTP attempt, to the address that was checked, with nothing followed or kept long."""

    def __init__(
        self,
        policy: Policy,
        resolve: urls.Resolver | None = None,
        http: httpx2.Client | None = None,
    ) -> None:
        self.policy = policy
        self.resolve = resolve or urls.system_resolver
        self.http = http or httpx2.Client(
            timeout=httpx2.Timeout(policy.timeout_seconds),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would connect to the name again
        )

    def close(self) -> None:
        self.http.close()

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        target = httpx2.URL(url)
        try:
            urls.check_url(url, self.policy.schemes, allow_private=self.policy.allow_private)
            address = urls.resolve_public(
                target.host,
                target.port or _DEFAULT_PORTS.get(target.scheme, 443),
                allow_private=self.policy.allow_private,
                resolve=self.resolve,
            )
        except (ValueError, urls.UnsafeAddress) as exc:  # the URL policy refused it
            return Outcome(False, True, f"refused: {exc}", endpoint_wide=True)
        except OSError as exc:
            return Outcome(False, True, f"cannot resolve {target.host}: {exc}", endpoint_wide=True)
        request = self.http.build_request(
            "POST",
            target.copy_with(host=str(address)),
            # Uncompressed: the kept prefix is then readable text, and nothing is inflated.
            headers={
                **headers,
                "host": target.netloc.decode("ascii"),
                "accept-encoding": "identity",
            },
            content=body,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
        started = time.perf_counter()
        try:
            response = self.http.send(request, stream=True)
            try:
                prefix = _read_prefix(response, started + self.policy.timeout_seconds)
            finally:
                response.close()
        except httpx2.TimeoutException:
            timed_out = f"timed out after {self.policy.timeout_seconds:g}s"
            return Outcome(False, True, timed_out, endpoint_wide=True)
        except httpx2.TransportError as exc:
            failed = f"connection failed: {type(exc).__name__}: {exc}"[:500]
            return Outcome(False, True, failed, endpoint_wide=True)
        latency = round((time.perf_counter() - started) * 1000)
        status = response.status_code
        succeeded = 200 <= status < 300
        retry = status >= 500 or status in _RETRIED_STATUSES
        error = None if succeeded else f"answered {status}"
        return Outcome(succeeded, retry, error, status, prefix, latency)


def _read_prefix(response: httpx2.Response, deadline: float) -> str:
    """The first RESPONSE_PREFIX_BYTES of the answer; the rest is not read, however long."""
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= RESPONSE_PREFIX_BYTES:
            break
        if time.perf_counter() > deadline:
            raise httpx2.ReadTimeout("the answer took too long", request=response.request)
    # PostgreSQL text cannot hold NUL: an answer carrying one must still be recordable.
    return kept[:RESPONSE_PREFIX_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class DeliveryWorker:
    """Works the outbox; any number of them may share one PostgreSQL database."""

    def __init__(
        self,
        database: Database,
        policy: Policy,
        sender: Sender | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.database = database
        self.policy = policy
        self.sender = sender or Sender(policy)
        self.rng = rng or random.Random()  # jitter, not a secret
        self.clock = clock  # the real time a signature carries (receivers check it)

    def claim(self, now: dt.datetime | None = None) -> Claim | None:
        """Step 1: take the oldest due delivery under a new lease, or None."""
        now = now or utcnow()
        with self.database.session(write=False) as session:
            if session.scalar(self._due(now).limit(1)) is None:
                return None  # an idle poll takes no write lock (SQLite has only one)
        with self.database.transaction() as session:
            delivery = session.scalar(
                self._due(now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
            if delivery is None:
                return None
            lease = uuid.uuid4()
            delivery.attempts += 1
            delivery.lease_id = lease
            delivery.next_attempt_at = now + dt.timedelta(seconds=self.policy.lease_seconds)
            delivery.last_attempt_at = now
            delivery.updated_at = utcnow()
            return Claim(
                delivery.id,
                lease,
                delivery.workspace_id,
                delivery.endpoint_id,
                delivery.event_id,
                delivery.attempts,
                delivery.scheduled_at,
            )

    @staticmethod
    def _due(now: dt.datetime) -> Select[WebhookDelivery]:
        """Pending, due, to an enabled endpoint not on hold, with no earlier event of its
        resource waiting."""
        earlier = aliased(WebhookDelivery)
        held_back = exists().where(
            and_(
                earlier.endpoint_id == WebhookDelivery.endpoint_id,
                earlier.resource_key == WebhookDelivery.resource_key,
                earlier.status == "pending",
                earlier.event_id < WebhookDelivery.event_id,
            )
        )
        return (
            select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled,
                or_(WebhookEndpoint.held_until.is_(None), WebhookEndpoint.held_until <= now),
                ~held_back,
            )
        )

    def attempt(self, claim: Claim) -> Outcome:
        """Step 2: sign and post the event; returns the outcome instead of raising it."""
        with self.database.session(write=False) as session:
            endpoint = session.get(WebhookEndpoint, claim.endpoint_id)
            event = session.get(Event, claim.event_id)
            if endpoint is None or event is None:
                return Outcome(False, False, "the endpoint or the event no longer exists")
            url, secrets = endpoint.url, self._signing_secrets(endpoint)
            body = json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)
        if not secrets:
            error = "the signing secret cannot be opened with the keyring"
            return Outcome(False, True, error, endpoint_wide=True)
        headers = signed_headers(ids.render("event", claim.event_id), body, secrets, self.clock())
        return self.sender.send(url, headers, body.encode())

    def _signing_secrets(self, endpoint: WebhookEndpoint) -> list[str]:
        """The current secret, and the previous one while its overlap lasts."""
        found = [endpoint.secret] if endpoint.secret else []
        until = endpoint.previous_secret_expires_at
        if endpoint.previous_secret and until is not None and until > self.clock():
            found.append(endpoint.previous_secret)
        return found

    def record(self, claim: Claim, outcome: Outcome, now: dt.datetime | None = None) -> str:
        """Step 3: write the outcome if the lease is still ours; returns the delivery's status."""
        now = now or utcnow()
        values: dict[str, object] = {
            "lease_id": None,
            "updated_at": utcnow(),
            "response_status": outcome.status,
            "response_body": outcome.body,
            "latency_ms": outcome.latency_ms,
            "last_error": outcome.error[:500] if outcome.error else None,
        }
        give_up_at = claim.scheduled_at + self.policy.retry_window
        retry_at = now + self.policy.delay(claim.attempts, self.rng)
        if outcome.succeeded:
            values.update(status="succeeded", delivered_at=now)
        elif outcome.retry and now < give_up_at:
            values.update(next_attempt_at=min(retry_at, give_up_at))
        else:
            values.update(status="failed")
        with self.database.transaction() as session:
            result = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claim.delivery_id,
                    WebhookDelivery.lease_id == claim.lease_id,
                )
                .values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                log.warning(
                    "webhook delivery %s: lease lost, outcome left to its new holder",
                    ids.render("webhook_delivery", claim.delivery_id),
                )
                return "lease_lost"
            self._note_health(session, claim, outcome, retry_at, now)
        if not outcome.succeeded:
            log.warning(
                "webhook delivery %s (attempt %d) failed: %s",
                ids.render("webhook_delivery", claim.delivery_id),
                claim.attempts,
                outcome.error,
            )
        return str(values.get("status", "pending"))

    def _note_health(
        self,
        session: Session,
        claim: Claim,
        outcome: Outcome,
        retry_at: dt.datetime,
        now: dt.datetime,
    ) -> None:
        """Track how the endpoint is doing: hold it while unreachable, disable it when dead."""
        endpoint = WebhookEndpoint
        if outcome.endpoint_wide:
            self._hold(session, claim, retry_at, now)
        else:  # it answered: nothing holds its other deliveries back
            session.execute(
                update(endpoint)
                .where(endpoint.id == claim.endpoint_id, endpoint.held_until.is_not(None))
                .values(held_until=None)
            )
        if outcome.succeeded:
            session.execute(
                update(endpoint)
                .where(endpoint.id == claim.endpoint_id, endpoint.failing_since.is_not(None))
                .values(failing_since=None)
            )
            return
        session.execute(
            update(endpoint)
            .where(endpoint.id == claim.endpoint_id, endpoint.failing_since.is_(None))
            .values(failing_since=now)
        )
        disabled = session.execute(
            update(endpoint)
            .where(
                endpoint.id == claim.endpoint_id,
                endpoint.enabled.is_(True),
                endpoint.failing_since <= now - self.policy.disable_after,
            )
            .values(enabled=False, disabled_reason="failing", updated_at=utcnow())
        )
        if disabled.rowcount:  # type: ignore[attr-defined]
            outbox.forget(session, claim.workspace_id)
            events.record(
                session,
                Actor(claim.workspace_id, None, None),
                "webhook_endpoint.disabled",
                [ids.render("webhook_endpoint", claim.endpoint_id)],
                after={"enabled": False, "disabled_reason": "failing"},
            )
            log.warning(
                "webhook endpoint %s disabled: every attempt failed for %s",
                ids.render("webhook_endpoint", claim.endpoint_id),
                self.policy.disable_after,
            )

    def _hold(
        self, session: Session, claim: Claim, retry_at: dt.datetime, now: dt.datetime
    ) -> None:
        """An endpoint that cannot be reached waits as a whole, so a dead host costs one attempt
        per backoff step rather than one timeout per waiting delivery; deliveries whose retry
        window passed while it waited are given up."""
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == claim.endpoint_id)
            .values(held_until=retry_at)
        )
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == claim.endpoint_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.lease_id.is_(None),
                WebhookDelivery.scheduled_at <= now - self.policy.retry_window,
            )
            .values(
                status="failed",
                last_error="gave up: the endpoint could not be reached for the retry window",
                updated_at=utcnow(),
            )
        )

    def run_once(self, now: dt.datetime | None = None, *, limit: int = 100) -> int:
        """Attempt every due delivery (up to ``limit``); returns how many were attempted."""
        done = 0
        while done < limit:
            claim = self.claim(now)
            if claim is None:
                break
            self.record(claim, self.attempt(claim), now)
            done += 1
        return done

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Deliver until ``stop`` is set; the sender's connections are closed at the end."""
        try:
            poll(stop, poll_seconds, self.run_once, "webhook delivery")
        finally:
            self.sender.close()


def run_worker(
    settings: Settings, *, once: bool = False, stop: threading.Event | None = None
) -> int:
    """Deliver until ``stop`` is set (or one pass with ``once``); returns attempts made once."""
    database = Database(create_db_engine(settings.database_url, pool_size=2, max_overflow=2))
    worker = DeliveryWorker(database, Policy.of(settings))
    try:
        if once:
            return worker.run_once()
        if stop is None:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        log.info("webhook delivery worker started")
        worker.run(stop, settings.webhooks_poll_seconds)
        return 0
    finally:
        worker.sender.close()
        database.engine.dispose()
