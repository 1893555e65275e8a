"""Text anywhere in a number or its label, answered from an index at any inventory size.

The rule is the one a person expects from a search box, ``LIKE '%text%'``; no B-tree serves
it, so migration 0180 adds a trigram index: PostgreSQL's ``pg_trgm`` GIN indexes, which the
planner uses for the LIKE itself, and on SQLite an FTS5 trigram table that this module asks
first for the candidate rows. The LIKE stays in the query as the rule, so the index only ever
narrows the rows it is applied to.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from callplane.numbers.models import PhoneNumber

SHORTEST_INDEXED = 3  # a trigram index finds text of three characters or more
# Past this many candidates a page is found faster by walking the page's own index (ids or
# numbers, in order) and testing each row than by reading every candidate and sorting them.
FEW_CANDIDATES = 1_000
_index = table("phone_numbers_search", column("rowid"), column("phone_numbers_search"))


def containing(session: Session, text: str, *, ordered: bool = False) -> ColumnElement[bool]:
    """Numbers whose E.164 (or, ignoring case, whose label) contains ``text``.

    On SQLite the candidates come from the FTS5 table. Read all (a count), each candidate is
    looked up by rowid. Read in order a page at a time (``ordered``), a search with many
    candidates is better served by the order's index: a unary ``+`` on the rowid tells SQLite
    not to drive the query from the candidates but to test rows against them.
    """
    pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    rule = or_(
        PhoneNumber.e164.like(pattern, escape="\\"),
        PhoneNumber.friendly_name.ilike(pattern, escape="\\"),
    )
    if session.get_bind().dialect.name != "sqlite" or len(text) < SHORTEST_INDEXED:
        return rule
    phrase = '"' + text.replace('"', '""') + '"'
    candidates = select(_index.c.rowid).where(_index.c.phone_numbers_search.match(phrase))
    rowid = "phone_numbers.rowid"
    if ordered:
        few = candidates.limit(FEW_CANDIDATES + 1).subquery()
        if (session.scalar(select(func.count()).select_from(few)) or 0) > FEW_CANDIDATES:
            rowid = "+phone_numbers.rowid"
    return and_(literal_column(rowid).in_(candidates), rule)
