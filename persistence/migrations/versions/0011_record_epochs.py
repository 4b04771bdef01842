"""Each record's epoch: which life of its stored document a browser's copy belongs to.

A restore (or any loss of server state) sets a new epoch on every record, so a browser whose copy comes from
before is told (close code 4409) instead of merging that copy back. Existing records get one fresh epoch:
no browser has any yet. The column's default is that same value (SQLite cannot drop a column's default
without rebuilding the table); the application always sets its own, so the default only marks the rows
that existed before this migration. PostgreSQL drops it.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    first = secrets.token_hex(16)
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("epoch", sa.String(32), nullable=False, server_default=first))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE records ALTER COLUMN epoch DROP DEFAULT")


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("epoch")
