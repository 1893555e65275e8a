"""seal twilio auth tokens at rest

Revision ID: 0112
Revises: 0103
Create Date: 2026-11-27 12:00:00

Tokens stored in plaintext until now are sealed with the newest configured key (the keyring of
``callplane.core.crypto``, built from this process's settings); downgrading opens them again.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from callplane.core.crypto import Keyring, current

revision: str = "0112"
down_revision: str | None = "0103"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

workspaces = sa.table(
    "workspaces", sa.column("id", sa.Uuid()), sa.column("twilio_auth_token", sa.Text())
)


def _rewrite(change: Callable[[Keyring, str], str]) -> None:
    connection = op.get_bind()
    keyring = current()
    rows = connection.execute(
        sa.select(workspaces.c.id, workspaces.c.twilio_auth_token).where(
            workspaces.c.twilio_auth_token.is_not(None)
        )
    ).all()
    for workspace_id, value in rows:
        connection.execute(
            workspaces.update()
            .where(workspaces.c.id == workspace_id)
            .values(twilio_auth_token=change(keyring, value))
        )


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch_op:
        batch_op.alter_column(
            "twilio_auth_token", existing_type=sa.String(length=128), type_=sa.Text()
        )
    _rewrite(Keyring.seal)


def downgrade() -> None:
    _rewrite(Keyring.open)
    with op.batch_alter_table("workspaces") as batch_op:
        batch_op.alter_column(
            "twilio_auth_token", existing_type=sa.Text(), type_=sa.String(length=128)
        )
