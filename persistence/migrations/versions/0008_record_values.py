"""Typed field values for lists (sort, filter, count in SQL), and the indexes of the list's orders.

The rows are filled from the summaries of the live records already stored (persistence/record_values.py
derives them the same way with each commit): reading the log instead would replay every record. Records
with no summary yet get their rows with their next edit; deleted ones when they are brought back.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from persistence import record_values

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)
LIVE = sa.text("deleted_at IS NULL")
_BATCH = 1000
_INDEXES = (
    ("ix_record_values_text", "text_folded"),
    ("ix_record_values_number", "number_value"),
    ("ix_record_values_date", "date_value"),
    ("ix_record_values_bool", "bool_value"),
)


def upgrade() -> None:
    for name, column in (
        ("ix_records_live_created", "created_at"),
        ("ix_records_live_updated", "updated_at"),
    ):
        op.create_index(
            name,
            "records",
            ["tenant_id", "collection_id", column, "id"],
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )
    table = op.create_table(
        "record_values",
        sa.Column("record_id", ID, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("collection_id", ID, nullable=False),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("text_folded", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True),
        sa.Column("number_value", sa.Double(), nullable=True),
        sa.Column("date_value", sa.Date(), nullable=True),
        sa.Column("bool_value", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_record_values_record_id_records"),
        sa.PrimaryKeyConstraint("record_id", "field", name="pk_record_values"),
        sqlite_with_rowid=False,
    )
    assert table is not None
    _fill(table)
    if op.get_bind().dialect.name == "postgresql":
        # Which texts each field holds (a select's few options above all): without it PostgreSQL took
        # `field = 'stage' AND text_folded IN (...)` for 1/6 of its rows (the share of that field) and
        # chose to hash every match of a filter before sorting instead of walking the sort's index.
        op.execute(
            "CREATE STATISTICS st_record_values_field_text (mcv) ON field, text_folded FROM record_values"
        )
    for name, column in _INDEXES:  # after the rows: one sort per index instead of one insert per row
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "record_values",
            ["tenant_id", "collection_id", "field", column, "record_id"],
            sqlite_where=present,
            postgresql_where=present,
        )


def _fill(table: sa.Table) -> None:
    connection = op.get_bind()
    records = sa.table(
        "records",
        sa.column("id", ID),
        sa.column("tenant_id", ID),
        sa.column("collection_id", ID),
        sa.column("summary", sa.JSON()),
        sa.column("deleted_at", sa.DateTime(timezone=True)),
    )
    after = ""
    while True:
        rows = connection.execute(
            sa.select(records.c.id, records.c.tenant_id, records.c.collection_id, records.c.summary)
            .where(records.c.id > after, records.c.summary.is_not(None), records.c.deleted_at.is_(None))
            .order_by(records.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values: list[dict[str, Any]] = [
            {
                "record_id": row.id,
                "tenant_id": row.tenant_id,
                "collection_id": row.collection_id,
                "field": field,
                "text_value": text_value,
                "text_folded": text_folded,
                "number_value": number,
                "date_value": day,
                "bool_value": flag,
            }
            for row in rows
            for field, text_value, text_folded, number, day, flag in record_values.values_of(row.summary)
        ]
        if values:
            connection.execute(table.insert(), values)
        after = rows[-1].id


def downgrade() -> None:
    op.drop_table("record_values")
    op.drop_index("ix_records_live_updated", table_name="records")
    op.drop_index("ix_records_live_created", table_name="records")
