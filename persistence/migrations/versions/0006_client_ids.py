"""Owners of the Yjs client ids of each record: one writer per client id.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "client_ids",
        sa.Column("record_id", ID, nullable=False),
        sa.Column("client_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_client_ids_record_id_records"),
        sa.PrimaryKeyConstraint("record_id", "client_id", name="pk_client_ids"),
    )


def downgrade() -> None:
    op.drop_table("client_ids")
