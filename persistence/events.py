"""The feed's rows: appending published events, reading what a client missed, and recovery after a crash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import ChangeRow, EventRow


@dataclass(frozen=True, slots=True)
class NewEvent:
    tenant_id: str
    collection_id: str
    record_id: str
    type: str
    at: datetime
    user_id: str | None
    fields: dict[str, Any]
    upto_change_id: int = 0


async def append(session: AsyncSession, events: Sequence[NewEvent]) -> list[EventRow]:
    rows = [EventRow(**{name: getattr(event, name) for name in NewEvent.__slots__}) for event in events]
    session.add_all(rows)
    await session.flush()
    return rows


async def after(
    session: AsyncSession, tenant_id: str, collection_id: str, last_id: int, limit: int
) -> list[EventRow]:
    return list(
        await session.scalars(
            select(EventRow)
            .where(
                EventRow.tenant_id == tenant_id,
                EventRow.collection_id == collection_id,
                EventRow.id > last_id,
            )
            .order_by(EventRow.id)
            .limit(limit)
        )
    )


async def oldest_id(session: AsyncSession, tenant_id: str) -> int | None:
    return await session.scalar(select(func.min(EventRow.id)).where(EventRow.tenant_id == tenant_id))


async def newest_id(session: AsyncSession) -> int:
    return await session.scalar(select(func.max(EventRow.id))) or 0


async def prune(session: AsyncSession, older_than: datetime) -> None:
    await session.execute(delete(EventRow).where(EventRow.at < older_than))


async def unpublished_changes(session: AsyncSession, window: timedelta) -> list[ChangeRow]:
    """Changes of the last `window` that no `record.updated` event covers yet (the process died between
    committing them and publishing their event), oldest first.

    Only the change rows: a busy record's summary can hold thousands of fields, and loading it with each
    of thousands of changes made a restart after a crash take tens of seconds.
    """
    newest_event = await session.scalar(select(func.max(EventRow.at)))
    since = (newest_event or datetime.now().astimezone()) - window
    covered = (
        select(func.coalesce(func.max(EventRow.upto_change_id), 0))
        .where(EventRow.record_id == ChangeRow.record_id)
        .scalar_subquery()
    )
    found = await session.scalars(
        select(ChangeRow)
        .where(ChangeRow.at >= since, ChangeRow.id > covered, ChangeRow.origin != "create")
        .order_by(ChangeRow.id)
    )
    return list(found)
