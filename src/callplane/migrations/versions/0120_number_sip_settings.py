"""number sip settings

Revision ID: 0120
Revises: 0115
Create Date: 2026-11-27 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0120"
down_revision: str | None = "0115"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(
            sa.Column(
                "sip_settings",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.drop_column("sip_settings")
