"""Row-level security on PostgreSQL: a second tenant wall under the application's own filters.

Creates the role the application's queries run as (`tenant_scope.APP_ROLE`, NOLOGIN, owning nothing),
grants it the rows it needs (also on tables later migrations create), and gives every table of tenant data
a policy on the transaction's tenant setting (persistence/tenant_scope.py). Tables keyed by record are
walled through their record's tenant: a denormalised tenant_id would cost every log row a column and the
writer a value (and the tables a backfill), while the writer (system work) never evaluates the record
lookup and a tenant's reads (a page of history, a record's snapshots) pay one primary-key probe per row.

Roles are cluster-wide and databases migrate concurrently (and advisory locks are per database): creating
the role tolerates another database's migration having just created it. Nothing on SQLite.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.tenant_scope import APP_ROLE, ENSURE_ROLE_SQL, SYSTEM_SETTING, TENANT_SETTING

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_TENANT = f"current_setting('{TENANT_SETTING}', true)"
_SYSTEM = f"current_setting('{SYSTEM_SETTING}', true) = 'on'"

# Table → the condition under which one tenant's transaction sees (and may write) a row.
WALLED = {
    "tenants": f"id = {_TENANT}",
    "users": f"tenant_id = {_TENANT}",
    "sessions": f"tenant_id = {_TENANT}",
    "collections": f"tenant_id = {_TENANT}",
    "records": f"tenant_id = {_TENANT}",
    "record_values": f"tenant_id = {_TENANT}",
    "audit_log": f"tenant_id = {_TENANT}",
    "events": f"tenant_id = {_TENANT}",
    # CASE, because only it fixes the order of evaluation: system work (the writer's inserts) never runs
    # the record lookup, which system_work admits anyway (measured: with a plain OR of the two policies,
    # every row the writer inserted cost a probe of records).
    **{
        table: f"CASE WHEN {_SYSTEM} THEN false ELSE EXISTS"
        f" (SELECT 1 FROM records r WHERE r.id = {table}.record_id AND r.tenant_id = {_TENANT}) END"
        for table in ("updates", "snapshots", "changes", "client_ids")
    },
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(ENSURE_ROLE_SQL)
    schema = _schema()
    rows, sequences = "SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT"
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {APP_ROLE}")
    op.execute(f"GRANT {rows} ON ALL TABLES IN SCHEMA {schema} TO {APP_ROLE}")
    op.execute(f"GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {APP_ROLE}")
    # Tables later migrations create (as this owner) are granted too; a table of tenant data must still
    # get its policies in its own migration (tests/persistence/test_row_level_security.py checks).
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {rows} ON TABLES TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {APP_ROLE}")
    # The application reads the schema's revision (readiness); only migrations change it.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE}")
    for table, condition in WALLED.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_rows ON {table} USING ({condition}) WITH CHECK ({condition})")
        op.execute(f"CREATE POLICY system_work ON {table} USING ({_SYSTEM}) WITH CHECK ({_SYSTEM})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in WALLED:
        op.execute(f"DROP POLICY system_work ON {table}")
        op.execute(f"DROP POLICY tenant_rows ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    schema = _schema()
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {APP_ROLE}")
    # The role itself stays: other databases of the cluster may use it.


def _schema() -> str:
    """The schema the tables are in, quoted."""
    bind = op.get_bind()
    name = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    return bind.dialect.identifier_preparer.quote(name)
