"""Open conflicts: the concurrent overwrites nobody has settled yet (kept, or the lost value put back).

A conflict row is open while `settled_at` is null (the partial index `ix_changes_open_conflicts` keeps that
cheap however long the history grows). A person whose value for a field was replaced twice before they
looked has one thing to decide, not two: open conflicts are collapsed when read to the newest per record,
field and loser (`_newest_of_its_kind`), and settling settles every open one of the record and field.
"""

from __future__ import annotations

from collections.abc import Collection as Sized
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from persistence.models import ChangeRow, Record


def _open(table: str = "changes") -> ColumnElement[bool]:
    """Spelled as the partial index's predicate (`conflict AND settled_at IS NULL`): SQLite uses a partial
    index only for a query that says the same terms, and SQLAlchemy writes a boolean column there as
    `conflict = 1`."""
    return and_(text(f'{table}."conflict"'), literal_column(f"{table}.settled_at").is_(None))


def _newest_of_its_kind() -> ColumnElement[bool]:
    """No newer open conflict of the same record, field and loser: older ones are superseded by it."""
    newer = aliased(ChangeRow, name="newer")
    return ~exists().where(
        newer.record_id == ChangeRow.record_id,
        newer.field == ChangeRow.field,
        newer.lost_user_id.is_not_distinct_from(ChangeRow.lost_user_id),
        _open("newer"),
        newer.id > ChangeRow.id,
    )


async def of_record(session: AsyncSession, record_id: str) -> list[ChangeRow]:
    """The record's open conflicts, one per field and loser (the newest), newest first."""
    query = (
        select(ChangeRow)
        .where(ChangeRow.record_id == record_id, _open(), _newest_of_its_kind())
        .order_by(ChangeRow.id.desc())
    )
    return list(await session.scalars(query))


async def of_collection(
    session: AsyncSession, tenant_id: str, collection_id: str, before_id: int | None, limit: int
) -> list[ChangeRow]:
    """One page of a collection's open conflicts (records not deleted), collapsed as `of_record`, newest
    first; the next page starts below the smallest id of this one."""
    query = (
        select(ChangeRow)
        .join(Record, Record.id == ChangeRow.record_id)
        .where(
            Record.tenant_id == tenant_id,
            Record.collection_id == collection_id,
            Record.deleted_at.is_(None),
            _open(),
            _newest_of_its_kind(),
        )
    )
    if before_id is not None:
        query = query.where(ChangeRow.id < before_id)
    return list(await session.scalars(query.order_by(ChangeRow.id.desc()).limit(limit)))


async def open_counts(session: AsyncSession, record_ids: Sized[str]) -> dict[str, int]:
    """How many open conflicts each record has, as `of_record` counts them (records with none are left
    out). One query for a whole page of records."""
    if not record_ids:
        return {}
    kinds = (
        select(ChangeRow.record_id, ChangeRow.field, ChangeRow.lost_user_id)
        .where(ChangeRow.record_id.in_(list(record_ids)), _open())
        .distinct()
        .subquery()
    )
    rows = await session.execute(select(kinds.c.record_id, func.count()).group_by(kinds.c.record_id))
    return {record_id: count for record_id, count in rows}


async def find_conflict(session: AsyncSession, record_id: str, change_id: int) -> ChangeRow | None:
    """A conflict entry of the record, settled or not (None when there is no such conflict)."""
    return await session.scalar(
        select(ChangeRow).where(
            ChangeRow.record_id == record_id, ChangeRow.id == change_id, ChangeRow.conflict
        )
    )


async def settle(session: AsyncSession, record_id: str, field: str, user_id: str | None, at: datetime) -> int:
    """Settle every open conflict of the record's field, attributed to `user_id`; returns how many.
    The caller commits."""
    result = await session.execute(
        update(ChangeRow)
        .where(ChangeRow.record_id == record_id, ChangeRow.field == field, _open())
        .values(settled_at=at, settled_by=user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
