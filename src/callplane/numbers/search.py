"""Text anywhere in a number or its label, answered from an index at any inventory size.

The rule is the one a person expects from a search box, ``LIKE '%text%'``; no B-tree serves
it, so migration 0180 adds a trigram index: PostgreSQL's ``pg_trgm`` GIN indexes, which the
planner uses for the LIKE itself, and on SQLite an FTS5 trigram table that this module asks
first for the candidate rows. The LIKE stays in the query as the rule, so the index only ever
narrows the rows it is applied to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from callplane.numbers.models import PhoneNumber

SHORTEST_INDEXED = 3  # a trigram index finds text of three characters or more
# Past this many candidates a page is found faster by walking the page's own index (ids or
# numbers, in order) and testing each row than by reading every candidate and sorting them.
FEW_CANDIDATES = 1_000
_index = table("phone_numbers_search", column("rowid"), column("phone_numbers_search"))


def containing(session: Session, query: Any, text: str, *, ordered: bool = False) -> Any:
    """``query`` (over phone_numbers) narrowed to numbers whose E.164 or label contains ``text``.

    On SQLite the candidates come from the FTS5 table, in one of two ways. Joined, the search
    drives: candidates are read one by one and looked up by rowid, so a count that stops after
    N matches reads about N rows. Read in order a page at a time (``ordered``), a search with
    many candidates is better served by the order's own index, walked until the page is full,
    each row tested against the candidates; a unary ``+`` on the rowid tells SQLite so.
    """
    pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    query = query.where(
        or_(
            PhoneNumber.e164.like(pattern, escape="\\"),
            PhoneNumber.friendly_name.ilike(pattern, escape="\\"),
        )
    )
    indexed = len(text) >= SHORTEST_INDEXED and "\x00" not in text  # FTS5 reads C strings
    if session.get_bind().dialect.name != "sqlite" or not indexed:
        return query
    match = _index.c.phone_numbers_search.match('"' + text.replace('"', '""') + '"')
    if ordered:
        few = select(_index.c.rowid).where(match).limit(FEW_CANDIDATES + 1).subquery()
        if (session.scalar(select(func.count()).select_from(few)) or 0) > FEW_CANDIDATES:
            candidates = select(_index.c.rowid).where(match)
            return query.where(literal_column("+phone_numbers.rowid").in_(candidates))
    return query.join(_index, _index.c.rowid == literal_column("phone_numbers.rowid")).where(match)
