"""Who may hold an E.164: proof of ownership, proven claims displacing unproven ones, no oracle.

An E.164 is held by at most one workspace in the installation (the unique index on
``phone_numbers.e164``), so inbound routing always has one answer. What changes with proof:

- A number is *verified* when a provider shows it in the workspace's own account (a purchase,
  a provider import) or when the installation's operator vouches for it
  (``callplane verify-number --ownership-checked``). A number imported by hand is unverified.
- Only verified numbers are used as outbound caller ID (``verified_at IS NOT NULL`` in the
  candidate query of ``routing/selection.py``).
- A verified claim displaces an unverified holder in another workspace: its row is removed
  (with its assignments) in the same transaction as the proven claim, and its workspace's audit
  log records ``number.displaced`` without naming who proved it. Unverified claims never
  displace anything: first come, first served among them, and a verified holder keeps its number.
- Asking for a number another workspace holds is answered "not available", for one number per
  request at most (a batch names only its first such number), is limited to
  ``UNAVAILABLE_PER_HOUR`` answers per workspace and hour (then 429), and is audited: the
  asking workspace's log gets ``number.unavailable``, kept although the request is refused,
  and the operator's log a warning line.

These are the only queries that look across workspaces; each answers for the E.164s the caller
asked about and reveals nothing else.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from callplane.assignments.models import Assignment
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict, DomainError, InvalidInput
from callplane.core.ratelimit import RateLimited
from callplane.core.tenancy import scoped
from callplane.core.versioning import bump_table
from callplane.events import service as events
from callplane.events.models import Event
from callplane.numbers.models import PhoneNumber

log = logging.getLogger("callplane.ownership")

UNAVAILABLE_PER_HOUR = 20
UNAVAILABLE_EVENT = "number.unavailable"
VERIFIERS = ("provider", "operator")


# Built once: every create asks, and building the query cost more than running it.
_HOLDERS = (
    select(PhoneNumber)
    .where(PhoneNumber.e164.in_(bindparam("e164s", expanding=True)))
    .order_by(PhoneNumber.id)
)
_HOLDERS_LOCKED = _HOLDERS.with_for_update()


@dataclass(frozen=True, slots=True)
class Holders:
    """Who holds the asked-for E.164s: this workspace, or another one (with its row)."""

    mine: dict[str, PhoneNumber] = field(default_factory=dict)
    elsewhere: dict[str, PhoneNumber] = field(default_factory=dict)

    def proven_elsewhere(self) -> list[str]:
        return [e for e, n in self.elsewhere.items() if n.verified_at is not None]

    def unproven_elsewhere(self) -> list[PhoneNumber]:
        return [n for n in self.elsewhere.values() if n.verified_at is None]


def holders(session: Session, actor: Actor, e164s: Iterable[str], *, lock: bool = False) -> Holders:
    """The rows holding these E.164s in any workspace; ``lock`` before displacing them."""
    wanted = list(e164s)
    if not wanted:
        return Holders()
    result = Holders()
    for number in session.scalars(_HOLDERS_LOCKED if lock else _HOLDERS, {"e164s": wanted}):
        mine = number.workspace_id == actor.workspace_id
        (result.mine if mine else result.elsewhere)[number.e164] = number
    return result


def refuse_unavailable(
    session: Session, actor: Actor, e164: str, *, index: int | None = None, total: int = 1
) -> DomainError:
    """The answer when another workspace holds ``e164``: audited, limited, and nothing more.

    Returns the error to raise; its audit event is committed with the refusal. ``index`` names
    the item of a batch of ``total`` (the batch error shape, which clients resume from).
    """
    hour_ago = ids.first_uuid_at(int(time.time() * 1000) - 3_600_000)
    recent = session.scalar(
        scoped(Event, actor.workspace_id)
        .where(Event.id >= hour_ago, Event.type == UNAVAILABLE_EVENT)
        .with_only_columns(func.count())
    )
    if (recent or 0) >= UNAVAILABLE_PER_HOUR:
        return RateLimited(
            "too_many_unavailable_numbers",
            f"{UNAVAILABLE_PER_HOUR} numbers held elsewhere were asked for in the last hour; "
            "retry later",
            {"limit_per_hour": UNAVAILABLE_PER_HOUR, "retry_after": 3600},
        )
    events.record(session, actor, UNAVAILABLE_EVENT, [], after={"e164": e164})
    log.warning(
        "workspace %s asked for %s, which another workspace holds",
        ids.render("workspace", actor.workspace_id),
        e164,
    )
    message = "this number is not available"
    error: DomainError
    if index is None:
        error = Conflict("number_not_available", f"{e164}: {message}", {"e164": e164})
    else:
        item = {
            "index": index,
            "field": f"numbers[{index}].e164",
            "value": e164,
            "code": "number_not_available",
            "message": message,
        }
        error = InvalidInput(
            "batch_invalid",
            f"numbers[{index}]: {message}; nothing of the {total} was imported",
            {"errors": [item]},
        )
    error.keeps_audit_event = True
    return error


def displace(session: Session, actor: Actor, numbers: Sequence[PhoneNumber]) -> None:
    """Remove other workspaces' unproven claims on numbers ``actor`` has just proven it owns."""
    for number in numbers:
        if number.verified_at is not None or number.workspace_id == actor.workspace_id:
            raise AssertionError("only unproven numbers of other workspaces are displaced")
        agents = [
            ids.render("agent", agent_id)
            for agent_id in session.scalars(
                select(Assignment.agent_id).where(Assignment.number_id == number.id)
            )
        ]
        primaries = session.scalars(
            select(Assignment.agent_id).where(
                Assignment.number_id == number.id, Assignment.is_primary
            )
        )
        bump_table(session, "agents", primaries)  # their view names this number as primary
        session.execute(delete(PhoneNumber).where(PhoneNumber.id == number.id))
        events.record(
            session,
            Actor(number.workspace_id, None, actor.request_id),
            "number.displaced",
            [ids.render("number", number.id), *agents],
            before={"e164": number.e164, "friendly_name": number.friendly_name},
            after={"reason": "its owner proved ownership at a provider; it was never verified"},
        )
        log.warning(
            "%s displaced from workspace %s by a proven claim",
            number.e164,
            ids.render("workspace", number.workspace_id),
        )
        session.expunge(number)


def verify(
    session: Session,
    actor: Actor,
    number: PhoneNumber,
    by: str,
    *,
    provider: str | None = None,
    provider_ref: str | None = None,
) -> PhoneNumber:
    """Mark a number of ``actor``'s workspace as proven, by a provider or by the operator."""
    if by not in VERIFIERS or number.workspace_id != actor.workspace_id:
        raise AssertionError("a workspace's own number, verified by provider or operator")
    if number.verified_at is not None:
        return number
    number.verified_by, number.verified_at = by, utcnow()
    if provider_ref is not None:
        number.provider, number.provider_ref = provider, provider_ref
    number.updated_at = utcnow()
    events.record(
        session,
        actor,
        "number.verified",
        [ids.render("number", number.id)],
        after={"e164": number.e164, "verified_by": by},
    )
    return number


def workspace_number(session: Session, workspace_id: uuid.UUID, e164: str) -> PhoneNumber | None:
    return session.scalar(
        scoped(PhoneNumber, workspace_id).where(PhoneNumber.e164 == e164).with_for_update()
    )
