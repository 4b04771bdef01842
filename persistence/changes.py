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
    comment: str | None = None  # why, when the editor said; such an entry is never extended by a burst


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
    conflicts_only: bool = False


async def page(session: AsyncSession, record_id: str, where: ChangeFilter, limit: int) -> list[ChangeRow]:
    """Newest first; the next page starts below the smallest id of this one.

    Every filter is a condition of the one query, read along the (record_id, id) index: a page costs the
    rows of this record above the cursor that it walks, never the whole log."""
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
    if where.conflicts_only:
        query = query.where(ChangeRow.conflict.is_(True))
    return list(await session.scalars(query.order_by(ChangeRow.id.desc()).limit(limit)))


async def people(session: AsyncSession, record_id: str) -> list[str]:
    """The ids of everyone with an entry in the record's history (what a `user_id` filter can choose)."""
    found = await session.scalars(
        select(ChangeRow.user_id)
        .where(ChangeRow.record_id == record_id, ChangeRow.user_id.is_not(None))
        .distinct()
    )
    return [user_id for user_id in found if user_id is not None]


_MAX_ID = 2**63 - 1  # both databases' BIGINT


def change_number(text: str) -> int | None:
    """A change id as written in a URL, or None when it cannot name a row (not a number, or beyond BIGINT,
    which PostgreSQL would refuse to compare with rather than find nothing)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= _MAX_ID else None


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
