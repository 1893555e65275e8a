"""Turning what a client wrote (an id, an E.164 or a slug) into numbers of the inventory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.errors import DomainError, InvalidInput, NotFound, not_found
from callplane.core.limits import check_batch_size
from callplane.core.phone import parse_e164, parse_slug
from callplane.core.tenancy import scoped_once
from callplane.numbers.models import PhoneNumber

# find_numbers' statements, built once (every write to a number starts there): building a
# query on each call cost more than running it.
_BY_IDS = (
    scoped_once(PhoneNumber)
    .where(PhoneNumber.id.in_(bindparam("keys", expanding=True)))
    .order_by(PhoneNumber.id)
)
_BY_E164S = (
    scoped_once(PhoneNumber)
    .where(PhoneNumber.e164.in_(bindparam("keys", expanding=True)))
    .order_by(PhoneNumber.id)
)
_IDS_OF_E164S = _BY_E164S.with_only_columns(PhoneNumber.id)
# (by id, locked) -> the statement that reads the rows
_ROWS = {
    (True, False): _BY_IDS,
    (True, True): _BY_IDS.with_for_update(),
    (False, False): _BY_E164S,
    (False, True): _BY_E164S.with_for_update(),
}


@dataclass(frozen=True, slots=True)
class NumberRef:
    """One reference as written (``text``, from ``field``) and what it points at."""

    field: str
    text: str
    number_id: uuid.UUID | None = None
    e164: str | None = None


def parse_ref(text: object, field: str) -> NumberRef:
    """'+…' is E.164, digits are a slug, anything else an id; impossible numbers are 422."""
    if not isinstance(text, str):
        raise InvalidInput(
            "invalid_number_reference",
            f"{field}: must be a string",
            {"field": field, "value": repr(text)},
        )
    if text.startswith("+"):
        return NumberRef(field, text, e164=parse_e164(text, field).e164)
    if text.isdigit():
        return NumberRef(field, text, e164=parse_slug(text, field).e164)
    return NumberRef(field, text, number_id=ids.parse("number", text))


def parse_refs(groups: Sequence[tuple[str, Sequence[object]]]) -> list[NumberRef]:
    """Parse lists of references, reporting every unparseable one, not just the first."""
    check_batch_size(
        sum(len(values) for _, values in groups), groups[0][0] if groups else "numbers"
    )
    refs: list[NumberRef] = []
    errors: list[dict[str, object]] = []
    for name, values in groups:
        for index, text in enumerate(values):
            try:
                refs.append(parse_ref(text, f"{name}[{index}]"))
            except DomainError as exc:
                errors.append(
                    {
                        "field": f"{name}[{index}]",
                        "value": text,
                        "code": exc.code,
                        "message": exc.message,
                    }
                )
    if len(errors) == 1:
        raise InvalidInput("invalid_phone_number", str(errors[0]["message"]), errors[0])
    if errors:
        raise InvalidInput(
            "invalid_phone_number",
            f"{len(errors)} references are not possible numbers: "
            + ", ".join(str(e["field"]) for e in errors[:10]),
            {"errors": errors},
        )
    return refs


def find_numbers(
    session: Session, actor: Actor, refs: Sequence[NumberRef], *, lock: bool = False
) -> dict[NumberRef, PhoneNumber]:
    """Every reference that names a number of this workspace, by unique index only.

    One condition per query: with ``id IN (…) OR e164 IN (…)`` (or an empty ``IN ()`` on either
    side) SQLite gives up both unique indexes and walks every number of the workspace. A mix of
    ids and E.164s first turns the E.164s into ids, so the rows are read (and locked) in one
    query, in id order.
    """
    workspace = actor.workspace_id
    wanted_ids = {r.number_id for r in refs if r.number_id}
    wanted_e164 = {r.e164 for r in refs if r.e164}
    if wanted_ids and wanted_e164:
        named = {"workspace_id": workspace, "keys": sorted(wanted_e164)}
        wanted_ids |= set(session.scalars(_IDS_OF_E164S, named))
    if not wanted_ids and not wanted_e164:
        return {}
    keys: list[Any] = sorted(wanted_ids) if wanted_ids else sorted(wanted_e164)
    statement = _ROWS[bool(wanted_ids), lock]
    rows = list(session.scalars(statement, {"workspace_id": workspace, "keys": keys}))
    by_id = {n.id: n for n in rows}
    by_e164 = {n.e164: n for n in rows}
    found: dict[NumberRef, PhoneNumber] = {}
    for ref in refs:
        number = by_id.get(ref.number_id) if ref.number_id else by_e164.get(ref.e164 or "")
        if number is not None:
            found[ref] = number
    return found


def get_number(session: Session, actor: Actor, text: str, *, lock: bool = False) -> PhoneNumber:
    ref = parse_ref(text, "number")
    number = find_numbers(session, actor, [ref], lock=lock).get(ref)
    if number is None:
        raise not_found("number", text)
    return number


def missing_error(missing: Sequence[NumberRef]) -> NotFound:
    listed = [m.text for m in missing]
    return NotFound(
        "number_not_found",
        f"{len(listed)} referenced number(s) not in this workspace: {', '.join(listed[:20])}"
        + (" …" if len(listed) > 20 else ""),
        {"missing": [{"field": m.field, "value": m.text} for m in missing]},
    )
