"""caller-ID usage kept on the number row that a selection locks

Revision ID: 0103
Revises: 0102
Create Date: 2026-11-27 12:20:00

Counters of selections in the sliding last hour and day, the window edges they were last
brought up to, the last selection, and until when a number is known to be at a cap. They are
filled from the selection log so caps hold across the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0103"
down_revision: str | None = "0102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "last_selected_at",
    "calls_hour",
    "calls_day",
    "hour_edge",
    "day_edge",
    "capped_until",
)


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(sa.Column("last_selected_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("calls_hour", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("calls_day", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("hour_edge", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("day_edge", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("capped_until", sa.DateTime(timezone=True)))
    # Start every counter from the log, its edges one window back from now: exact from here on.
    postgres = op.get_bind().dialect.name == "postgresql"
    hour_ago = (
        "now() - interval '1 hour'"
        if postgres
        else ("strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 hour')")
    )
    day_ago = (
        "now() - interval '1 day'"
        if postgres
        else ("strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 day')")
    )
    op.execute(
        f"""
        UPDATE phone_numbers SET
          last_selected_at = (SELECT max(s.selected_at) FROM caller_id_selections s
                              WHERE s.number_id = phone_numbers.id),
          calls_hour = (SELECT count(*) FROM caller_id_selections s
                        WHERE s.number_id = phone_numbers.id AND s.selected_at > {hour_ago}),
          calls_day = (SELECT count(*) FROM caller_id_selections s
                       WHERE s.number_id = phone_numbers.id AND s.selected_at > {day_ago}),
          hour_edge = {hour_ago},
          day_edge = {day_ago}
        WHERE EXISTS (SELECT 1 FROM caller_id_selections s WHERE s.number_id = phone_numbers.id)
        """  # noqa: S608 - constant fragments
    )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
