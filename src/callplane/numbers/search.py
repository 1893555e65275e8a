"""Text anywhere in a number or its label, answered from an index at any inventory size.

The rule is the one a person expects from a search box: the text, as typed, anywhere in the
number, or anywhere in the label whatever its case (``LIKE '%text%'`` and ``ILIKE``). No B-tree
serves it, so migration 0180 adds a trigram index: PostgreSQL's ``pg_trgm`` GIN indexes, which
the planner uses for the LIKE itself, and on SQLite an FTS5 trigram table that this module asks
first for the candidate rows. The rule stays in the query, so the index only ever narrows the
rows it is applied to, and every plan returns the same rows.

One exception, on PostgreSQL, for a count that stops after a few hundred matches: the number's
own four-character pieces (``number_grams``, migration 0200) name exactly the numbers that
contain a text of four characters, so for that count the pieces are the rule. Their index
answers it with one list of exact matches where ``pg_trgm`` must intersect two lists of
candidates (for "4155" in a million numbers: 8,068 entries read against 12,179 and 67,024),
and the count reads rows only until it stops.
"""

from __future__ import annotations

import string
from typing import Any, Literal

from sqlalchemy import Text, and_, column, func, literal, literal_column, or_, select, table
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from callplane.numbers.models import PhoneNumber

SHORTEST_INDEXED = 3  # a trigram index finds text of three characters or more
# Past this many candidates (in the whole installation) a page is found faster by walking the
# page's own index (ids or numbers, in order) and testing each row than by reading every
# candidate and sorting them: the walk reads rows in the order they are stored, about 50 per
# page divided by the share of rows that match, where each candidate is a lookup elsewhere in
# the table. At a million numbers the two cost the same at roughly a thousand candidates.
FEW_CANDIDATES = 1_000
_index = table("phone_numbers_search", column("rowid"), column("phone_numbers_search"))
# How a query's reader takes the matches: all of them (an exact count, a bulk action); a page
# at a time in an index's order ("pages"), or so when the matches are known to be many, more
# than a count's limit ("walk"); or the first few hundred in any order (a count with a limit).
Reading = Literal["all", "pages", "walk", "few"]
PIECE = 4  # the length of the pieces number_grams() makes of an E.164 (migration 0200)
_ASCII_LETTERS = frozenset(string.ascii_letters)


def containing(session: Session, query: Any, text: str, *, reading: Reading = "all") -> Any:
    """``query`` (over phone_numbers) narrowed to numbers whose E.164 or label contains ``text``.

    On SQLite the candidates come from the FTS5 table, read one by one and looked up by rowid,
    so a count that stops after N matches reads about N rows. Read in order a page at a time,
    a search with many candidates is better served without them: the order's own index is
    walked until the page is full, each row tested by the rule alone. (Testing each row
    against the candidates instead costs reading all of them first: 8,000 for a term in 0.8%
    of a million numbers, more than the walk itself.) ``pages`` asks the FTS5 table how many
    candidates there are; ``walk`` knows already.

    On PostgreSQL the planner chooses, except in two cases. A ``walk`` tests the number with
    ``strpos``, which no index serves, so the planner walks: its estimate for ``LIKE '%4155%'``
    comes from the hundred values of a sampled histogram (1% when one of them contains the
    text, 0.01% when none does), and at 0.01% it read all 8,068 matches to sort them (20 ms)
    instead of walking 6,400 rows (0.7 ms). A count of the first ``few`` matches of a text of
    four characters finds them by the number's pieces alone (see above), named in the
    statement so that the planner knows the text; tested row by row, as a walk or a scan of
    every match would, the 13 pieces cost ten times a LIKE, so nothing else uses them.
    """
    if session.get_bind().dialect.name != "sqlite":
        pattern = "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        in_number: ColumnElement[bool] = PhoneNumber.e164.like(pattern, escape="\\")
        if reading == "walk":
            in_number = func.strpos(PhoneNumber.e164, text) > 0
        elif reading == "few" and len(text) == PIECE:
            pieces = array([literal(text, Text, literal_execute=True)])
            in_number = func.number_grams(PhoneNumber.e164).op("@>")(pieces)
        return query.where(or_(in_number, PhoneNumber.friendly_name.ilike(pattern, escape="\\")))
    # The same rule in SQLite's terms, at half the cost per row of its LIKE (which a walk pays
    # on thousands of rows): an E.164 is a "+" and digits, which have no case, and SQLite's
    # LIKE and lower() both fold ASCII letters only, so this finds exactly what LIKE finds.
    # For the same reason a text without ASCII letters (digits, mostly) is found in the label
    # as it is, and a number without a label is not asked: a walk over a million numbers,
    # most of them unlabelled, tests 6,000 rows in 0.6 instead of 0.7 ms.
    label = PhoneNumber.friendly_name
    if _ASCII_LETTERS.isdisjoint(text):
        in_label = func.instr(label, text) > 0
    else:
        in_label = func.instr(func.lower(label), func.lower(text)) > 0
    query = query.where(
        or_(func.instr(PhoneNumber.e164, text) > 0, and_(label.is_not(None), in_label))
    )
    if len(text) < SHORTEST_INDEXED or "\x00" in text:  # FTS5 reads C strings
        return query
    match = _index.c.phone_numbers_search.match('"' + text.replace('"', '""') + '"')
    if reading == "walk":
        return query
    if reading == "pages":
        few = select(_index.c.rowid).where(match).limit(FEW_CANDIDATES + 1).subquery()
        if (session.scalar(select(func.count()).select_from(few)) or 0) > FEW_CANDIDATES:
            return query
    return query.join(_index, _index.c.rowid == literal_column("phone_numbers.rowid")).where(match)
