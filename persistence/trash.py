"""The trash in storage: a collection's deleted records by keyset, and purging one for good.

A deleted record keeps its row (with `deleted_at` and `deleted_by`), its update log, snapshots, client ids
and history, so that restoring it is only clearing `deleted_at`. Purging removes all of that: every row of
a table that refers to the record (found from the models: a foreign key to `records.id` or a `record_id`
column, so a table added later is purged too, or, when it cannot be, makes the purge fail loudly rather
than leave a row behind) and then the record's own row. The audit log names records only in its details,
so its entries stay; so do feed events (`_KEPT`), which expire by their own retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Base, Collection, Record


@dataclass(frozen=True, slots=True)
class Due:
    """A record deleted before the purge's cutoff, as the purge found it (`deleted_at` is re-checked)."""

    record_id: str
    tenant_id: str
    collection_id: str
    deleted_at: datetime
    summary: dict[str, Any] | None


async def deleted_page(
    session: AsyncSession,
    tenant_id: str,
    collection_id: str,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[Record]:
    """Deleted records of one collection, newest deletion first (ties by id, descending), after `after`
    (the deletion time and id of the previous page's last record). Walks `ix_records_trash`."""
    query = select(Record).where(
        Record.tenant_id == tenant_id,
        Record.collection_id == collection_id,
        Record.deleted_at.is_not(None),
    )
    if after is not None:
        moment, record_id = after
        query = query.where(
            or_(Record.deleted_at < moment, and_(Record.deleted_at == moment, Record.id < record_id))
        )
    query = query.order_by(Record.deleted_at.desc(), Record.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def due(session: AsyncSession, cutoff: datetime, limit: int) -> list[Due]:
    """Records of every tenant deleted before `cutoff`, oldest deletion first (system work)."""
    rows = await session.execute(
        select(Record.id, Record.tenant_id, Record.collection_id, Record.deleted_at, Record.summary)
        .where(Record.deleted_at.is_not(None), Record.deleted_at < cutoff)
        .order_by(Record.deleted_at, Record.id)
        .limit(limit)
    )
    return [
        Due(record_id, tenant_id, collection_id, deleted_at, summary)
        for record_id, tenant_id, collection_id, deleted_at, summary in rows
        if deleted_at is not None
    ]


async def collection_fields(
    session: AsyncSession, collection_ids: set[str]
) -> dict[str, list[dict[str, Any]]]:
    """The field definitions of these collections (to name purged records by their title)."""
    if not collection_ids:
        return {}
    rows = await session.execute(
        select(Collection.id, Collection.fields).where(Collection.id.in_(collection_ids))
    )
    return {collection_id: fields for collection_id, fields in rows}


async def purge(session: AsyncSession, record_id: str, deleted_at: datetime) -> bool:
    """Remove the record and everything that refers to it, in the caller's transaction, if it is still
    the deletion the purge found: a record restored meanwhile (or deleted again since) is left alone.

    The first statement claims the row with a conditional UPDATE that changes nothing: on PostgreSQL it
    takes the row's lock and re-reads the condition after any restore it waited for; on SQLite it takes
    the database's write lock. Either way no restore can commit between the check and the deletes (a
    restore claims the row the same way). Returns whether it was purged."""
    claimed = await session.execute(
        update(Record)
        .where(Record.id == record_id, Record.deleted_at == deleted_at)
        .values(deleted_by=Record.deleted_by)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        return False
    for table, column in _referring():
        await session.execute(delete(table).where(table.c[column] == record_id))
    await session.execute(
        delete(Record)
        .where(Record.id == record_id, Record.deleted_at == deleted_at)
        .execution_options(synchronize_session=False)
    )
    return True


# Tables that name records but keep their rows when one is purged: the feed's events (their own retention).
_KEPT = frozenset({"events"})


def _referring() -> list[tuple[Table, str]]:
    """Every (table, column) that points at `records.id`, by foreign key or by a `record_id` column
    (keyed without one, e.g. `unique_values`), dependants first; `_KEPT` left out."""
    found: list[tuple[Table, str]] = []
    for table in reversed(Base.metadata.sorted_tables):
        if table.name == Record.__tablename__ or table.name in _KEPT:
            continue
        columns = {
            key.parent.name
            for key in table.foreign_keys
            if key.column.table.name == Record.__tablename__ and key.column.name == "id"
        }
        if "record_id" in table.c:
            columns.add("record_id")
        found.extend((table, column) for column in sorted(columns))
    return found
