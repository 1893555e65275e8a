"""workspace telephony settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:18:32.289791
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("twilio_account_sid", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("twilio_auth_token", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("default_stream_url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("default_stream_url")
        batch_op.drop_column("twilio_auth_token")
        batch_op.drop_column("twilio_account_sid")
