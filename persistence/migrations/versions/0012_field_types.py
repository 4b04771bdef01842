"""Field types: the index of unique values, and exact decimals in lists.

`unique_values` holds each value of a unique field once per collection (persistence/unique_values.py):
its primary key `(collection_id, field, value_key)` is the constraint that decides every race. It is
tenant data, so it gets the same row-level-security policies as the other tables (0010); no foreign key
to records, so that purging a deleted record (whose rows were removed when it was deleted) never waits
on it.

`record_values.decimal_key` is a decimal's sort key (collab/records/decimals.py): doubles cannot hold 18
significant digits, and a NUMERIC's comparisons are not leakproof under row-level security (the number
column's comment in persistence/models.py says what that cost). No decimal field existed before this
revision, so there is nothing to fill.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from persistence.tenant_scope import SYSTEM_SETTING, TENANT_SETTING

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

_TENANT = f"current_setting('{TENANT_SETTING}', true)"
_SYSTEM = f"current_setting('{SYSTEM_SETTING}', true) = 'on'"
_PRESENT = sa.text("decimal_key IS NOT NULL")


def upgrade() -> None:
    op.add_column(
        "record_values",
        sa.Column("decimal_key", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True),
    )
    op.create_index(
        "ix_record_values_decimal",
        "record_values",
        ["tenant_id", "collection_id", "field", "decimal_key", "record_id"],
        sqlite_where=_PRESENT,
        postgresql_where=_PRESENT,
    )
    op.create_table(
        "unique_values",
        sa.Column("collection_id", sa.String(32), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("value_key", sa.String(200), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "field", "value_key", name="pk_unique_values"),
    )
    op.create_index("ix_unique_values_record", "unique_values", ["record_id"])
    if op.get_bind().dialect.name == "postgresql":
        condition = f"tenant_id = {_TENANT}"
        op.execute("ALTER TABLE unique_values ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_rows ON unique_values USING ({condition}) WITH CHECK ({condition})")
        op.execute(f"CREATE POLICY system_work ON unique_values USING ({_SYSTEM}) WITH CHECK ({_SYSTEM})")


def downgrade() -> None:
    op.drop_index("ix_unique_values_record", table_name="unique_values")
    op.drop_table("unique_values")
    op.drop_index("ix_record_values_decimal", table_name="record_values")
    with op.batch_alter_table("record_values") as batch:
        batch.drop_column("decimal_key")
