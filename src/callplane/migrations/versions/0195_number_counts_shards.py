"""numbers: the kept counts split into shards on PostgreSQL, so creates and deletes run side by side

Revision ID: 0195
Revises: 0185
Create Date: 2026-11-27 22:30:00.000000

Until now each (workspace, country, status) had one ``number_counts`` row, which the trigger
of every INSERT or DELETE of a number updated and so locked until the COMMIT: creates and
deletes in one workspace and country ran one at a time, each waiting for the previous one's
commit (docs/benchmarks.md, writes). The key gains a ``shard``: on PostgreSQL the trigger adds
to (or takes from) the shard of its connection (``pg_backend_pid() % 32``), so two
transactions queue on a count only when their connections share a shard; readers sum the
shards, as they already summed over countries and statuses. A shard may go below zero (a
number counted in one shard, deleted through another); only the sum means anything.

SQLite has one writer at a time, which gains nothing from shards: its triggers keep shard 0.
Its table is rebuilt for the new key, and its triggers (which name the conflict key) are
recreated with it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0195"
down_revision: str | None = "0185"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 32
SQLITE_TRIGGERS = (
    "phone_numbers_counted_in",
    "phone_numbers_counted_out",
    "phone_numbers_counted_moved",
)


def _sqlite_counts(sharded: bool) -> list[str]:
    """The SQLite triggers of migration 0180, writing shard 0 when ``sharded``."""
    column, value, match = (", shard", ", 0", " AND shard = 0") if sharded else ("", "", "")
    add = (
        f"INSERT INTO number_counts (workspace_id, country_code, status{column}, total)"  # noqa: S608 - constant fragments
        f" VALUES (NEW.workspace_id, coalesce(NEW.country_code, ''), NEW.status{value}, 1)"
        f" ON CONFLICT (workspace_id, country_code, status{column})"
        " DO UPDATE SET total = total + 1;"
    )
    remove = (
        "UPDATE number_counts SET total = total - 1"  # noqa: S608 - constant fragments
        " WHERE workspace_id = OLD.workspace_id"
        f" AND country_code = coalesce(OLD.country_code, '') AND status = OLD.status{match};"
    )
    return [
        f"CREATE TRIGGER phone_numbers_counted_in AFTER INSERT ON phone_numbers BEGIN {add} END",
        f"CREATE TRIGGER phone_numbers_counted_out AFTER DELETE ON phone_numbers"
        f" BEGIN {remove} END",
        f"""CREATE TRIGGER phone_numbers_counted_moved
        AFTER UPDATE OF workspace_id, country_code, status ON phone_numbers
        WHEN OLD.workspace_id IS NOT NEW.workspace_id OR OLD.country_code IS NOT NEW.country_code
          OR OLD.status IS NOT NEW.status
        BEGIN {remove} {add} END""",
    ]


def _postgres_counts(shard: str | None) -> list[str]:
    """The three trigger functions of migration 0180, adding into ``shard`` when given.

    With shards, a removal is an upsert of a negative count into the connection's shard (the
    number may have been counted in any shard); without, an update of the one row. The
    ``ORDER BY`` of the upserts locks a statement's rows in one order, as in 0180.
    """
    key = "workspace_id, country_code, status" + (", shard" if shard else "")
    column, value = (", shard", f", {shard}") if shard else ("", "")

    def upsert(source: str, sign: str, where: str = "") -> str:
        return (
            f"INSERT INTO number_counts AS c (workspace_id, country_code, status{column}, total)"  # noqa: S608 - constant fragments
            f" SELECT workspace_id, coalesce(country_code, ''), status{value}, {sign}count(*)"
            f" FROM {source}{where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            f" ON CONFLICT ({key}) DO UPDATE SET total = c.total + excluded.total;"
        )

    if shard:
        # Not for a workspace being deleted: its numbers go in its cascade, its counts too.
        remove = upsert("removed", "-", " WHERE workspace_id IN (SELECT id FROM workspaces)")
        move = (
            f"INSERT INTO number_counts AS c (workspace_id, country_code, status{column}, total)"  # noqa: S608 - constant fragments
            f" VALUES (OLD.workspace_id, coalesce(OLD.country_code, ''), OLD.status{value}, -1)"
            f" ON CONFLICT ({key}) DO UPDATE SET total = c.total - 1;"
        )
    else:
        remove = """UPDATE number_counts AS c SET total = c.total - r.n
          FROM (
            SELECT workspace_id, coalesce(country_code, '') AS country_code, status,
              count(*) AS n
            FROM removed GROUP BY 1, 2, 3
          ) AS r
          WHERE c.workspace_id = r.workspace_id AND c.country_code = r.country_code
            AND c.status = r.status;"""
        move = """UPDATE number_counts SET total = total - 1
          WHERE workspace_id = OLD.workspace_id
            AND country_code = coalesce(OLD.country_code, '') AND status = OLD.status;"""
    return [
        f"""CREATE OR REPLACE FUNCTION number_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {upsert("added", "")} RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION number_counts_remove() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN {remove} RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION number_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {move}
          INSERT INTO number_counts AS c (workspace_id, country_code, status{column}, total)
          VALUES (NEW.workspace_id, coalesce(NEW.country_code, ''), NEW.status{value}, 1)
          ON CONFLICT ({key}) DO UPDATE SET total = c.total + 1;
          RETURN NULL;
        END $$""",  # noqa: S608 - constant fragments
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("number_counts", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("shard", sa.SmallInteger(), server_default="0", nullable=False))
        batch.drop_constraint("pk_number_counts", type_="primary")
        batch.create_primary_key(
            "pk_number_counts", ["workspace_id", "country_code", "status", "shard"]
        )
    statements = (
        _sqlite_counts(sharded=True) if sqlite else _postgres_counts(f"pg_backend_pid() % {SHARDS}")
    )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    # The shards folded into shard 0, which then holds each count whole.
    op.execute(
        "UPDATE number_counts SET total = (SELECT sum(s.total) FROM number_counts AS s"
        " WHERE s.workspace_id = number_counts.workspace_id"
        " AND s.country_code = number_counts.country_code AND s.status = number_counts.status)"
        " WHERE shard = 0"
    )
    op.execute(
        "INSERT INTO number_counts (workspace_id, country_code, status, shard, total)"
        " SELECT workspace_id, country_code, status, 0, sum(total) FROM number_counts"
        " GROUP BY workspace_id, country_code, status HAVING min(shard) > 0"
    )
    op.execute("DELETE FROM number_counts WHERE shard <> 0")
    with op.batch_alter_table("number_counts", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint("pk_number_counts", type_="primary")
        batch.create_primary_key("pk_number_counts", ["workspace_id", "country_code", "status"])
        batch.drop_column("shard")
    statements = _sqlite_counts(sharded=False) if sqlite else _postgres_counts(None)
    for statement in statements:
        op.execute(statement)
