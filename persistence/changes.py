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
    """Who wrote each field's current value, as far as the log knows (a room's index starts from this)."""
    newest = (
        select(func.max(ChangeRow.id).label("id"))
        .where(ChangeRow.record_id == record_id)
        .group_by(ChangeRow.field)
        .subquery()
    )
    rows = await session.execute(
        select(ChangeRow.field, ChangeRow.user_id).join(newest, newest.c.id == ChangeRow.id)
    )
    return {field: user_id for field, user_id in rows}
