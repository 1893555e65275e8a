"""twilio call legs already answered (replay protection)

Revision ID: 0111
Revises: 0120
Create Date: 2026-11-27 12:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111"
down_revision: str | None = "0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_call_legs",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_twilio_call_legs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "call_sid", name=op.f("pk_twilio_call_legs")),
    )
    op.create_index("ix_twilio_call_legs_seen_at", "twilio_call_legs", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_twilio_call_legs_seen_at", table_name="twilio_call_legs")
    op.drop_table("twilio_call_legs")
