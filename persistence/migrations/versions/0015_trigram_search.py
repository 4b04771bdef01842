"""Trigram indexes for a list's text search (`q=`) and "contains" filters, and the functions that use them.

A rare search or "contains" read every text of the collection (14-23 ms of SQL on 100,000 records, and
129-236 ms p95 a request under load). A pg_trgm GIN index finds the few rows that can match in ~1 ms; but
under row-level security `LIKE` is not leakproof, so PostgreSQL never tests it in an index for the
application's role (the policy must be checked first, row by row). So the lookup runs in a SECURITY DEFINER
function, as the tables' owner (not subject to the policies, like 0014's trigger function), which applies
the tenant wall itself: it refuses a tenant that is not the transaction's (`app.tenant_id`, or system
work), and reads only that tenant's rows of that collection. It takes the text to find literally (it
escapes `%`, `_` and its escape character `/` itself) and returns up to `most` record ids:

- `collab_search_records(tenant, collection, needle, most)`: live records whose `search_text` holds it;
- `collab_contains_values(tenant, collection, field, needle, most)`: records whose value row of that field
  holds it in `text_folded`.

`CREATE EXTENSION pg_trgm` needs the right to create in the database (pg_trgm is a trusted extension): the
application's migrating role may not have it in production. Then this migration goes on without the
indexes (the functions are made anyway: they are correct, only slower), and the list reads every text as
before (collab/records/list_matches.py checks for the indexes in the catalog). An administrator can add
them later with `CREATE EXTENSION pg_trgm` and the two `CREATE INDEX` below; servers use them once started
again.

On SQLite the list reads every text, as before. The indexes are made there too, empty (`WHERE 0`, nothing
to keep up to date), only so that both databases have the schema of persistence/models.py.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from persistence.tenant_scope import APP_ROLE, SYSTEM_SETTING, TENANT_SETTING

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None

log = logging.getLogger(__name__)

# (index, table, column, PostgreSQL's condition): as persistence/models.py declares them. Not the items of
# lists (`key#n`: a link's 32-digit ids, a multiselect's options), which no "contains" reads: every trigram
# indexed costs writes (a GIN entry cost ~65 us a row in a bulk insert here, 6 us without).
_ITEMS_LEFT_OUT = "strpos(field, '#') = 0"
INDEXES = (
    ("ix_records_search_trigram", "records", "search_text", ""),
    ("ix_record_values_text_trigram", "record_values", "text_folded", f" WHERE {_ITEMS_LEFT_OUT}"),
)
_SEARCH = "collab_search_records"
_CONTAINS = "collab_contains_values"
_SIGNATURES = (f"{_SEARCH}(text, text, text, integer)", f"{_CONTAINS}(text, text, text, text, integer)")
# The needle as a LIKE pattern, literally: as SQLAlchemy's `contains(..., autoescape=True)` escapes it.
_PATTERN = "'%' || replace(replace(replace(needle, '/', '//'), '%', '/%'), '_', '/_') || '%'"
# The tenant wall, as the policies of 0010 draw it: the transaction's tenant, or system work.
_WALL = f"""
    IF tenant IS DISTINCT FROM current_setting('{TENANT_SETTING}', true)
       AND current_setting('{SYSTEM_SETTING}', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'tenant % is not this transaction''s', tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;"""


def _functions(schema: str) -> list[str]:
    # EXECUTE: planned for these very values each time (a generic plan would not know whether the pattern
    # is rare); the search path is pinned, so the tables are named with their schema.
    head = "LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
    return [
        f"""CREATE OR REPLACE FUNCTION {_SEARCH}(tenant text, collection text, needle text, most integer)
RETURNS SETOF text {head}
BEGIN{_WALL}
    RETURN QUERY EXECUTE
        'SELECT r.id::text FROM {schema}.records r WHERE r.tenant_id = $1 AND r.collection_id = $2'
        ' AND r.deleted_at IS NULL AND r.search_text LIKE $3 ESCAPE ''/'' LIMIT $4'
        USING tenant, collection, {_PATTERN}, most;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {_CONTAINS}(
    tenant text, collection text, field text, needle text, most integer
) RETURNS SETOF text {head}
BEGIN{_WALL}
    RETURN QUERY EXECUTE
        'SELECT v.record_id::text FROM {schema}.record_values v WHERE v.tenant_id = $1'
        ' AND v.collection_id = $2 AND v.field = $3 AND {_ITEMS_LEFT_OUT.replace("'", "''")}'
        ' AND v.text_folded LIKE $4 ESCAPE ''/'' LIMIT $5'
        USING tenant, collection, field, {_PATTERN}, most;
END $$""",
    ]


def _schema() -> str:
    bind = op.get_bind()
    name = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    return str(bind.dialect.identifier_preparer.quote(name))


def _trigrams() -> bool:
    """Whether pg_trgm is there, made now if it can be (else logged: the list reads every text)."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():  # a savepoint: a refusal must not abort the migration's transaction
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        log.warning("pg_trgm could not be created (%s): searches will read every text", error.orig)
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name, table, column, _ in INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} ({column}) WHERE 0")
        return
    schema = _schema()
    for function in _functions(schema):
        op.execute(function)
    for signature in _SIGNATURES:
        # SECURITY DEFINER: only the application may run them (not every role of the cluster).
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")
    if _trigrams():
        for name, table, column, where in INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops){where}")


def downgrade() -> None:
    for name, *_ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        for signature in _SIGNATURES:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
