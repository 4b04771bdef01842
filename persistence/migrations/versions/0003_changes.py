"""The field-level change log.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("session_id", ID, nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("lost_value", sa.JSON(), nullable=True),
        sa.Column("lost_user_id", ID, nullable=True),
        sa.Column("winner_user_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_changes_record_id_records"),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_changes_record_id", "changes", ["record_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_changes_record_id", table_name="changes")
    op.drop_table("changes")
