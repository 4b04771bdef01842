"""Each collection's count of live records, kept by the database with every insert, delete and undelete.

A list's unfiltered total (`GET /api/records` with no filter) then reads a few small rows instead of
counting the live records' index (12-30 ms on 100,000 records, for every page). The count is kept by
triggers on `records` rather than by the use-cases, so that every path that adds, deletes, restores or
purges records (the create use-case, CSV import's bulk insert, the trash, a bulk seed in SQL) keeps it
right without knowing of it.

It is striped by the first two characters of the record's id (`record_counts`, one row per collection and
stripe; the total is their sum): on PostgreSQL, one row updated 10,000 times in one transaction took 4.6 s
here (each update walks the row's versions made so far: quadratic), so a 10,000-row import would have
paid that; 256 stripes make it ~1/256th, and concurrent writers seldom wait on the same row. A record's
insert and its deletion count in the same stripe, so no stripe goes below zero.

On PostgreSQL the trigger function is SECURITY DEFINER (it runs as the tables' owner, who is not subject to
row-level security), so a transaction's tenant scope cannot hide the row it must update; it only ever
writes the counts of the record's own tenant and collection. The table has the tenant policies of every
table of tenant data (0010), for the reads.

On SQLite, a later migration that rebuilds `records` (`batch_alter_table` copying the table) drops these
triggers with the old table: it must call `create_triggers()` again (tests/persistence/test_live_counts.py
fails otherwise).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.tenant_scope import SYSTEM_SETTING, TENANT_SETTING

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

_FUNCTION = "collab_count_live_records"
_TRIGGER = "tr_records_live_count"
_CHANGED = "OLD.deleted_at IS NOT NEW.deleted_at OR OLD.collection_id IS NOT NEW.collection_id"


def _sqlite_add(row: str, delta: int) -> str:
    return (
        "INSERT INTO record_counts (collection_id, stripe, tenant_id, live)"
        f" VALUES ({row}.collection_id, substr({row}.id, 1, 2), {row}.tenant_id, {delta})"
        " ON CONFLICT (collection_id, stripe) DO UPDATE SET live = live + excluded.live;"
    )


_SQLITE_TRIGGERS = {
    f"{_TRIGGER}_insert": (
        f"AFTER INSERT ON records WHEN NEW.deleted_at IS NULL BEGIN {_sqlite_add('NEW', 1)} END"
    ),
    f"{_TRIGGER}_delete": (
        f"AFTER DELETE ON records WHEN OLD.deleted_at IS NULL BEGIN {_sqlite_add('OLD', -1)} END"
    ),
    f"{_TRIGGER}_leave": (
        f"AFTER UPDATE OF deleted_at, collection_id ON records WHEN OLD.deleted_at IS NULL AND ({_CHANGED})"
        f" BEGIN {_sqlite_add('OLD', -1)} END"
    ),
    f"{_TRIGGER}_enter": (
        f"AFTER UPDATE OF deleted_at, collection_id ON records WHEN NEW.deleted_at IS NULL AND ({_CHANGED})"
        f" BEGIN {_sqlite_add('NEW', 1)} END"
    ),
}
_POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    add text := format(
        'INSERT INTO %I.record_counts AS c (collection_id, stripe, tenant_id, live) VALUES ($1, $2, $3, $4)'
        ' ON CONFLICT (collection_id, stripe) DO UPDATE SET live = c.live + excluded.live',
        TG_TABLE_SCHEMA);
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.deleted_at IS NOT DISTINCT FROM NEW.deleted_at
       AND OLD.collection_id = NEW.collection_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        EXECUTE add USING OLD.collection_id, substr(OLD.id, 1, 2), OLD.tenant_id, -1;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
        EXECUTE add USING NEW.collection_id, substr(NEW.id, 1, 2), NEW.tenant_id, 1;
    END IF;
    RETURN NULL;
END $$
"""
_TENANT = f"current_setting('{TENANT_SETTING}', true)"
_SYSTEM = f"current_setting('{SYSTEM_SETTING}', true) = 'on'"


def create_triggers() -> None:
    """(Re)create the triggers that keep `record_counts`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON records")
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF deleted_at, collection_id"
            f" ON records FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()"
        )
        return
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    op.create_table(
        "record_counts",
        sa.Column("collection_id", sa.String(32), nullable=False),
        sa.Column("stripe", sa.String(2), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "stripe", name="pk_record_counts"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # Grants come from 0010's default privileges; the policies are this table's own.
        op.execute("ALTER TABLE record_counts ENABLE ROW LEVEL SECURITY")
        condition = f"tenant_id = {_TENANT}"
        op.execute(f"CREATE POLICY tenant_rows ON record_counts USING ({condition}) WITH CHECK ({condition})")
        op.execute(f"CREATE POLICY system_work ON record_counts USING ({_SYSTEM}) WITH CHECK ({_SYSTEM})")
        # No record may come or go between the count and the triggers (a server still running, say);
        # on SQLite the migration's BEGIN IMMEDIATE already holds the write lock.
        op.execute("LOCK TABLE records IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO record_counts (collection_id, stripe, tenant_id, live)"
        " SELECT collection_id, substr(id, 1, 2), min(tenant_id), count(*) FROM records"
        " WHERE deleted_at IS NULL GROUP BY collection_id, substr(id, 1, 2)"
    )
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON records")
        op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("record_counts")
