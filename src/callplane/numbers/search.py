"""Text anywhere in a number or its label, answered from an index at any inventory size.

The rule is the one a person expects from a search box: the text, as typed, anywhere in the
number, or anywhere in the label whatever its case (``LIKE '%text%'`` and ``ILIKE``). No B-tree
serves it, so migration 0180 adds a trigram index: PostgreSQL's ``pg_trgm`` GIN indexes, which
the planner uses for the LIKE itself, and on SQLite an FTS5 trigram table that this module asks
first for the candidate rows. The rule stays in the query, so the index only ever narrows the
rows it is applied to, and every plan returns the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from callplane.numbers.models import PhoneNumber

SHORTEST_INDEXED = 3  # a trigram index finds text of three characters or more
# Past this many candidates (in the whole installation) a page is found faster by walking the
# page's own index (ids or numbers, in order) and testing each row than by reading every
# candidate and sorting them: the walk reads rows in the order they are stored, about 50 per
# page divided by the share of rows that match, where each candidate is a lookup elsewhere in
# the table. At a million numbers the two cost the same at roughly a thousand candidates.
FEW_CANDIDATES = 1_000
_index = table("phone_numbers_search", column("rowid"), column("phone_numbers_search"))


def containing(session: Session, query: Any, text: str, *, ordered: bool = False) -> Any:
    """``query`` (over phone_numbers) narrowed to numbers whose E.164 or label contains ``text``.

    On SQLite the candidates come from the FTS5 table, read one by one and looked up by rowid,
    so a count that stops after N matches reads about N rows. Read in order a page at a time
    (``ordered``), a search with many candidates is better served without them: the order's
    own index is walked until the page is full, each row tested by the rule alone. (Testing
    each row against the candidates instead costs reading all of them first: 8,000 for a
    term in 0.8% of a million numbers, more than the walk itself.)
    """
    if session.get_bind().dialect.name != "sqlite":
        pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        return query.where(
            or_(
                PhoneNumber.e164.like(pattern, escape="\\"),
                PhoneNumber.friendly_name.ilike(pattern, escape="\\"),
            )
        )
    # The same rule in SQLite's terms, at half the cost per row of its LIKE (which a walk pays
    # on thousands of rows): an E.164 is a "+" and digits, which have no case, and SQLite's
    # LIKE and lower() both fold ASCII letters only, so this finds exactly what LIKE finds.
    query = query.where(
        or_(
            func.instr(PhoneNumber.e164, text) > 0,
            func.instr(func.lower(PhoneNumber.friendly_name), func.lower(text)) > 0,
        )
    )
    if len(text) < SHORTEST_INDEXED or "\x00" in text:  # FTS5 reads C strings
        return query
    match = _index.c.phone_numbers_search.match('"' + text.replace('"', '""') + '"')
    if ordered:
        few = select(_index.c.rowid).where(match).limit(FEW_CANDIDATES + 1).subquery()
        if (session.scalar(select(func.count()).select_from(few)) or 0) > FEW_CANDIDATES:
            return query
    return query.join(_index, _index.c.rowid == literal_column("phone_numbers.rowid")).where(match)
