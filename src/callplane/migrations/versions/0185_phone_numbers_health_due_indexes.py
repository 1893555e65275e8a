"""numbers: partial indexes for the health changes that fall due (benched and warming numbers)

Revision ID: 0185
Revises: 0180
Create Date: 2026-11-27 17:40:00

Every minute each server looks for numbers whose bench is over or whose warming is done
(``reputation.service.apply_due_changes``). Without an index that was a scan of the whole
``phone_numbers`` table: at a million numbers about 500 MB of pages read each minute, which on
SQLite, read through a memory map, came to count in the server's resident memory. Each index
holds only the numbers in its state, so the look-up reads a few index pages.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0185"
down_revision: str | None = "0180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_phone_numbers_benched_until", "benched_until", "health_state = 'benched'"),
    ("ix_phone_numbers_warming_since", "warming_since", "health_state = 'warming'"),
)


def upgrade() -> None:
    for name, column, where in INDEXES:
        op.create_index(
            name,
            "phone_numbers",
            [column],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.drop_index(name, table_name="phone_numbers")
