"""The index of unique fields' values: one row per (collection, field, key), held by one record.

A unique constraint on `(collection_id, field, value_key)` decides every race: of two writes of the same
value, on SQLite or PostgreSQL, exactly one row goes in. The keys are made by collab (collab/records/
uniqueness.py); here they are opaque strings.

Written by the log appender with each commit that touches a record with unique fields (its rows replaced by
the newest values, in the same transaction; a value another record holds is left out and reported back, so
collab corrects the live edit that made it), and by the create use-case in its own transaction. A deleted
record's rows are removed, so its values are free again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Record, UniqueValue

# The appender's statements (it speaks to the driver). A row goes in only for a live record, and is
# skipped, not refused, when another record holds the key: the appender then reports the holder.
DELETE_SQLITE = "DELETE FROM unique_values WHERE record_id = ?"
INSERT_SQLITE = (
    "INSERT OR IGNORE INTO unique_values (tenant_id, collection_id, field, value_key, record_id)"
    " SELECT tenant_id, collection_id, ?, ?, id FROM records WHERE id = ? AND deleted_at IS NULL"
)
HOLDER_SQLITE = (
    "SELECT u.record_id, r.summary FROM records me"
    " JOIN unique_values u ON u.collection_id = me.collection_id AND u.field = ? AND u.value_key = ?"
    " JOIN records r ON r.id = u.record_id"
    " WHERE me.id = ? AND me.deleted_at IS NULL AND u.record_id <> me.id"
)
DELETE_POSTGRES = "DELETE FROM unique_values WHERE record_id = $1"
INSERT_POSTGRES = (
    "INSERT INTO unique_values (tenant_id, collection_id, field, value_key, record_id)"
    " SELECT tenant_id, collection_id, $1, $2, id FROM records WHERE id = $3 AND deleted_at IS NULL"
    " ON CONFLICT DO NOTHING"
)
HOLDER_POSTGRES = (
    "SELECT u.record_id, r.summary FROM records me"
    " JOIN unique_values u ON u.collection_id = me.collection_id AND u.field = $1 AND u.value_key = $2"
    " JOIN records r ON r.id = u.record_id"
    " WHERE me.id = $3 AND me.deleted_at IS NULL AND u.record_id <> me.id"
)


@dataclass(frozen=True, slots=True)
class Taken:
    """A value a record could not be indexed with: another record holds it."""

    field: str
    value_key: str
    holder_id: str
    holder_summary: dict[str, Any] | None


async def holder(
    session: AsyncSession, tenant_id: str, collection_id: str, field: str, value_key: str
) -> Record | None:
    """The live record of the tenant's collection that holds `value_key` in `field`, if any."""
    return await session.scalar(
        select(Record)
        .join(UniqueValue, UniqueValue.record_id == Record.id)
        .where(
            UniqueValue.tenant_id == tenant_id,
            UniqueValue.collection_id == collection_id,
            UniqueValue.field == field,
            UniqueValue.value_key == value_key,
            Record.deleted_at.is_(None),
        )
    )


def orm_rows(record: Record, keys: Iterable[tuple[str, str]]) -> list[UniqueValue]:
    """The rows of a record being created in an ORM session (a taken key fails its flush)."""
    return [
        UniqueValue(
            tenant_id=record.tenant_id,
            collection_id=record.collection_id,
            field=field,
            value_key=value_key,
            record_id=record.id,
        )
        for field, value_key in keys
    ]


async def remove(session: AsyncSession, record_id: str) -> None:
    """A record is deleted: its values are free for others."""
    await session.execute(delete(UniqueValue).where(UniqueValue.record_id == record_id))


async def remove_field(session: AsyncSession, collection_id: str, field: str) -> None:
    """A field is no longer unique: nothing is held in it any more."""
    await session.execute(
        delete(UniqueValue).where(UniqueValue.collection_id == collection_id, UniqueValue.field == field)
    )
