"""The numbers list's state, all of it in the query string: filters, sort, page, page size.

One parser for the list page, its bulk actions ("all N matching this filter") and links, so
a shared or bookmarked URL shows the same numbers, and the back button just works.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Literal
from urllib.parse import urlencode

from callplane.numbers.browse import Sort, Window
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
        """This list's URL with some parameters changed; a filter change goes to page one."""
        moved = replace(self, **changes)  # type: ignore[arg-type]
        if not {"after", "before", "last"} & changes.keys():
            moved = replace(moved, after="", before="", last=False)
        params = {
            k: ("1" if v is True else v)
            for k, v in asdict(moved).items()
            if v not in ("", False, None) and not (k == "sort" and v == "created")
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
