"""providers and release jobs

Revision ID: 0100
Revises: 0004
Create Date: 2026-11-23 11:22:23.393836
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "release_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("number_id", sa.Uuid(), nullable=False),
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_ref", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_id", sa.Uuid(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'released', 'failed')", name=op.f("ck_release_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_release_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_jobs")),
    )
    with op.batch_alter_table("release_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_release_jobs_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_release_jobs_workspace_id_id", ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "sandbox_numbers",
        sa.Column("e164", sa.String(length=16), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("monthly_cost_cents", sa.Integer(), nullable=False),
        sa.Column("releases", sa.Integer(), nullable=False),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('owned', 'released')", name=op.f("ck_sandbox_numbers_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sandbox_numbers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("e164", name=op.f("pk_sandbox_numbers")),
        sa.UniqueConstraint("sid", name=op.f("uq_sandbox_numbers_sid")),
    )
    with op.batch_alter_table("sandbox_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sandbox_numbers_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_column("provider_ref")

    with op.batch_alter_table("sandbox_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sandbox_numbers_workspace_id"))

    op.drop_table("sandbox_numbers")
    with op.batch_alter_table("release_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_release_jobs_workspace_id_id")
        batch_op.drop_index("ix_release_jobs_status_next_attempt_at")

    op.drop_table("release_jobs")
