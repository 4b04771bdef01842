"""The trash: who deleted a record, and an index of the deleted records per collection.

`records.deleted_by` names the user who deleted the record (null for records deleted before this
migration, and for live ones). The partial index holds only deleted records, so it stays as small as the
trash: it serves the trash page (a collection's deleted records, newest deletion first, by keyset) and
the purge (every tenant's records deleted before a cutoff). No new table, so no new row-level-security
policy: the records table already has its own (0010).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

DELETED = sa.text("deleted_at IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch (a copy of `records`): dropping the old table would break the rows that other tables
        # hold against it ("FOREIGN KEY constraint failed") and lose its triggers. SQLite adds a column with
        # a reference in place when its default is null.
        op.execute("ALTER TABLE records ADD COLUMN deleted_by VARCHAR(32) REFERENCES users (id)")
    else:
        op.add_column("records", sa.Column("deleted_by", sa.String(32), nullable=True))
        op.create_foreign_key("fk_records_deleted_by_users", "records", "users", ["deleted_by"], ["id"])
    op.create_index(
        "ix_records_trash",
        "records",
        ["tenant_id", "collection_id", "deleted_at", "id"],
        sqlite_where=DELETED,
        postgresql_where=DELETED,
    )


def downgrade() -> None:
    op.drop_index("ix_records_trash", table_name="records")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("records") as batch:  # the reference has no name there
            batch.drop_column("deleted_by")
    else:
        op.drop_constraint("fk_records_deleted_by_users", "records", type_="foreignkey")
        op.drop_column("records", "deleted_by")
