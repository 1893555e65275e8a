"""caller-ID reputation: outcomes on the selection log, health on the number, workspace policy

Revision ID: 0170
Revises: 0140
Create Date: 2026-11-27 14:30:00

Numbers that exist at the upgrade are ``healthy`` and not warming (they have dialled before);
numbers added afterwards start ``warming``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0170"
down_revision: str | None = "0160"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEALTH_STATES = "health_state IN ('healthy', 'watch', 'benched', 'paused', 'warming')"
OUTCOMES = "outcome IN ('answered', 'no_answer', 'busy', 'failed', 'voicemail', 'rejected')"


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch:
        batch.add_column(
            sa.Column(
                "health_state", sa.String(length=16), nullable=False, server_default="healthy"
            )
        )
        batch.add_column(sa.Column("health_reason", sa.String(length=64)))
        batch.add_column(sa.Column("health_changed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("benched_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("health_answer_rate", sa.Double()))
        batch.add_column(sa.Column("judged_from", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("warming_since", sa.DateTime(timezone=True)))
        batch.create_check_constraint(op.f("ck_phone_numbers_health_state"), HEALTH_STATES)
    with op.batch_alter_table("caller_id_selections") as batch:
        batch.add_column(sa.Column("health_state", sa.String(length=16)))
        batch.add_column(sa.Column("outcome", sa.String(length=16)))
        batch.add_column(sa.Column("duration_seconds", sa.Integer()))
        batch.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True)))
        batch.create_check_constraint(op.f("ck_caller_id_selections_outcome"), OUTCOMES)
        batch.create_index(
            "ix_caller_id_selections_number_id_outcome_at", ["number_id", "outcome_at"]
        )
        batch.create_index(
            "ix_caller_id_selections_agent_id_to_e164_selected_at",
            ["agent_id", "to_e164", "selected_at"],
        )
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column(
                "when_all_benched", sa.String(length=16), nullable=False, server_default="refuse"
            )
        )
        batch.create_check_constraint(
            op.f("ck_agents_when_all_benched"), "when_all_benched IN ('refuse', 'least_bad')"
        )
    op.create_table(
        "caller_id_policies",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("min_sample", sa.Integer(), nullable=False),
        sa.Column("window_outcomes", sa.Integer(), nullable=False),
        sa.Column("watch_below", sa.Double(), nullable=False),
        sa.Column("bench_below", sa.Double(), nullable=False),
        sa.Column("recover_margin", sa.Double(), nullable=False),
        sa.Column("short_call_seconds", sa.Integer(), nullable=False),
        sa.Column("cooldown_hours", sa.Double(), nullable=False),
        sa.Column(
            "warming_daily_caps",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("sticky_window_hours", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_caller_id_policies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_caller_id_policies")),
    )


def downgrade() -> None:
    op.drop_table("caller_id_policies")
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint(op.f("ck_agents_when_all_benched"), type_="check")
        batch.drop_column("when_all_benched")
    with op.batch_alter_table("caller_id_selections") as batch:
        batch.drop_index("ix_caller_id_selections_agent_id_to_e164_selected_at")
        batch.drop_index("ix_caller_id_selections_number_id_outcome_at")
        batch.drop_constraint(op.f("ck_caller_id_selections_outcome"), type_="check")
        for column in ("outcome_at", "duration_seconds", "outcome", "health_state"):
            batch.drop_column(column)
    with op.batch_alter_table("phone_numbers") as batch:
        batch.drop_constraint(op.f("ck_phone_numbers_health_state"), type_="check")
        for column in (
            "warming_since",
            "judged_from",
            "health_answer_rate",
            "benched_until",
            "health_changed_at",
            "health_reason",
            "health_state",
        ):
            batch.drop_column(column)
