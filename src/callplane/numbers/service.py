"""The number inventory: import, list, read, change and delete numbers of a workspace."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Uuid, any_, bindparam, delete, exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from callplane.assignments.models import Assignment
from callplane.core import ids
from callplane.core.conditional import NO_PRECONDITIONS, Preconditions, entity_tag
from callplane.core.context import Actor
from callplane.core.db import is_postgres, utcnow
from callplane.core.errors import Conflict, DomainError, InvalidInput
from callplane.core.limits import check_batch_size
from callplane.core.pagination import OffsetPage, Page, keyset_page, offset_page
from callplane.core.phone import ParsedNumber, parse_e164
from callplane.core.tenancy import scoped
from callplane.core.versioning import bump_table
from callplane.events import service as events
from callplane.numbers import ownership
from callplane.numbers.models import PhoneNumber
from callplane.numbers.references import get_number
from callplane.numbers.search import Reading, containing
from callplane.providers import releases
from callplane.reputation.health import Policy, initial_health
from callplane.reputation.service import policy_of

UPDATABLE_FIELDS = (
    "friendly_name",
    "status",
    "monthly_cost_cents",
    "fallback_action",
    "fallback_destination",
    "allowed_inbound_countries",
    "max_calls_per_hour",
    "max_calls_per_day",
    "sip_settings",
)


@dataclass(frozen=True, slots=True)
class NumberView:
    number: PhoneNumber
    inbound_agent_id: uuid.UUID | None = None
    outbound_agent_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NumberInput:
    e164: str
    friendly_name: str | None = None
    monthly_cost_cents: int = 0
    provider: str | None = None
    sip_settings: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NumberFilters:
    agent_id: str | None = None
    assignment: str | None = None  # inbound | outbound | none
    country_code: str | None = None
    number_type: str | None = None
    status: str | None = None
    q: str | None = None
    has_inbound_agent: bool | None = None  # Synthflow's ``is_available``, negated


@dataclass(frozen=True, slots=True)
class NumberAgents:
    """Who answers each of some numbers, and which agents call from each (oldest first)."""

    inbound: dict[uuid.UUID, uuid.UUID]
    outbound: dict[uuid.UUID, list[uuid.UUID]]


# agents_of's statements, built once (every list page reads them). PostgreSQL gets the ids as
# one array: as 50 parameters they cost it (and psycopg) more than reading the assignments.
_AGENTS = select(Assignment.number_id, Assignment.agent_id, Assignment.direction).order_by(
    Assignment.created_at, Assignment.agent_id
)
_AGENTS_OF_LIST = _AGENTS.where(
    Assignment.number_id.in_(bindparam("ids", type_=Uuid(), expanding=True))
)
_AGENTS_OF_ARRAY = _AGENTS.where(
    Assignment.number_id == any_(bindparam("ids", type_=ARRAY(Uuid())))
)


def agents_of(session: Session, number_ids: Sequence[uuid.UUID]) -> NumberAgents:
    """The agents of a whole list of numbers, in one query."""
    inbound: dict[uuid.UUID, uuid.UUID] = {}
    outbound: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if number_ids:
        statement = _AGENTS_OF_ARRAY if is_postgres(session.get_bind()) else _AGENTS_OF_LIST
        for number_id, agent_id, direction in session.execute(statement, {"ids": list(number_ids)}):
            if direction == "inbound":
                inbound[number_id] = agent_id
            else:
                outbound[number_id].append(agent_id)
    return NumberAgents(inbound, outbound)


def views(session: Session, numbers: Sequence[PhoneNumber]) -> list[NumberView]:
    """Numbers with their assignments, loaded in one query for the whole list."""
    agents = agents_of(session, [n.id for n in numbers])
    return [NumberView(n, agents.inbound.get(n.id), agents.outbound.get(n.id, [])) for n in numbers]


def view(session: Session, number: PhoneNumber) -> NumberView:
    return view_with(number, assignments_of(session, number.id))


# assignments_of's statement, built once: assign, unassign and delete all read it.
_ASSIGNMENTS = (
    select(Assignment)
    .where(Assignment.number_id == bindparam("number_id", type_=Uuid()))
    .order_by(Assignment.created_at, Assignment.agent_id)
)


def assignments_of(session: Session, number_id: uuid.UUID) -> list[Assignment]:
    """Every assignment of one number, in the order ``views`` lists them: a write that reads
    them anyway (to decide, to lock) builds the view from them, without reading them again."""
    return list(session.scalars(_ASSIGNMENTS, {"number_id": number_id}))


def view_with(number: PhoneNumber, assignments: Sequence[Assignment]) -> NumberView:
    """The view of ``number`` holding exactly ``assignments`` (in ``assignments_of``'s order)."""
    inbound = next((a.agent_id for a in assignments if a.direction == "inbound"), None)
    return NumberView(
        number, inbound, [a.agent_id for a in assignments if a.direction == "outbound"]
    )


def import_number(session: Session, actor: Actor, data: NumberInput) -> NumberView:
    """Add a number without proof of ownership: unverified until a provider or operator vouches.

    The row is inserted unless the E.164 is held (``ON CONFLICT DO NOTHING``): one statement
    where a look-up of the holders and the ORM's flush took two and most of a create's Python.
    Only a number already held is looked up, to say by whom; a concurrent create of the same
    E.164 waits for the first to end and is then answered the same way. The count the insert
    adds to (``number_counts``, a shard per connection on PostgreSQL) stays locked to the
    COMMIT, two statements longer than when the insert came last: only a create on another
    connection of the same shard, workspace and country waits for it.
    """
    parsed = parse_e164(data.e164, "e164")
    row = new_number_row(actor, parsed, data, utcnow(), policy_of(session, actor.workspace_id))
    insert_unless_held = _INSERT_UNLESS_HELD[is_postgres(session.get_bind())]
    inserted = session.execute(insert_unless_held, row).first()
    if inserted is None:
        held = ownership.holders(session, actor, [parsed.e164])
        if held.elsewhere:
            raise ownership.refuse_unavailable(session, actor, parsed.e164)
        raise Conflict(  # in this workspace, or removed since it stopped this insert
            "number_already_exists",
            f"{parsed.e164} is already in this workspace",
            {"e164": [parsed.e164]},
        )
    result = NumberView(PhoneNumber(**inserted._mapping))
    events.record(
        session, actor, "number.imported", [ids.render("number", row["id"])], after=snapshot(result)
    )
    return result


def _insert_unless_held(dialect_insert: Any) -> Any:
    table: Any = PhoneNumber.__table__
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.e164])
        .returning(*table.c)
    )


# Built once per database, PostgreSQL's first (both spell ON CONFLICT alike, but each
# dialect has its own construct).
_INSERT_UNLESS_HELD = {
    True: _insert_unless_held(postgresql.insert),
    False: _insert_unless_held(sqlite.insert),
}


def import_batch(session: Session, actor: Actor, items: Sequence[NumberInput]) -> list[NumberView]:
    """All or nothing: any bad item refuses the batch with every item's error listed."""
    check_batch_size(len(items), "numbers")
    parsed: list[ParsedNumber | None] = []
    errors: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            number = parse_e164(item.e164, f"numbers[{index}].e164")
        except DomainError as exc:
            errors.append(_item_error(index, item.e164, exc.code, exc.message))
            parsed.append(None)
            continue
        if number.e164 in first_seen:
            errors.append(
                _item_error(
                    index,
                    item.e164,
                    "duplicate_in_batch",
                    f"same number as numbers[{first_seen[number.e164]}]",
                )
            )
        first_seen.setdefault(number.e164, index)
        parsed.append(number)
    held = ownership.holders(session, actor, first_seen)
    for e164 in sorted(held.mine, key=first_seen.__getitem__):
        errors.append(
            _item_error(
                first_seen[e164],
                e164,
                "number_already_exists",
                "this number is already in this workspace",
            )
        )
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise InvalidInput(
            "batch_invalid",
            f"{len(errors)} of {len(items)} numbers were refused; nothing was imported",
            {"errors": errors},
        )
    if held.elsewhere:  # named one at a time: a batch of guesses is no oracle
        first = min(held.elsewhere, key=first_seen.__getitem__)
        raise ownership.refuse_unavailable(
            session, actor, first, index=first_seen[first], total=len(items)
        )
    now = utcnow()
    policy = policy_of(session, actor.workspace_id)
    rows = [
        new_number_row(actor, p, item, now, policy)
        for p, item in zip(parsed, items, strict=True)
        if p is not None
    ]
    # One multi-row INSERT … RETURNING, in request order: no second read of what was written.
    created = list(
        session.scalars(
            insert(PhoneNumber).returning(PhoneNumber, sort_by_parameter_order=True), rows
        )
    )
    events.record(
        session,
        actor,
        "number.batch_imported",
        [ids.render("number", r["id"]) for r in rows],
        after={"count": len(rows), "e164": [r["e164"] for r in rows]},
    )
    return [NumberView(n) for n in created]


def list_numbers(
    session: Session, actor: Actor, filters: NumberFilters, *, cursor: str | None, limit: int
) -> Page[NumberView]:
    query = scoped(PhoneNumber, actor.workspace_id)
    query = _apply_filters(session, actor, query, filters, reading="pages")
    page = keyset_page(session, query, PhoneNumber.id, cursor, limit)
    return Page(views(session, page.items), page.next_cursor)


def list_numbers_by_offset(
    session: Session, actor: Actor, filters: NumberFilters, *, offset: int, limit: int
) -> OffsetPage[NumberView]:
    """The same list paged by offset with a total, as the vendor-compatible APIs page."""
    query = _apply_filters(session, actor, scoped(PhoneNumber, actor.workspace_id), filters)
    page = offset_page(session, query, PhoneNumber.id, offset, limit)
    return OffsetPage(views(session, page.items), page.total)


def filtered(
    session: Session, actor: Actor, filters: NumberFilters, *, reading: Reading = "all"
) -> Any:
    """The workspace's numbers matching ``filters``, as a query for other readers to page.

    ``reading``: how the reader takes the matches (every one, a page at a time in an index's
    order, or the first few in any order), which decides how a search finds them (see
    ``search.containing``).
    """
    query = scoped(PhoneNumber, actor.workspace_id)
    return _apply_filters(session, actor, query, filters, reading=reading)


def agent_numbers(session: Session, agent_id: uuid.UUID) -> list[NumberView]:
    """Every number an agent holds, for surfaces that embed the full list in the agent."""
    held = select(Assignment.number_id).where(Assignment.agent_id == agent_id)
    rows = session.scalars(
        select(PhoneNumber).where(PhoneNumber.id.in_(held)).order_by(PhoneNumber.id)
    )
    return views(session, list(rows))


def get_number_view(session: Session, actor: Actor, ref: str) -> NumberView:
    return view(session, get_number(session, actor, ref))


def update_number(
    session: Session,
    actor: Actor,
    ref: str,
    changes: dict[str, Any],
    preconditions: Preconditions = NO_PRECONDITIONS,
) -> NumberView:
    number = get_number(session, actor, ref, lock=True)
    preconditions.check(entity_tag(number.id, number.version))
    before = snapshot(view(session, number))
    if changes.get("fallback_destination") is not None:
        changes["fallback_destination"] = parse_destination(changes["fallback_destination"])
    if changes.get("sip_settings") is not None:  # patched key by key, under the row lock
        changes["sip_settings"] = {**(number.sip_settings or {}), **changes["sip_settings"]}
    for name in UPDATABLE_FIELDS:
        if name in changes:
            setattr(number, name, changes[name])
    if {"max_calls_per_hour", "max_calls_per_day"} & changes.keys():
        number.capped_until = None  # the next selection re-checks the number under its new caps
    if number.fallback_action == "forward" and not number.fallback_destination:
        raise InvalidInput(
            "fallback_destination_required",
            "fallback_destination: forwarding needs an E.164 number or a SIP URI",
            {"field": "fallback_destination"},
        )
    number.updated_at = utcnow()
    session.flush()
    result = view(session, number)
    events.record(
        session,
        actor,
        "number.updated",
        [ids.render("number", number.id)],
        before=before,
        after=snapshot(result),
    )
    return result


def delete_number(
    session: Session, actor: Actor, ref: str, preconditions: Preconditions = NO_PRECONDITIONS
) -> NumberView:
    """Detach the number from every agent and remove it, in one transaction (rule 8).

    A number bought through a provider leaves a release job in that same transaction: the
    delete and the promise to cancel the subscription commit together or not at all.
    """
    number = get_number(session, actor, ref, lock=True)
    preconditions.check(entity_tag(number.id, number.version))
    assignments = assignments_of(session, number.id)
    removed = view_with(number, assignments)
    bump_table(session, "agents", [a.agent_id for a in assignments if a.is_primary])
    releases.enqueue(session, actor, number)
    events.record(
        session,
        actor,
        "number.deleted",
        [ids.render("number", number.id), *_agent_ids(removed)],
        before=snapshot(removed),
    )
    # Late, as in import_number: the count row's lock is held from here to the COMMIT.
    session.execute(delete(PhoneNumber).where(PhoneNumber.id == number.id))
    session.expunge(number)
    return removed


def parse_destination(text: str) -> str:
    """A forward target: an E.164 number (canonicalised) or a ``sip:``/``sips:`` URI."""
    if text.startswith(("sip:", "sips:")) and "@" in text and " " not in text:
        return text
    return parse_e164(text, "fallback_destination").e164


def snapshot(v: NumberView) -> dict[str, Any]:
    """The audit-log picture of a number and its assignments."""
    return {
        "e164": v.number.e164,
        "status": v.number.status,
        "friendly_name": v.number.friendly_name,
        "fallback_action": v.number.fallback_action,
        "fallback_destination": v.number.fallback_destination,
        "inbound_agent_id": ids.render("agent", v.inbound_agent_id) if v.inbound_agent_id else None,
        "outbound_agent_ids": [ids.render("agent", a) for a in v.outbound_agent_ids],
    }


def _agent_ids(v: NumberView) -> list[str]:
    agents = ([v.inbound_agent_id] if v.inbound_agent_id else []) + v.outbound_agent_ids
    return [ids.render("agent", a) for a in agents]


def _apply_filters(
    session: Session, actor: Actor, query: Any, f: NumberFilters, *, reading: Reading = "all"
) -> Any:
    if f.agent_id is not None:
        # A filter, not a lookup: an agent of another workspace, or a malformed id, holds none.
        held = select(Assignment.number_id).where(
            Assignment.agent_id == ids.parse("agent", f.agent_id),
            Assignment.workspace_id == actor.workspace_id,
        )
        if f.assignment in ("inbound", "outbound"):
            held = held.where(Assignment.direction == f.assignment)
        query = query.where(PhoneNumber.id.in_(held))
    elif f.assignment in ("inbound", "outbound"):
        query = query.where(
            exists().where(
                Assignment.number_id == PhoneNumber.id, Assignment.direction == f.assignment
            )
        )
    if f.has_inbound_agent is not None:
        inbound = exists().where(
            Assignment.number_id == PhoneNumber.id, Assignment.direction == "inbound"
        )
        query = query.where(inbound if f.has_inbound_agent else ~inbound)
    if f.assignment == "none":
        query = query.where(~exists().where(Assignment.number_id == PhoneNumber.id))
    if f.country_code:
        query = query.where(PhoneNumber.country_code == f.country_code.upper())
    if f.number_type:
        query = query.where(PhoneNumber.number_type == f.number_type)
    if f.status:
        query = query.where(PhoneNumber.status == f.status)
    if f.q:
        query = containing(session, query, f.q, reading=reading)
    return query


def new_number_row(
    actor: Actor, p: ParsedNumber, data: NumberInput, now: Any, policy: Policy
) -> dict[str, Any]:
    return {
        "id": ids.new_uuid(),
        "workspace_id": actor.workspace_id,
        "e164": p.e164,
        "friendly_name": data.friendly_name,
        "country_code": p.country_code,
        "number_type": p.number_type,
        "valid": p.valid,
        "status": "active",
        "source": "imported",
        "fallback_action": "reject",  # the column's default, here so a picture needs no insert
        "provider": data.provider,
        "monthly_cost_cents": data.monthly_cost_cents,
        "purchased_at": None,
        "sip_settings": data.sip_settings,
        "verified_by": None,
        "verified_at": None,
        **initial_health(policy, now),
        "created_at": now,
        "updated_at": now,
    }


def _item_error(index: int, value: object, code: str, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "field": f"numbers[{index}].e164",
        "value": value,
        "code": code,
        "message": message,
    }
