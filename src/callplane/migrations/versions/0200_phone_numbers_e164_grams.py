"""numbers: an E.164's four-character pieces, indexed, for counting a search

Revision ID: 0200
Revises: 0195
Create Date: 2026-11-27 22:40:00

The numbers page counts a search's matches up to 501 ("more than 500"). On PostgreSQL the
``pg_trgm`` index of migration 0180 answers ``e164 LIKE '%4155%'`` by intersecting the lists of
two trigrams, "415" and "155", and the count must wait for the whole intersection: at a
million numbers 12,179 and 67,024 entries read for 8,270 candidates, each rechecked, before the
heap scan can stop at 501. ``number_grams(e164)`` lists every piece of four characters of a
number (an E.164 is at most 16 characters: pieces from positions 1 to 13; the shorter tails
past the end are never a whole text of four characters, so they match nothing). A text of four
characters is in a number exactly when it is one of its pieces, so the index on them holds the
exact matches of "4155" in one list (8,068 entries), and no row needs a recheck
(``search.containing``). Four characters is where ``pg_trgm`` does worst: a text of three is
one trigram, one list already; a longer one intersects lists of rarer trigrams into few
candidates. Pieces of three as well would double the index's entries (27 a number, not 13),
which every import writes.

The function is one expression in SQL, so the planner inlines it and matches the index however
the query is written. Tested row by row it costs a few microseconds, ten times a ``LIKE``: only
a count that stops early (found through the index) uses it. SQLite needs nothing: its FTS5
trigram table already reads candidates one by one.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0200"
down_revision: str | None = "0195"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every piece of 4 characters of a text of at most 16 (the column's length).
PIECES = ", ".join(f"substr(e164, {start}, 4)" for start in range(1, 14))
FUNCTION = f"""CREATE FUNCTION number_grams(e164 text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[{PIECES}] $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(FUNCTION)
    op.execute(
        "CREATE INDEX ix_phone_numbers_e164_grams ON phone_numbers"
        " USING gin (number_grams(e164)) WITH (fastupdate = off)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX ix_phone_numbers_e164_grams")
    op.execute("DROP FUNCTION number_grams(text)")
