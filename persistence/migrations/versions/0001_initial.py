"""Initial schema: tenants, users, sessions, collections, records, the update log and snapshots.

Revision ID: 0001
Revises: (none)

Written out by hand (not generated at runtime) so that it stays what it was when released, whatever the
models become. It must keep matching `persistence.models` as of this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log that grows forever.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(32)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
    )
    op.create_table(
        "collections",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_collections_tenant_id_name"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_collections_tenant_id_tenants"),
    )
    op.create_index("ix_collections_tenant_id", "collections", ["tenant_id"])
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_users_tenant_id_tenants"),
    )
    op.create_index("ix_users_tenant_id", "users", ["tenant_id"])
    op.create_table(
        "sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(400), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_sessions_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_sessions_user_id_users"),
    )
    op.create_index("ix_sessions_tenant_id", "sessions", ["tenant_id"])
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "records",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("collection_id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", ID, nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_records_tenant_id_tenants"),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name="fk_records_collection_id_collections"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_records_created_by_users"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name="fk_records_updated_by_users"),
    )
    op.create_index("ix_records_tenant_collection", "records", ["tenant_id", "collection_id"])
    op.create_table(
        "updates",
        sa.Column("seq", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("session_id", ID, nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_updates"),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_updates_record_id_records"),
        # A seq is never handed out twice, even after the highest row is deleted.
        sqlite_autoincrement=True,
    )
    # The room-load query: one record's rows after a seq, in order.
    op.create_index("ix_updates_record_seq", "updates", ["record_id", "seq"])
    op.create_table(
        "snapshots",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("upto_seq", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("state_vector", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], name="fk_snapshots_record_id_records"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_snapshots_record_upto", "snapshots", ["record_id", "upto_seq"])


def downgrade() -> None:
    for table in ("snapshots", "updates", "records", "sessions", "users", "collections", "tenants"):
        op.drop_table(table)
