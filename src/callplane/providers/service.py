"""Buying, importing and finding numbers at a provider: the use cases behind /v1/numbers/….

Provider calls cannot join the database transaction, so each use case checks everything it can
before the first call (numbers parse, none is in an inventory, the agent exists and is active)
and, when a later purchase of the same request fails, releases what it bought moments before:
the request then changes nothing, here or at the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from callplane.agents.models import Agent
from callplane.agents.service import get_active_agent
from callplane.assignments import service as assignments
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.db import utcnow
from callplane.core.errors import Conflict, DomainError, InvalidInput
from callplane.core.phone import ParsedNumber, parse_e164
from callplane.core.tenancy import scoped
from callplane.events import service as events
from callplane.numbers import ownership
from callplane.numbers.models import PhoneNumber
from callplane.numbers.references import NumberRef
from callplane.numbers.service import NumberView, views
from callplane.providers import intents as purchase_intents
from callplane.providers.base import Candidate, OwnedNumber, Provider, SearchQuery
from callplane.providers.registry import Providers
from callplane.reputation.health import initial_health
from callplane.reputation.service import policy_of

MAX_PURCHASE = 100
MAX_TYPED_SEARCH = 5000
log = logging.getLogger("callplane.providers")


def search(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    query: SearchQuery,
    number_type: str | None = None,
) -> list[Candidate]:
    """What the provider offers; ``number_type`` (local, toll_free, …) as ``phonenumbers`` sees it.

    Providers search by area and digits only, so a type filter looks through the sandbox's whole
    catalogue; a real provider is asked for one page (Twilio's search offers local numbers).
    """
    _check_query(query)
    provider = providers.get(name, session, actor.workspace_id)
    if number_type is None:
        return provider.search(query)
    wide = MAX_TYPED_SEARCH if providers.embedded(name) else query.limit
    wider = provider.search(replace(query, limit=max(query.limit, wide)))
    typed = [c for c in wider if parse_e164(c.e164, "phone_number").number_type == number_type]
    return typed[: query.limit]


def purchase(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    phone_numbers: Sequence[str],
    agent_ref: str | None = None,
) -> list[NumberView]:
    """Buy numbers, add them to the inventory and optionally give them to an agent, all or none.

    Crash-safe: the intent to buy each number is committed before the provider is called. This
    is the one use case that commits in the middle of a request (a provider call cannot join
    the transaction): a process killed after the provider's "bought" leaves a pending intent,
    which recovery (callplane.providers.recovery) turns into an inventory row. No transaction is
    held open across the provider calls; the second one, committed by the request, adds the
    numbers and completes the intents together.
    """
    providers.check_name(name)
    wanted = _parse_all(phone_numbers)
    held = ownership.holders(session, actor, wanted)
    _refuse_taken(held)
    if proven := held.proven_elsewhere():
        raise ownership.refuse_unavailable(session, actor, min(proven, key=wanted.index))
    agent = get_active_agent(session, actor, agent_ref) if agent_ref else None
    provider = providers.get(name, session, actor.workspace_id)
    voice_url = providers.voice_url(actor.workspace_id)
    intents = purchase_intents.record(session, actor, name, wanted)
    session.commit()  # the intents are durable before the first provider call
    bought: list[OwnedNumber] = []
    try:
        for e164 in wanted:
            bought.append(provider.purchase(e164, voice_url))
        held = ownership.holders(session, actor, wanted, lock=True)
        _refuse_taken(held)
        if held.proven_elsewhere():
            raise Conflict(
                "concurrent_modification",
                "another request took one of these numbers meanwhile; nothing was bought",
            )
        # Bought: the provider has proven this workspace owns them. Unproven claims go.
        ownership.displace(session, actor, held.unproven_elsewhere())
        created = _record_purchase(session, actor, providers, name, bought, agent)
        purchase_intents.complete(session, intents)
    except Exception:
        _undo(provider, bought)
        raise
    return views(session, _reload(session, actor, created))


def _refuse_taken(held: ownership.Holders) -> None:
    if held.mine:
        raise Conflict(
            "number_already_exists",
            f"{', '.join(sorted(held.mine))} is already in this workspace",
            {"e164": sorted(held.mine)},
        )


def _record_purchase(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    bought: list[OwnedNumber],
    agent: Agent | None,
) -> list[PhoneNumber]:
    cost = providers.monthly_cost_cents(name)
    created = add_to_inventory(session, actor, name, bought, "purchased", cost)
    events.record(
        session,
        actor,
        "number.purchased",
        [ids.render("number", n.id) for n in created],
        after={"provider": name, "e164": [n.e164 for n in created], "monthly_cost_cents": cost},
    )
    if agent is not None:
        refs = [NumberRef("phone_numbers", n.e164, number_id=n.id) for n in created]
        if agent.type == "outbound":
            assignments.attach_outbound(session, actor, ids.render("agent", agent.id), refs)
        else:
            for n in created:
                assignments.assign(
                    session,
                    actor,
                    ids.render("number", n.id),
                    ids.render("agent", agent.id),
                    "inbound",
                )
    return created


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: list[NumberView]
    already_in_workspace: list[str] = field(default_factory=list)
    in_other_workspace: list[str] = field(default_factory=list)  # verified there too
    verified: list[str] = field(default_factory=list)  # were in this workspace, unproven


def import_owned(
    session: Session,
    actor: Actor,
    providers: Providers,
    name: str,
    *,
    configure_voice: bool = True,
) -> ImportResult:
    """Add the numbers the provider account already holds; those already listed are skipped.

    Imported numbers keep ``source = "imported"``: deleting one from the inventory does not
    cancel it at the provider (callplane did not buy it). With ``configure_voice`` their voice
    webhook is pointed at callplane so calls to them reach the agent that answers them.
    """
    provider = providers.get(name, session, actor.workspace_id)
    owned = {o.e164: o for o in provider.owned()}
    held = ownership.holders(session, actor, owned, lock=True)
    verified = []
    for e164, number in sorted(held.mine.items()):
        if number.verified_at is None:
            ownership.verify(
                session,
                actor,
                number,
                "provider",
                provider=name,
                provider_ref=owned[e164].provider_ref,
            )
            verified.append(e164)
    mine = sorted(held.mine)
    others = sorted(held.proven_elsewhere())
    unproven = held.unproven_elsewhere()
    ownership.displace(session, actor, unproven)  # found in this workspace's own account
    present = set(held.mine) | set(others)
    new = [o for e, o in sorted(owned.items()) if e not in present]
    if configure_voice:
        voice_url = providers.voice_url(actor.workspace_id)
        for o in new:
            provider.configure_voice(o.provider_ref, voice_url)
    created = add_to_inventory(session, actor, name, new, "imported", None) if new else []
    if created:
        events.record(
            session,
            actor,
            "number.provider_imported",
            [ids.render("number", n.id) for n in created],
            after={"provider": name, "count": len(created), "e164": [n.e164 for n in created]},
        )
    return ImportResult(views(session, _reload(session, actor, created)), mine, others, verified)


def _parse_all(values: Sequence[str]) -> list[str]:
    if not values:
        raise InvalidInput(
            "invalid_request", "phone_numbers: give at least one number", {"field": "phone_numbers"}
        )
    if len(values) > MAX_PURCHASE:
        raise InvalidInput(
            "batch_too_large",
            f"phone_numbers: at most {MAX_PURCHASE} numbers per purchase, got {len(values)}",
            {"field": "phone_numbers", "limit": MAX_PURCHASE, "count": len(values)},
        )
    parsed: list[ParsedNumber] = []
    errors: list[dict[str, Any]] = []
    for index, value in enumerate(values):
        try:
            parsed.append(parse_e164(value, f"phone_numbers[{index}]"))
        except DomainError as exc:
            errors.append(
                {"field": f"phone_numbers[{index}]", "value": value, "message": exc.message}
            )
    if errors:
        raise InvalidInput(
            "invalid_phone_number",
            "; ".join(str(e["message"]) for e in errors[:10]),
            {"errors": errors},
        )
    return list(dict.fromkeys(p.e164 for p in parsed))


def _undo(provider: Provider, bought: list[OwnedNumber]) -> None:
    """Release what this request bought before a later purchase failed."""
    for number in bought:
        try:
            provider.release(number.e164, number.provider_ref)
        except DomainError as exc:
            # Still owned at the provider: POST /v1/numbers/import will bring it back in.
            log.error(
                "could not undo the purchase of %s at %s (%s); import it or release it by hand",
                number.e164,
                provider.name,
                exc.code,
            )


def add_to_inventory(
    session: Session,
    actor: Actor,
    name: str,
    numbers: Sequence[OwnedNumber],
    source: str,
    cost: int | None,
) -> list[PhoneNumber]:
    now = utcnow()
    health = initial_health(policy_of(session, actor.workspace_id), now)  # new: it warms up
    rows = []
    for o in numbers:
        p = parse_e164(o.e164, "phone_number")
        rows.append(
            {
                "id": ids.new_uuid(),
                "workspace_id": actor.workspace_id,
                "e164": p.e164,
                "friendly_name": o.friendly_name,
                "country_code": p.country_code,
                "number_type": p.number_type,
                "valid": p.valid,
                "status": "active",
                "source": source,
                "provider": name,
                "provider_ref": o.provider_ref,
                "monthly_cost_cents": o.monthly_cost_cents if cost is None else cost,
                "purchased_at": now if source == "purchased" else None,
                "verified_by": "provider",  # the provider lists it in this workspace's account
                "verified_at": now,
                "created_at": now,
                "updated_at": now,
                **health,
            }
        )
    if not rows:
        return []
    session.execute(insert(PhoneNumber), rows)
    return _reload(session, actor, [r["id"] for r in rows])


def _reload(session: Session, actor: Actor, items: Sequence[Any]) -> list[PhoneNumber]:
    wanted = [i.id if isinstance(i, PhoneNumber) else i for i in items]
    if not wanted:
        return []
    return list(
        session.scalars(
            scoped(PhoneNumber, actor.workspace_id)
            .where(PhoneNumber.id.in_(wanted))
            .order_by(PhoneNumber.id)
            .execution_options(populate_existing=True)
        )
    )


def _check_query(query: SearchQuery) -> None:
    if not (len(query.country) == 2 and query.country.isalpha()):
        raise InvalidInput(
            "invalid_country",
            "country: an ISO 3166 alpha-2 code such as US",
            {"field": "country", "value": query.country},
        )
    if query.area_code is not None and not (
        query.area_code.isdigit() and len(query.area_code) <= 5
    ):
        raise InvalidInput(
            "invalid_area_code",
            "area_code: 1 to 5 digits",
            {"field": "area_code", "value": query.area_code},
        )
    if query.contains is not None and not (
        query.contains.isdigit() and 2 <= len(query.contains) <= 15
    ):
        raise InvalidInput(
            "invalid_contains",
            "contains: 2 to 15 digits",
            {"field": "contains", "value": query.contains},
        )
