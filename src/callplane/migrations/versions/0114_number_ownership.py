"""number ownership: verified_by and verified_at

Revision ID: 0114
Revises: 0113
Create Date: 2026-11-27 12:00:00

Numbers bought or imported through a provider (they carry the provider's reference) count as
verified by the provider. Numbers imported by hand before ownership was checked were accepted
by the installation's operator then: they count as verified by the operator, so upgrading does
not silently take caller IDs away from a running deployment.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0114"
down_revision: str | None = "0113"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

numbers = sa.table(
    "phone_numbers",
    sa.column("provider_ref", sa.String()),
    sa.column("verified_by", sa.String()),
    sa.column("verified_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch_op:
        batch_op.add_column(sa.Column("verified_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        numbers.update().values(
            verified_by=sa.case(
                (numbers.c.provider_ref.is_not(None), "provider"), else_="operator"
            ),
            verified_at=numbers.c.created_at,
        )
    )
    with op.batch_alter_table("phone_numbers") as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_phone_numbers_verified"),
            "verified_by IN ('provider', 'operator') AND verified_at IS NOT NULL"
            " OR verified_by IS NULL AND verified_at IS NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers") as batch_op:
        batch_op.drop_constraint(op.f("ck_phone_numbers_verified"), type_="check")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verified_by")
