"""Nothing bought is lost: pending purchases settled, provider accounts checked against inventory.

For each (workspace, provider) it asks the provider which numbers the account holds (no
transaction open during that call), then settles in one transaction:

- owned, not in any inventory, with a pending intent older than ``intent_age`` (its request
  died or failed and could not undo it): **adopted** as ``purchased`` (callplane bought it, so
  deleting it later releases it and the billing stops);
- owned, not in any inventory, no intent: an **orphan** (bought in the provider's console, or
  before intents existed). Reported; with ``adopt`` added as ``imported`` (verified by the
  provider; a delete then leaves it at the provider, as for any number callplane did not buy);
- a pending intent older than ``intent_age`` whose number the provider does not hold:
  **abandoned** (the purchase never happened, or was undone);
- in the inventory with this provider's reference but no longer held there:
  **missing_at_provider** (released outside callplane). Reported only;
- held with proof by another workspace: **held_elsewhere**. Reported only.

Younger pending intents belong to requests that may still be running: left alone. Adopting
displaces unverified claims of other workspaces (the provider has just proven ownership).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import Database, utcnow
from callplane.core.errors import DomainError
from callplane.core.tenancy import scoped
from callplane.events import service as events
from callplane.numbers import ownership
from callplane.numbers.models import PhoneNumber
from callplane.providers import intents as purchase_intents
from callplane.providers.base import PROVIDER_NAMES, OwnedNumber
from callplane.providers.models import PurchaseIntent
from callplane.providers.registry import Providers
from callplane.providers.service import add_to_inventory
from callplane.workspaces.models import Workspace

log = logging.getLogger("callplane.recovery")

Kind = Literal[
    "adopted_purchase",
    "abandoned_intent",
    "orphan",
    "adopted_orphan",
    "missing_at_provider",
    "held_elsewhere",
]


@dataclass(frozen=True, slots=True)
class Finding:
    workspace_id: uuid.UUID
    provider: str
    e164: str
    kind: Kind


class Reconciler:
    def __init__(
        self, database: Database, providers: Providers, *, intent_age: dt.timedelta
    ) -> None:
        self.database = database
        self.providers = providers
        self.intent_age = intent_age

    def recover_purchases(self, now: dt.datetime | None = None) -> list[Finding]:
        """Settle the pending intents old enough to belong to no running request."""
        cutoff = (now or utcnow()) - self.intent_age
        with self.database.session(write=False) as session:
            pairs = session.execute(
                select(PurchaseIntent.workspace_id, PurchaseIntent.provider)
                .where(PurchaseIntent.status == "pending", PurchaseIntent.created_at <= cutoff)
                .distinct()
            ).all()
        found: list[Finding] = []
        for workspace_id, provider in pairs:
            found += self._pair(workspace_id, provider, cutoff, adopt=False, report=False)
        return found

    def reconcile(
        self,
        workspace_ids: Iterable[uuid.UUID] | None = None,
        provider_names: Sequence[str] = PROVIDER_NAMES,
        *,
        adopt: bool = False,
        now: dt.datetime | None = None,
    ) -> list[Finding]:
        """Every provider account of the workspaces (all by default) against the inventory."""
        cutoff = (now or utcnow()) - self.intent_age
        if workspace_ids is None:
            with self.database.session(write=False) as session:
                workspace_ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
        found: list[Finding] = []
        for workspace_id in workspace_ids:
            for name in provider_names:
                found += self._pair(workspace_id, name, cutoff, adopt=adopt, report=True)
        return found

    def _pair(
        self, workspace_id: uuid.UUID, name: str, cutoff: dt.datetime, *, adopt: bool, report: bool
    ) -> list[Finding]:
        owned = self._owned(workspace_id, name)
        if owned is None:
            return []
        with self.database.transaction() as session:
            return _settle(
                session,
                Actor(workspace_id, None, None),
                self.providers,
                name,
                owned,
                cutoff,
                adopt=adopt,
                report=report,
            )

    def _owned(self, workspace_id: uuid.UUID, name: str) -> dict[str, OwnedNumber] | None:
        """What the provider account holds; None when it is not configured or not reachable."""
        try:
            with self.database.session(write=False) as session, session.begin():
                provider = self.providers.get(name, session, workspace_id)
                return {o.e164: o for o in provider.owned()}
        except DomainError as exc:
            if exc.code != "provider_not_configured":
                log.warning(
                    "cannot list the %s numbers of %s: %s",
                    name,
                    ids.render("workspace", workspace_id),
                    exc.code,
                )
            return None


def _settle(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    owned: dict[str, OwnedNumber],
    cutoff: dt.datetime,
    *,
    adopt: bool,
    report: bool,
) -> list[Finding]:
    intents: dict[str, list[PurchaseIntent]] = defaultdict(list)
    for intent in session.scalars(
        scoped(PurchaseIntent, actor.workspace_id)
        .where(PurchaseIntent.provider == name, PurchaseIntent.status == "pending")
        .order_by(PurchaseIntent.id)
        .with_for_update()
    ):
        intents[intent.e164].append(intent)
    # A number with a young intent may be in the hands of a running request: left alone.
    in_flight = {e for e, group in intents.items() if any(i.created_at > cutoff for i in group)}
    held = ownership.holders(session, actor, [*owned, *intents], lock=True)
    found: list[Finding] = []

    def finding(e164: str, kind: Kind) -> None:
        found.append(Finding(actor.workspace_id, name, e164, kind))

    recovered: list[OwnedNumber] = []
    orphans: list[OwnedNumber] = []
    for e164, number in sorted(owned.items()):
        if e164 in held.mine or e164 in in_flight:
            continue
        if e164 in held.proven_elsewhere():
            if report:
                finding(e164, "held_elsewhere")
        elif e164 in intents:
            recovered.append(number)
        elif report:
            orphans.append(number)
    adopted_orphans = orphans if adopt else []
    taking = {o.e164 for o in recovered + adopted_orphans}
    ownership.displace(session, actor, [n for n in held.unproven_elsewhere() if n.e164 in taking])
    _add(session, actor, providers, name, recovered, adopted_orphans)
    settled = [e for e in intents if e not in in_flight]
    for e164 in settled:
        status = "completed" if e164 in held.mine else "adopted" if e164 in taking else None
        if status is None and e164 not in owned:
            status = "abandoned"  # bought nowhere, or undone
            finding(e164, "abandoned_intent")
        if status is not None:
            purchase_intents.settle(session, [i.id for i in intents[e164]], status)
    for o in recovered:
        finding(o.e164, "adopted_purchase")
    for o in orphans:
        finding(o.e164, "adopted_orphan" if adopt else "orphan")
    if report:
        for e164 in _missing_at_provider(session, actor, name, owned):
            finding(e164, "missing_at_provider")
    for f in found:
        log.warning(
            "reconcile %s at %s: %s %s",
            ids.render("workspace", f.workspace_id),
            f.provider,
            f.e164,
            f.kind,
        )
    return found


def _add(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    recovered: list[OwnedNumber],
    orphans: list[OwnedNumber],
) -> None:
    """Recovered purchases as purchased (a delete releases them), orphans as imported."""
    if recovered:
        cost = providers.monthly_cost_cents(name)
        created = add_to_inventory(session, actor, name, recovered, "purchased", cost)
        events.record(
            session,
            actor,
            "number.purchase_recovered",
            [ids.render("number", n.id) for n in created],
            after={"provider": name, "e164": [n.e164 for n in created]},
        )
    if orphans:
        created = add_to_inventory(session, actor, name, orphans, "imported", None)
        events.record(
            session,
            actor,
            "number.provider_imported",
            [ids.render("number", n.id) for n in created],
            after={"provider": name, "count": len(created), "e164": [n.e164 for n in created]},
        )


def _missing_at_provider(
    session: Session, actor: Actor, name: str, owned: dict[str, OwnedNumber]
) -> list[str]:
    """Numbers of the inventory bought or imported at ``name`` that it no longer holds."""
    query = scoped(PhoneNumber, actor.workspace_id).where(
        PhoneNumber.provider == name, PhoneNumber.provider_ref.is_not(None)
    )
    if owned:
        query = query.where(PhoneNumber.e164.not_in(list(owned)))
    return list(
        session.scalars(query.with_only_columns(PhoneNumber.e164).order_by(PhoneNumber.e164))
    )
