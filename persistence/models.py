"""SQL tables of collab.

Every row of tenant data carries `tenant_id`, so every query can be scoped by it. Record content is never a
column: it is the update log (raw Yjs update bytes, opaque here) folded now and then into snapshots.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a log that grows forever.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def new_id() -> str:
    return uuid.uuid4().hex


_HEX = frozenset("0123456789abcdef")


def is_id(value: str) -> bool:
    """Could this be an id made by `new_id`? Anything else is unknown without asking the database
    (which would also refuse some bytes, a NUL for one, with an error rather than "no such row")."""
    return len(value) == 32 and _HEX.issuperset(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Named constraints: later migrations must be able to name what they drop or alter (SQLite's batch mode
# cannot otherwise), and the names are then the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when an admin deleted the user: the row stays (history and audit keep naming its id), its name,
    # email and password are gone, and it never signs in again.
    deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LoginSession(Base):
    """One login on one device. The token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Collection(Base):
    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_LIVE = text("deleted_at IS NULL")
_DELETED = text("deleted_at IS NOT NULL")


def _trigrams(name: str, column: str, where: str | None = None) -> Index:
    """A text search's index (migration 0015): trigrams on PostgreSQL (when pg_trgm could be made; read by
    SECURITY DEFINER functions, collab/records/list_matches.py), and on SQLite an empty one (`WHERE 0`,
    nothing to maintain), only so that both databases have one schema."""
    return Index(
        name,
        column,
        sqlite_where=text("0"),
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=None if where is None else text(where),
    )


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_tenant_collection", "tenant_id", "collection_id"),
        # The list's time orders (GET /api/records), walked by keyset: (time, id) after the cursor's. Only
        # live records, and with the tenant: a count or a scan never reads a row to check either.
        Index(
            "ix_records_live_created",
            "tenant_id",
            "collection_id",
            "created_at",
            "id",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "ix_records_live_updated",
            "tenant_id",
            "collection_id",
            "updated_at",
            "id",
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        # The trash (deleted records of a collection, newest deletion first) and the purge: deleted rows only.
        Index(
            "ix_records_trash",
            "tenant_id",
            "collection_id",
            "deleted_at",
            "id",
            sqlite_where=_DELETED,
            postgresql_where=_DELETED,
        ),
        _trigrams("ix_records_search_trigram", "search_text"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Who deleted it (the trash shows them); null while it is live, and for records deleted before 0013.
    deleted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
    # Kept up to date by the update writer, so lists and search never have to load documents:
    # `summary` holds the field values (long texts shortened), `search_text` their lower-cased words.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Which life of the stored document this is: a restore gives every record a new one, and a browser
    # whose copy comes from another epoch never merges it back (persistence/backup.py, `collab epoch bump`).
    epoch: Mapped[str] = mapped_column(String(32), default=new_id)


# Text sorts by code point on both databases (PostgreSQL's default collation follows the locale).
SortText = Text().with_variant(Text(collation="C"), "postgresql")


def _present(column: str) -> Any:
    return text(f"{column} IS NOT NULL")


class RecordCount(Base):
    """How many live records of a collection have ids starting with `stripe` (their first two characters).

    Kept by triggers on `records` (migration 0014), never written by the application; a list's unfiltered
    total is the sum over a collection's stripes. Striped so that a transaction inserting thousands of
    records (a CSV import) does not update one row thousands of times (PostgreSQL walks the row's chain
    of versions on each: quadratic), and concurrent writers rarely wait on the same row."""

    __tablename__ = "record_counts"

    collection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stripe: Mapped[str] = mapped_column(String(2), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    live: Mapped[int] = mapped_column(BigInteger)


class ValueCount(Base):
    """How many of a field's value rows (`record_values`: live records only) counted in `stripe` have each
    typed column set: `texts` counts `text_folded`, `numbers` `number_value`, `dates`
    `date_value`, `bools` `bool_value`, `decimals` `decimal_key`.

    Kept by triggers on `record_values` (migration 0017, which says how it is striped), never written by
    the application. A lone "F is empty" totals the live records less the sum over F's stripes."""

    __tablename__ = "value_counts"

    collection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    stripe: Mapped[str] = mapped_column(String(4), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    texts: Mapped[int] = mapped_column(BigInteger)
    numbers: Mapped[int] = mapped_column(BigInteger)
    dates: Mapped[int] = mapped_column(BigInteger)
    bools: Mapped[int] = mapped_column(BigInteger)
    decimals: Mapped[int] = mapped_column(BigInteger)


class RecordValue(Base):
    """One field value of a live record as lists sort and filter it, typed (persistence/record_values.py).

    Written with the record's summary in the same transaction, from the same values; a field with no
    value (or an empty text) has no row, nor has a deleted record. Each value fills the columns its JSON
    type fits; a query reads the column of the field's type, so a value of another type counts as empty
    there."""

    __tablename__ = "record_values"
    __table_args__ = (
        Index(
            "ix_record_values_text",
            "tenant_id",
            "collection_id",
            "field",
            "text_folded",
            "record_id",
            sqlite_where=_present("text_folded"),
            postgresql_where=_present("text_folded"),
        ),
        Index(
            "ix_record_values_number",
            "tenant_id",
            "collection_id",
            "field",
            "number_value",
            "record_id",
            sqlite_where=_present("number_value"),
            postgresql_where=_present("number_value"),
        ),
        Index(
            "ix_record_values_date",
            "tenant_id",
            "collection_id",
            "field",
            "date_value",
            "record_id",
            sqlite_where=_present("date_value"),
            postgresql_where=_present("date_value"),
        ),
        Index(
            "ix_record_values_bool",
            "tenant_id",
            "collection_id",
            "field",
            "bool_value",
            "record_id",
            sqlite_where=_present("bool_value"),
            postgresql_where=_present("bool_value"),
        ),
        Index(
            "ix_record_values_decimal",
            "tenant_id",
            "collection_id",
            "field",
            "decimal_key",
            "record_id",
            sqlite_where=_present("decimal_key"),
            postgresql_where=_present("decimal_key"),
        ),
        # Not the items of lists (`key#n`: link ids, options), which no "contains" reads (migration 0015).
        _trigrams("ix_record_values_text_trigram", "text_folded", "strpos(field, '#') = 0"),
        # On SQLite the rows are stored in primary-key order: a filter's probe of (record, field) is one
        # B-tree search, not an index search and then a row.
        {"sqlite_with_rowid": False},
    )

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    collection_id: Mapped[str] = mapped_column(String(32))
    # Texts: the first 200 characters as stored (select values compare with it) and case-folded (sorting,
    # "contains").
    text_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_folded: Mapped[str | None] = mapped_column(SortText, nullable=True)
    # A double, like the numbers of a document. Not NUMERIC: PostgreSQL's numeric comparisons are not
    # leakproof, so under row-level security a range or a cursor on them was no index condition (a
    # filtered page took 850 ms instead of 40). Exact decimals will need a sort key of their own.
    number_value: Mapped[float | None] = mapped_column(Double, nullable=True)
    date_value: Mapped[date | None] = mapped_column(Date, nullable=True)
    bool_value: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # An exact decimal's sort key (collab/records/decimals.py `sort_key`): fixed-width digits whose byte
    # order is the numeric order, for every canonical decimal string (migration 0012).
    decimal_key: Mapped[str | None] = mapped_column(SortText, nullable=True)


class UniqueValue(Base):
    """A value of a unique field and the record holding it (persistence/unique_values.py): the primary key
    is the constraint that lets exactly one record hold a value, whoever races for it."""

    __tablename__ = "unique_values"
    __table_args__ = (Index("ix_unique_values_record", "record_id"),)

    collection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(32))


class UpdateRow(Base):
    """One accepted Yjs update, in arrival order (`seq` grows with every append)."""

    __tablename__ = "updates"
    # AUTOINCREMENT: without it SQLite hands out the highest seq again once that row is deleted, and a
    # reader resuming after that seq (or a snapshot's upto_seq) would skip the new row.
    __table_args__ = (Index("ix_updates_record_seq", "record_id", "seq"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    user_id: Mapped[str | None] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ClientIdRow(Base):
    """Which user writes under a Yjs client id of a record (NULL: the server itself). The first writer of an
    id owns it; nobody else may add clocks to it, or the owner's next items would be dropped as duplicates."""

    __tablename__ = "client_ids"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[str | None] = mapped_column(String(32))


class SnapshotRow(Base):
    """The merged state of a record's log up to and including `upto_seq`."""

    __tablename__ = "snapshots"
    __table_args__ = (
        Index("ix_snapshots_record_upto", "record_id", "upto_seq"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    upto_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    state_vector: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(32))


class AuditEntry(Base):
    """An account or security event: who did what to whom, when and from where."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_id", "tenant_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


_OPEN = text("conflict AND settled_at IS NULL")


class ChangeRow(Base):
    """One field-level change of a record: who, when, which field, before and after, and from where.

    A conflict is a write that did not see the value it met (two people set the field concurrently):
    `lost_value`/`lost_user_id` keep the write that is no longer visible, `winner_user_id` who wrote `after`.
    """

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_record_id", "record_id", "id"),
        Index("ix_changes_open_conflicts", "record_id", sqlite_where=_OPEN, postgresql_where=_OPEN),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    field: Mapped[str] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    lost_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    lost_user_id: Mapped[str | None] = mapped_column(String(32))
    winner_user_id: Mapped[str | None] = mapped_column(String(32))
    # A conflict is open until someone settles it (keeps the winner or puts the lost value back).
    settled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    settled_by: Mapped[str | None] = mapped_column(String(32))
    # Why, when the editor said (an HTTP edit or a put-back may carry one).
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class EventRow(Base):
    """One entry of a collection's change feed; ids grow in the order events are published."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_collection_id", "tenant_id", "collection_id", "id"),
        Index("ix_events_record_id", "record_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    collection_id: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The newest change this event covers: after a crash, changes above it are published again.
    upto_change_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # Everyone whose changes a coalesced event covers (`user_id` is the newest of them); None before 0007.
    authors: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class NodeRow(Base):
    """A serving node of a deployment of several (migration 0016): where the others reach it."""

    __tablename__ = "nodes"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "host:port" of its internal address (the relay's target), not a public URL.
    address: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordOwnerRow(Base):
    """The node whose room holds a record now; a pointer only: the owner's advisory lock is the truth."""

    __tablename__ = "record_owners"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
