"""The change feed of collections (Server-Sent Events), kept in SQL so clients can resume.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("collection_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("upto_change_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_tenant_collection_id", "events", ["tenant_id", "collection_id", "id"])
    op.create_index("ix_events_record_id", "events", ["record_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_record_id", table_name="events")
    op.drop_index("ix_events_tenant_collection_id", table_name="events")
    op.drop_table("events")
