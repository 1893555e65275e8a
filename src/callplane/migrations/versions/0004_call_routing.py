"""call routing

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:26:55.591764
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caller_id_selections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("number_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("to_e164", sa.String(length=16), nullable=False),
        sa.Column("selected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_caller_id_selections_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["number_id"],
            ["phone_numbers.id"],
            name=op.f("fk_caller_id_selections_number_id_phone_numbers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_caller_id_selections_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller_id_selections")),
    )
    with op.batch_alter_table("caller_id_selections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_caller_id_selections_number_id_selected_at",
            ["number_id", "selected_at"],
            unique=False,
        )

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "outbound_strategy", sa.String(length=16), server_default="primary", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "allowed_outbound_countries",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("stream_url", sa.String(length=2048), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_agents_outbound_strategy"),
            "outbound_strategy IN ('primary', 'local_presence', 'rotate')",
        )

    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "fallback_action", sa.String(length=16), server_default="reject", nullable=False
            )
        )
        batch_op.add_column(sa.Column("fallback_destination", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column(
                "allowed_inbound_countries",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("max_calls_per_hour", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_calls_per_day", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_phone_numbers_fallback_action"), "fallback_action IN ('reject', 'forward')"
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_column("max_calls_per_day")
        batch_op.drop_column("max_calls_per_hour")
        batch_op.drop_column("allowed_inbound_countries")
        batch_op.drop_column("fallback_destination")
        batch_op.drop_column("fallback_action")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("stream_url")
        batch_op.drop_column("allowed_outbound_countries")
        batch_op.drop_column("outbound_strategy")

    with op.batch_alter_table("caller_id_selections", schema=None) as batch_op:
        batch_op.drop_index("ix_caller_id_selections_number_id_selected_at")

    op.drop_table("caller_id_selections")
