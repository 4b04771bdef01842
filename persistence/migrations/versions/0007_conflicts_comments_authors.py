"""Open conflicts (settled or not), a comment on a change, and every author a feed event covers.

A conflict row stays open until someone settles it ("keep" or "put mine back"): `settled_at`/`settled_by`.
The partial index keeps "which records have open conflicts" cheap however long the history grows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)
OPEN = sa.text("conflict AND settled_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("settled_by", ID, nullable=True))
        batch.add_column(sa.Column("comment", sa.Text(), nullable=True))
    op.create_index(
        "ix_changes_open_conflicts", "changes", ["record_id"], sqlite_where=OPEN, postgresql_where=OPEN
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("authors", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("authors")
    op.drop_index("ix_changes_open_conflicts", table_name="changes")
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("comment")
        batch.drop_column("settled_by")
        batch.drop_column("settled_at")
