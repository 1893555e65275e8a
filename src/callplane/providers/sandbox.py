"""The embedded sandbox provider: the whole number lifecycle on a laptop, no account needed.

It sells only numbers from ranges reserved for fiction (North American NXX-555-0100..0199,
Ofcom's drama ranges, ACMA's), which ``phonenumbers`` knows as valid yet no one can dial, and
keeps its books (sold, released) in the database, in the caller's transaction: a purchase that
is rolled back was never made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callplane.core.db import utcnow
from callplane.core.phone import parse_e164
from callplane.numbers.models import PhoneNumber
from callplane.providers.base import (
    Candidate,
    OwnedNumber,
    SearchQuery,
    number_not_available,
    unavailable,
)
from callplane.providers.models import SandboxNumber

NAME = "sandbox"

# country -> (calling code, [(area code, digits after the calling code, first, last, width)])
_RANGES: dict[str, tuple[str, list[tuple[str, str, int, int, int]]]] = {
    "US": (
        "1",
        [
            (str(area), f"{area}555", 100, 199, 4)
            for area in (202, 206, 212, 213, 305, 312, 415, 617, 646, 702, 800, 888)
        ],
    ),
    "CA": ("1", [(str(area), f"{area}555", 100, 199, 4) for area in (416, 514, 604)]),
    "GB": ("44", [("20", "207946", 0, 999, 4), ("161", "1614960", 0, 999, 3)]),
    "AU": ("61", [("2", "25550", 100, 199, 4)]),
}


def catalogue(country: str) -> Iterator[tuple[str, str]]:
    """Every number the sandbox sells in a country, as (E.164, area code)."""
    calling_code, ranges = _RANGES.get(country.upper(), ("", []))
    for area, prefix, first, last, width in ranges:
        for line in range(first, last + 1):
            yield f"+{calling_code}{prefix}{line:0{width}d}", area


_ALL = frozenset(number for country in _RANGES for number, _ in catalogue(country))


def in_catalogue(e164: str) -> bool:
    return e164 in _ALL


class SandboxProvider:
    """Sells fictional numbers to one workspace and records it in the database."""

    name = NAME

    def __init__(
        self,
        session: Session,
        workspace_id: uuid.UUID,
        monthly_cost_cents: int,
        fail_release: Callable[[], bool] = lambda: False,
    ) -> None:
        self._session = session
        self._workspace_id = workspace_id
        self._cost = monthly_cost_cents
        self._fail_release = fail_release

    def search(self, query: SearchQuery) -> list[Candidate]:
        matching = [
            e164
            for e164, area in catalogue(query.country)
            if (not query.area_code or area == query.area_code)
            and (not query.contains or query.contains in e164[1:])
        ]
        # Sold by the sandbox, or held with proof in some inventory: not for sale. A number
        # only imported by hand is for sale: buying it proves ownership (numbers.ownership).
        taken = set(
            self._session.scalars(
                select(SandboxNumber.e164).where(
                    SandboxNumber.status == "owned", SandboxNumber.e164.in_(matching)
                )
            )
        ) | set(
            self._session.scalars(
                select(PhoneNumber.e164).where(
                    PhoneNumber.e164.in_(matching),
                    or_(
                        PhoneNumber.verified_at.is_not(None),
                        PhoneNumber.workspace_id == self._workspace_id,
                    ),
                )
            )
        )
        country = query.country.upper()
        free = [e for e in matching if e not in taken][: query.limit]
        return [Candidate(e164, country, monthly_cost_cents=self._cost) for e164 in free]

    def purchase(self, e164: str, voice_url: str | None) -> OwnedNumber:
        if not in_catalogue(e164):
            raise number_not_available(NAME, e164, "the sandbox sells only fictional numbers")
        row = self._session.get(SandboxNumber, e164, with_for_update=True)
        if row is not None and row.status == "owned":
            raise number_not_available(NAME, e164, "it is already sold")
        now = utcnow()
        sid = "SB" + uuid.uuid4().hex
        if row is None:
            row = SandboxNumber(e164=e164, releases=0)
            self._session.add(row)
        row.sid, row.workspace_id, row.status = sid, self._workspace_id, "owned"
        row.monthly_cost_cents, row.purchased_at, row.released_at = self._cost, now, None
        self._session.flush()
        return OwnedNumber(e164, sid, monthly_cost_cents=self._cost)

    def release(self, e164: str, provider_ref: str | None) -> None:
        if self._fail_release():
            raise unavailable(NAME, "simulated outage (CALLPLANE_SANDBOX_FAIL_RELEASES)")
        row = self._session.get(SandboxNumber, e164, with_for_update=True)
        if row is None or row.status != "owned" or (provider_ref and row.sid != provider_ref):
            return  # released already: releasing twice is success and changes nothing
        row.status, row.released_at = "released", utcnow()
        row.releases += 1
        self._session.flush()

    def configure_voice(self, provider_ref: str, voice_url: str) -> None:
        """The sandbox places no calls; there is nothing to point at callplane."""

    def owned(self) -> list[OwnedNumber]:
        rows = self._session.scalars(
            select(SandboxNumber)
            .where(
                SandboxNumber.workspace_id == self._workspace_id, SandboxNumber.status == "owned"
            )
            .order_by(SandboxNumber.e164)
        )
        return [OwnedNumber(r.e164, r.sid, None, r.monthly_cost_cents) for r in rows]


def check_catalogue() -> None:
    """Every catalogue number must be valid to phonenumbers (a test calls this)."""
    for country in _RANGES:
        for e164, _ in catalogue(country):
            if not parse_e164(e164, "e164").valid:
                raise AssertionError(e164)
