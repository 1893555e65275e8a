"""The numbers list's state, all of it in the query string: filters, sort, page, page size.

One parser for the list page, its bulk actions ("all N matching this filter") and links, so
a shared or bookmarked URL shows the same numbers, and the back button just works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal, cast
from urllib.parse import urlencode

from callplane.core.errors import InvalidInput
from callplane.numbers.browse import SORTS, Sort, Window
from callplane.numbers.service import NumberFilters

PAGE_SIZES = (25, 50, 100)
_SEPARATORS = re.compile(r"[\s().\-]")

Assignment = Literal["", "inbound", "outbound", "none"]


@dataclass(frozen=True, slots=True)
class NumberQuery:
    q: str = ""
    country: str = ""
    status: Literal["", "active", "suspended"] = ""
    assignment: Assignment = ""
    agent: str = ""
    sort: Sort = "created"
    per_page: int = 50
    after: str = ""
    before: str = ""
    last: bool = False
    exact: bool = False  # count every match, past the count's usual stop (COUNT_LIMIT)

    def filters(self) -> NumberFilters:
        """Digits typed as people write them ('628 666-63') search the digits of the number."""
        q = self.q.strip()
        if q and any(c.isdigit() for c in q) and _SEPARATORS.sub("", q).lstrip("+").isdigit():
            q = _SEPARATORS.sub("", q)
        return NumberFilters(
            agent_id=self.agent or None,
            assignment=self.assignment or None,
            country_code=self.country.upper() or None,
            status=self.status or None,
            q=q or None,
        )

    def window(self) -> Window:
        return Window(after=self.after or None, before=self.before or None, last=self.last)

    def url(self, **changes: object) -> str:
        """This list's URL with some parameters changed, on its first page unless one is given."""
        moved = replace(replace(self, after="", before="", last=False), **changes)  # type: ignore[arg-type]
        params = {
            k: ("1" if v is True else v)
            for k, v in asdict(moved).items()
            if v not in ("", False, None)
            and not (k == "sort" and v == "created")
            and not (k == "per_page" and v == 50)
        }
        return "/numbers" + ("?" + urlencode(params) if params else "")

    def chips(self) -> list[tuple[str, str]]:
        """The applied filters, each with the URL that removes it."""
        shown = {
            "q": "Search",
            "country": "Country",
            "status": "Status",
            "assignment": "Assigned",
            "agent": "Agent",
        }
        return [
            (f"{label}: {getattr(self, name)}", self.url(**{name: ""}))
            for name, label in shown.items()
            if getattr(self, name)
        ]


_CHOICES = {
    "status": ("", "active", "suspended"),
    "assignment": ("", "inbound", "outbound", "none"),
    "sort": SORTS,
}
_COUNTRY = re.compile(r"^([A-Za-z]{2})?$")


def parse_query(params: Mapping[str, str]) -> NumberQuery:
    """The list state from a query string; a value no page links to is a 422 in words."""

    def refuse(name: str, why: str) -> InvalidInput:
        return InvalidInput("invalid_filter", f"{name}: {why}", {"field": name})

    values = {k: params.get(k, "") for k in ("q", "country", "agent", "after", "before")}
    for name, value in values.items():
        if len(value) > 64:
            raise refuse(name, "at most 64 characters")
    if not _COUNTRY.match(values["country"]):
        raise refuse("country", "a two-letter country code such as US")
    choices = {k: params.get(k, "created" if k == "sort" else "") for k in _CHOICES}
    for name, value in choices.items():
        if value not in _CHOICES[name]:
            raise refuse(name, "not one of " + ", ".join(v for v in _CHOICES[name] if v))
    per_page = params.get("per_page", "50")
    if per_page not in {str(n) for n in PAGE_SIZES}:
        raise refuse("per_page", "one of " + ", ".join(str(n) for n in PAGE_SIZES))
    return NumberQuery(
        q=values["q"],
        country=values["country"],
        status=cast(Literal["", "active", "suspended"], choices["status"]),
        assignment=cast(Assignment, choices["assignment"]),
        agent=values["agent"],
        sort=cast(Sort, choices["sort"]),
        per_page=int(per_page),
        after=values["after"],
        before=values["before"],
        last=params.get("last", "") in ("1", "true"),
        exact=params.get("exact", "") in ("1", "true"),
    )
