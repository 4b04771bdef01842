"""Several nodes: where each node listens, and which node owns which record's room.

`nodes`: one row per serving node (its id, its internal address "host:port", when it started and when it
last said it was alive). `record_owners`: the node whose room holds a record now. A row is only a pointer
for the relay: the truth is the PostgreSQL advisory lock the owner holds on its own connection
(collab/cluster/ownership.py), so a dead node's rows are simply overwritten by the next owner. Neither
table holds tenant data: no row-level-security policy (the grants come from 0010's default privileges).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name="pk_nodes"),
    )
    op.create_table(
        "record_owners",
        sa.Column("record_id", sa.String(32), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name="pk_record_owners"),
    )
    op.create_index("ix_record_owners_node_id", "record_owners", ["node_id"])


def downgrade() -> None:
    op.drop_index("ix_record_owners_node_id", table_name="record_owners")
    op.drop_table("record_owners")
    op.drop_table("nodes")
