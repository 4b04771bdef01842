"""Each field's count of values, per typed column, kept by the database with every value row written.

A list filtered by "F is empty" alone totals the live records less those with a value of F's type: the
first is kept (`record_counts`, 0014), and counting the second entry by entry read ~98,000 index entries
on 100,000 records (14 ms at load 1, 43-53 ms of SQL under load). `value_counts` keeps it: one row per
collection, field and stripe, with how many of its value rows have each typed column set (a field's
values may be of several types: a query reads the column of the field's type, 0008).

As 0014, it is kept by triggers (on `record_values`) rather than by the writers, so that every path that
writes value rows keeps it right: the log appender (which replaces a record's rows with each commit), the
create use-case, CSV import, trash (which removes a deleted record's rows), undelete (which writes them
again) and purge. `record_values` holds live records only, so these counts are counts of live records'
values with no further test. The total of a field is the sum over its stripes.

Stripes differ from `record_counts`'s on PostgreSQL. Striped by record id, two commits of records in one
stripe deadlocked (each replaces its record's rows: one took "email" then "age", the other "age" then
"email"; tests/persistence/test_value_counts.py). So there each transaction takes a slot of its own: the
first of 256 it can take an advisory lock on (held to its end), kept in a setting local to the
transaction; its rows' stripe is the slot and the record id's first two characters (256 per slot, so
that a 10,000-row import does not update one row per field 10,000 times: quadratic, 0014 says why). No two
transactions then ever wait on the same row of counts (only past 256 writing at once does one wait for a
slot), and a field has 256 rows per slot ever used at once. A stripe's count may go below zero (a value
counted in one slot and removed in another): only the sum means anything. On SQLite (one writer at a
time) the stripe is the record id's first two characters, as in 0014. The trigger function is SECURITY
DEFINER on PostgreSQL, for the same reason as 0014's, and the table has the tenant policies for the reads.

On SQLite, a later migration that rebuilds `record_values` drops these triggers: it must call
`create_triggers()` again (tests/persistence/test_value_counts.py fails otherwise).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.tenant_scope import SYSTEM_SETTING, TENANT_SETTING

revision = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None

_FUNCTION = "collab_count_values"
_TRIGGER = "tr_record_values_count"
# The counted column of value_counts for each typed column of record_values.
_COUNTED = {
    "texts": "text_folded",
    "numbers": "number_value",
    "dates": "date_value",
    "bools": "bool_value",
    "decimals": "decimal_key",
}
_KEY = "collection_id, field, stripe, tenant_id"
_NAMES = ", ".join(_COUNTED)
_SLOT_SETTING = "collab.value_counts_slot"


def _present(row: str, sign: str) -> str:
    """The typed columns of `row` as counts: 1 (or -1, `sign` "-") when set, else 0."""
    return ", ".join(
        f"{sign}(CASE WHEN {row}.{column} IS NULL THEN 0 ELSE 1 END)" for column in _COUNTED.values()
    )


def _sqlite_add(row: str, sign: str) -> str:
    added = ", ".join(f"{name} = {name} + excluded.{name}" for name in _COUNTED)
    return (
        f"INSERT INTO value_counts ({_KEY}, {_NAMES})"
        f" VALUES ({row}.collection_id, {row}.field, substr({row}.record_id, 1, 2), {row}.tenant_id,"
        f" {_present(row, sign)})"
        f" ON CONFLICT (collection_id, field, stripe) DO UPDATE SET {added};"
    )


_SQLITE_TRIGGERS = {
    f"{_TRIGGER}_insert": f"AFTER INSERT ON record_values BEGIN {_sqlite_add('NEW', '')} END",
    f"{_TRIGGER}_delete": f"AFTER DELETE ON record_values BEGIN {_sqlite_add('OLD', '-')} END",
    # An update (none of the application's writers makes one) counts as the old row gone, the new one come.
    f"{_TRIGGER}_update": (
        f"AFTER UPDATE ON record_values BEGIN {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '')} END"
    ),
}
_ADDED = ", ".join(f"{name} = c.{name} + excluded.{name}" for name in _COUNTED)
# A transaction's slot on PostgreSQL: the first of the 256 it can lock (an advisory lock, held to its
# end), remembered in a setting local to the transaction; its rows' stripes are the slot and the first
# two characters of the record id (a 10,000-row import then updates 256 rows per field, not one 10,000
# times).
_SLOTS_LOCK = 0x636F6C6C  # the advisory locks' first key ("coll"); the second is the slot
# Static statements, planned once per session (0014's EXECUTE of a formatted one is planned per row: half
# the trigger's cost here); the schema is written in, as the search path is pinned.
_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    slot text := current_setting('{setting}', true);
BEGIN
    IF slot IS NULL OR slot = '' THEN
        FOR number IN 0..255 LOOP
            IF pg_try_advisory_xact_lock({lock}, number) THEN
                slot := lpad(to_hex(number), 2, '0');
                EXIT;
            END IF;
        END LOOP;
        IF slot IS NULL OR slot = '' THEN  -- 256 writers at once: wait for a slot
            PERFORM pg_advisory_xact_lock({lock}, 0);
            slot := '00';
        END IF;
        PERFORM set_config('{setting}', slot, true);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {schema}.value_counts AS c ({key}, {names})
        VALUES (OLD.collection_id, OLD.field, slot || substr(OLD.record_id, 1, 2), OLD.tenant_id, {old})
        ON CONFLICT (collection_id, field, stripe) DO UPDATE SET {added};
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {schema}.value_counts AS c ({key}, {names})
        VALUES (NEW.collection_id, NEW.field, slot || substr(NEW.record_id, 1, 2), NEW.tenant_id, {new})
        ON CONFLICT (collection_id, field, stripe) DO UPDATE SET {added};
    END IF;
    RETURN NULL;
END $$
"""
_TENANT = f"current_setting('{TENANT_SETTING}', true)"
_SYSTEM = f"current_setting('{SYSTEM_SETTING}', true) = 'on'"


def create_triggers() -> None:
    """(Re)create the triggers that keep `value_counts`."""
    if op.get_bind().dialect.name == "postgresql":
        bind = op.get_bind()
        schema = bind.dialect.identifier_preparer.quote_identifier(
            bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        )
        function = _POSTGRES_FUNCTION.format(
            function=_FUNCTION,
            setting=_SLOT_SETTING,
            lock=_SLOTS_LOCK,
            schema=schema,
            key=_KEY,
            names=_NAMES,
            old=_present("OLD", "-"),
            new=_present("NEW", ""),
            added=_ADDED,
        )
        op.execute(function)
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON record_values")
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} AFTER INSERT OR DELETE OR UPDATE"
            f" ON record_values FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()"
        )
        return
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    op.create_table(
        "value_counts",
        sa.Column("collection_id", sa.String(32), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("stripe", sa.String(4), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTED),
        sa.PrimaryKeyConstraint("collection_id", "field", "stripe", name="pk_value_counts"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Grants come from 0010's default privileges; the policies are this table's own.
        op.execute("ALTER TABLE value_counts ENABLE ROW LEVEL SECURITY")
        condition = f"tenant_id = {_TENANT}"
        op.execute(f"CREATE POLICY tenant_rows ON value_counts USING ({condition}) WITH CHECK ({condition})")
        op.execute(f"CREATE POLICY system_work ON value_counts USING ({_SYSTEM}) WITH CHECK ({_SYSTEM})")
        # No value row may come or go between the count and the triggers (a server still running, say).
        op.execute("LOCK TABLE record_values IN SHARE ROW EXCLUSIVE MODE")
    counts = ", ".join(f"count({column})" for column in _COUNTED.values())
    op.execute(
        f"INSERT INTO value_counts ({_KEY}, {_NAMES})"
        f" SELECT collection_id, field, substr(record_id, 1, 2), min(tenant_id), {counts} FROM record_values"
        " GROUP BY collection_id, field, substr(record_id, 1, 2)"
    )
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON record_values")
        op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("value_counts")
