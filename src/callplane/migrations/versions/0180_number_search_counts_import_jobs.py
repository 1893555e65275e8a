"""numbers: a substring search index, per-workspace counts; dashboard import jobs

Revision ID: 0180
Revises: 0140
Create Date: 2026-11-27 14:30:00.000000

Three things make the numbers list as fast at a million numbers as at a thousand:

- ``number_counts``: how many numbers each workspace has per (country, status), kept by
  triggers in the transaction that inserts, deletes or moves a number, so the list's total is
  exact without counting rows. A country is stored as '' when the number has none.
- A substring index for "digits anywhere in the number" (and the label): on SQLite an FTS5
  table with the trigram tokenizer over ``phone_numbers`` (external content, kept in step by
  triggers, keyed by the row's rowid); on PostgreSQL ``pg_trgm`` GIN indexes. When the
  extension cannot be created the migration says so and the search scans, as before.
- ``import_jobs``: the dashboard's CSV imports, so that any server shows a job's progress.

On SQLite, a later migration that recreates ``phone_numbers`` (a batch "move and copy") drops
its triggers and renumbers its rowids: it must recreate the triggers below and rebuild the
search table (``INSERT INTO phone_numbers_search(phone_numbers_search) VALUES ('rebuild')``).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

revision: str = "0180"
down_revision: str | None = "0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_COUNTS = [
    """CREATE TRIGGER phone_numbers_counted_in AFTER INSERT ON phone_numbers BEGIN
      INSERT INTO number_counts (workspace_id, country_code, status, total)
      VALUES (NEW.workspace_id, coalesce(NEW.country_code, ''), NEW.status, 1)
      ON CONFLICT (workspace_id, country_code, status) DO UPDATE SET total = total + 1;
    END""",
    """CREATE TRIGGER phone_numbers_counted_out AFTER DELETE ON phone_numbers BEGIN
      UPDATE number_counts SET total = total - 1
      WHERE workspace_id = OLD.workspace_id
        AND country_code = coalesce(OLD.country_code, '') AND status = OLD.status;
    END""",
    """CREATE TRIGGER phone_numbers_counted_moved
    AFTER UPDATE OF workspace_id, country_code, status ON phone_numbers
    WHEN OLD.workspace_id IS NOT NEW.workspace_id OR OLD.country_code IS NOT NEW.country_code
      OR OLD.status IS NOT NEW.status
    BEGIN
      UPDATE number_counts SET total = total - 1
      WHERE workspace_id = OLD.workspace_id
        AND country_code = coalesce(OLD.country_code, '') AND status = OLD.status;
      INSERT INTO number_counts (workspace_id, country_code, status, total)
      VALUES (NEW.workspace_id, coalesce(NEW.country_code, ''), NEW.status, 1)
      ON CONFLICT (workspace_id, country_code, status) DO UPDATE SET total = total + 1;
    END""",
]

SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE phone_numbers_search USING fts5(
      e164, friendly_name, content='phone_numbers', content_rowid='rowid', tokenize='trigram'
    )""",
    """CREATE TRIGGER phone_numbers_searched_in AFTER INSERT ON phone_numbers BEGIN
      INSERT INTO phone_numbers_search (rowid, e164, friendly_name)
      VALUES (NEW.rowid, NEW.e164, NEW.friendly_name);
    END""",
    """CREATE TRIGGER phone_numbers_searched_out AFTER DELETE ON phone_numbers BEGIN
      INSERT INTO phone_numbers_search (phone_numbers_search, rowid, e164, friendly_name)
      VALUES ('delete', OLD.rowid, OLD.e164, OLD.friendly_name);
    END""",
    """CREATE TRIGGER phone_numbers_searched_moved
    AFTER UPDATE OF e164, friendly_name ON phone_numbers BEGIN
      INSERT INTO phone_numbers_search (phone_numbers_search, rowid, e164, friendly_name)
      VALUES ('delete', OLD.rowid, OLD.e164, OLD.friendly_name);
      INSERT INTO phone_numbers_search (rowid, e164, friendly_name)
      VALUES (NEW.rowid, NEW.e164, NEW.friendly_name);
    END""",
    "INSERT INTO phone_numbers_search (phone_numbers_search) VALUES ('rebuild')",
]

# Inserts and deletes are counted once per statement (an import of 1,000 numbers, a COPY of a
# million, a workspace's cascade) from the statement's transition table: one counter update
# per (workspace, country, status), not one per row. A status or country change is one row.
POSTGRES_COUNTS = [
    """CREATE FUNCTION number_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO number_counts AS c (workspace_id, country_code, status, total)
      SELECT workspace_id, coalesce(country_code, ''), status, count(*) FROM added
      GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (workspace_id, country_code, status)
      DO UPDATE SET total = c.total + excluded.total;
      RETURN NULL;
    END $$""",
    """CREATE FUNCTION number_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE number_counts AS c SET total = c.total - r.n
      FROM (
        SELECT workspace_id, coalesce(country_code, '') AS country_code, status, count(*) AS n
        FROM removed GROUP BY 1, 2, 3
      ) AS r
      WHERE c.workspace_id = r.workspace_id AND c.country_code = r.country_code
        AND c.status = r.status;
      RETURN NULL;
    END $$""",
    """CREATE FUNCTION number_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE number_counts SET total = total - 1
      WHERE workspace_id = OLD.workspace_id
        AND country_code = coalesce(OLD.country_code, '') AND status = OLD.status;
      INSERT INTO number_counts AS c (workspace_id, country_code, status, total)
      VALUES (NEW.workspace_id, coalesce(NEW.country_code, ''), NEW.status, 1)
      ON CONFLICT (workspace_id, country_code, status) DO UPDATE SET total = c.total + 1;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER phone_numbers_counted_in AFTER INSERT ON phone_numbers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION number_counts_add()""",
    """CREATE TRIGGER phone_numbers_counted_out AFTER DELETE ON phone_numbers
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION number_counts_remove()""",
    """CREATE TRIGGER phone_numbers_counted_moved
    AFTER UPDATE OF workspace_id, country_code, status ON phone_numbers FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id
      OR OLD.country_code IS DISTINCT FROM NEW.country_code
      OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION number_counts_move()""",
]


def upgrade() -> None:
    op.create_table(
        "number_counts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_number_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "country_code", "status", name=op.f("pk_number_counts")
        ),
    )
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed')", name=op.f("ck_import_jobs_state")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_import_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_jobs_workspace_id"), ["workspace_id"], unique=False
        )
    op.execute(
        "INSERT INTO number_counts (workspace_id, country_code, status, total)"
        " SELECT workspace_id, coalesce(country_code, ''), status, count(*)"
        " FROM phone_numbers GROUP BY workspace_id, coalesce(country_code, ''), status"
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_COUNTS + SQLITE_SEARCH:
            op.execute(statement)
    else:
        for statement in POSTGRES_COUNTS:
            op.execute(statement)
        _postgres_trigram_indexes()


def _postgres_trigram_indexes() -> None:
    """GIN trigram indexes, if ``pg_trgm`` is (or can be) installed; else a clear warning.

    The extension goes to ``public`` so that it outlives any one schema (tests and benchmarks
    drop theirs), and the indexes name its operator class with that schema. ``fastupdate``
    is off: new entries go straight into the index instead of a pending list that every
    search scans until a vacuum merges it, so a search costs the same right after an import.
    """
    bind = op.get_bind()
    schema = bind.scalar(
        sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
        )
    )
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        except DBAPIError as exc:
            log.warning(
                "pg_trgm could not be created (%s): the numbers search will scan the workspace "
                "instead of using a trigram index. To get the index, install the extension "
                "(PostgreSQL's contrib package) and create ix_phone_numbers_e164_trgm and "
                "ix_phone_numbers_friendly_name_trgm as this migration does.",
                str(exc.orig).strip().splitlines()[0],
            )
            return
        schema = bind.scalar(
            sa.text(
                "SELECT extnamespace::regnamespace::text FROM pg_extension"
                " WHERE extname = 'pg_trgm'"
            )
        )
    for column in ("e164", "friendly_name"):
        op.execute(
            f"CREATE INDEX ix_phone_numbers_{column}_trgm ON phone_numbers"
            f" USING gin ({column} {schema}.gin_trgm_ops) WITH (fastupdate = off)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in (
            "phone_numbers_searched_moved",
            "phone_numbers_searched_out",
            "phone_numbers_searched_in",
            "phone_numbers_counted_moved",
            "phone_numbers_counted_out",
            "phone_numbers_counted_in",
        ):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE phone_numbers_search")
    else:
        for name in ("counted_moved", "counted_out", "counted_in"):
            op.execute(f"DROP TRIGGER phone_numbers_{name} ON phone_numbers")
        for name in ("move", "remove", "add"):
            op.execute(f"DROP FUNCTION number_counts_{name}()")
        for column in ("e164", "friendly_name"):
            op.execute(f"DROP INDEX IF EXISTS ix_phone_numbers_{column}_trgm")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_workspace_id"))
    op.drop_table("import_jobs")
    op.drop_table("number_counts")
