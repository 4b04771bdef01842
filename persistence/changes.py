"""The field-level change log: what gets written with each update, and how it is read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import ChangeRow


@dataclass(frozen=True, slots=True)
class NewChange:
    record_id: str
    field: str
    before: Any
    after: Any
    user_id: str | None
    session_id: str | None
    origin: str
    conflict: bool = False
    lost_value: Any = None
    lost_user_id: str | None = None
    winner_user_id: str | None = None


# Deleting a record and bringing it back are history entries too: a row of no field ("") whose origin says
# which, with neither value. They are never put back (undelete is the way back) and never make a
# `record.updated`: the `record.deleted`/`record.restored` event that follows covers them.
RECORD_FIELD = ""
DELETED = "delete"
UNDELETED = "undelete"


def lifecycle(record_id: str, origin: str, user_id: str | None, session_id: str | None) -> ChangeRow:
    """The entry for deleting (`DELETED`) or bringing back (`UNDELETED`) a record."""
    return ChangeRow(
        record_id=record_id,
        field=RECORD_FIELD,
        before=None,
        after=None,
        user_id=user_id,
        session_id=session_id,
        origin=origin,
    )


def is_lifecycle(row: ChangeRow) -> bool:
    return row.field == RECORD_FIELD and row.origin in (DELETED, UNDELETED)


@dataclass(frozen=True)
class ChangeFilter:
    user_id: str | None = None
    field: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None


async def page(session: AsyncSession, record_id: str, where: ChangeFilter, limit: int) -> list[ChangeRow]:
    """Newest first; the next page starts below the smallest id of this one."""
    query = select(ChangeRow).where(ChangeRow.record_id == record_id)
    if where.user_id is not None:
        query = query.where(ChangeRow.user_id == where.user_id)
    if where.field is not None:
        query = query.where(ChangeRow.field == where.field)
    if where.since is not None:
        query = query.where(ChangeRow.at >= where.since)
    if where.until is not None:
        query = query.where(ChangeRow.at < where.until)
    if where.before_id is not None:
        query = query.where(ChangeRow.id < where.before_id)
    return list(await session.scalars(query.order_by(ChangeRow.id.desc()).limit(limit)))


async def find(session: AsyncSession, record_id: str, change_id: int) -> ChangeRow | None:
    return await session.scalar(
        select(ChangeRow).where(ChangeRow.record_id == record_id, ChangeRow.id == change_id)
    )


async def newest_id(session: AsyncSession, record_id: str) -> int:
    return await session.scalar(select(func.max(ChangeRow.id)).where(ChangeRow.record_id == record_id)) or 0


async def last_authors(session: AsyncSession, record_id: str) -> dict[str, str | None]:
    """Who wrote each field's current value, as far as the log knows (a room's index starts from this).

    The newest entry by time, not by id: a burst is extended in place, so when two people type into a
    field in turn, the older entry (lower id) may hold the latest write."""
    ranked = (
        select(
            ChangeRow.field,
            ChangeRow.user_id,
            func.row_number()
            .over(partition_by=ChangeRow.field, order_by=(ChangeRow.at.desc(), ChangeRow.id.desc()))
            .label("rank"),
        )
        .where(ChangeRow.record_id == record_id)
        .subquery()
    )
    rows = await session.execute(select(ranked.c.field, ranked.c.user_id).where(ranked.c.rank == 1))
    return {field: user_id for field, user_id in rows}
