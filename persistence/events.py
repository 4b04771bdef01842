"""The feed's rows: reading what a client missed, pruning, recovery after a crash, and the lock that
keeps a tenant's event ids visible in id order.

Events are written by the update writer's `LogAppender`. On PostgreSQL several nodes write at once, and
sequence values are handed out at insert, not at commit: a transaction holding id 41 may commit after one
holding 42 was read, and a reader resuming from "id > 42" would never see 41. So every transaction that
inserts events first takes `lock_tenants` (a transaction-level advisory lock per tenant, held to commit):
a tenant's transactions take their ids and commit one after another, and "id > last" of one tenant skips
nothing. Readers therefore compare ids within one tenant only (`newest_id` of a collection).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import ChangeRow, EventRow, Record


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
    authors: tuple[str | int, ...] | None = None  # as stored (`stored_authors`); None: just `user_id`


# A coalesced event names everyone whose changes it covers, newest last: at most `MAX_AUTHORS` of them by id,
# and how many older ones were left off. The `authors` column holds the ids, followed by that count when
# it is not 0 (one JSON list, so an event read back for a resuming client says the same as when it was new).
MAX_AUTHORS = 20


def stored_authors(newest_last: Iterable[str]) -> tuple[str | int, ...]:
    """The column's value for these distinct authors (oldest first)."""
    ids = list(newest_last)
    shown: list[str | int] = list(ids[-MAX_AUTHORS:])
    if len(ids) > MAX_AUTHORS:
        shown.append(len(ids) - MAX_AUTHORS)
    return tuple(shown)


def read_authors(stored: Sequence[str | int] | None, user_id: str | None) -> tuple[list[str], int]:
    """The author ids (newest last) and the count of those left off; an event stored without a list (before
    the column existed, or not a coalesced one) names just its `user_id`."""
    if stored is None:
        return ([user_id] if user_id else []), 0
    ids = [author for author in stored if isinstance(author, str)]
    more = sum(count for count in stored if isinstance(count, int) and not isinstance(count, bool))
    return ids, more


# The two-int form of the advisory lock, with the feed's own first key ("feed" in ASCII): it never meets the
# one-bigint locks (migrations, registration, records), which PostgreSQL keeps apart from the two-int ones.
FEED_LOCK_NAMESPACE = 0x66656564
LOCK_TENANT_POSTGRES = "SELECT pg_advisory_xact_lock($1, $2)"


def tenant_lock_key(tenant_id: str) -> int:
    """The second key of a tenant's feed lock: a stable signed 32-bit hash (two tenants may share one: they
    then take turns, which costs a wait and never correctness)."""
    value = zlib.crc32(tenant_id.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def tenant_lock_keys(tenant_ids: Iterable[str]) -> list[int]:
    """The keys to lock, each once, in ascending order: two transactions that lock several tenants take
    them in the same order, so neither waits for the other while holding what it needs."""
    return sorted({tenant_lock_key(tenant_id) for tenant_id in tenant_ids})


async def lock_tenants(driver: Any, tenant_ids: Iterable[str]) -> None:
    """On an asyncpg connection inside a transaction, before its first event insert: hold the feed lock
    of every tenant whose events it inserts, until it commits (see the module's docstring). SQLite needs
    none: it has one writer at a time."""
    for key in tenant_lock_keys(tenant_ids):
        await driver.execute(LOCK_TENANT_POSTGRES, FEED_LOCK_NAMESPACE, key)


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


async def newest_id(
    session: AsyncSession, tenant_id: str | None = None, collection_id: str | None = None
) -> int:
    """The newest id of every event, or of one collection's (the one a stream compares with: ids of
    different tenants do not become visible in id order)."""
    query = select(func.max(EventRow.id))
    if tenant_id is not None and collection_id is not None:
        query = query.where(EventRow.tenant_id == tenant_id, EventRow.collection_id == collection_id)
    return await session.scalar(query) or 0


async def prune(session: AsyncSession, older_than: datetime) -> None:
    await session.execute(delete(EventRow).where(EventRow.at < older_than))


LIFECYCLE = ("record.created", "record.deleted", "record.restored")


async def _since(session: AsyncSession, window: timedelta) -> datetime:
    # Relative to the newest event, not to now: a server down for a day still finds what it left.
    newest_event = await session.scalar(select(func.max(EventRow.at)))
    return (newest_event or datetime.now().astimezone()) - window


async def unpublished_lifecycle(
    session: AsyncSession, window: timedelta
) -> tuple[list[NewEvent], list[NewEvent]]:
    """Creations, and deletions or restorations, that their records show but no event does (the process
    died between the record's commit and its event's): (created, then deleted or restored), oldest first.

    A record's state is the truth: created within `window` with no `record.created`; deleted within
    `window` while its newest lifecycle event is not `record.deleted`; not deleted while it is. Who did a
    deletion or restoration is not kept on the record, so those events carry no author.
    """
    since = await _since(session, window)
    latest_ids = (
        select(func.max(EventRow.id)).where(EventRow.type.in_(LIFECYCLE)).group_by(EventRow.record_id)
    )
    found = await session.execute(
        select(EventRow.record_id, EventRow.type).where(EventRow.id.in_(latest_ids))
    )
    latest = {record_id: kind for record_id, kind in found}
    created_ever = select(EventRow.record_id).where(EventRow.type == "record.created")
    is_new = (Record.created_at >= since) & Record.id.not_in(created_ever)
    gone_back = [record_id for record_id, kind in latest.items() if kind == "record.deleted"]
    rows = await session.execute(
        select(Record, is_new)
        .where(is_new | (Record.deleted_at >= since) | Record.id.in_(gone_back))
        .order_by(Record.created_at)
    )
    created: list[NewEvent] = []
    ended_or_back: list[NewEvent] = []
    for record, new in rows:
        last = latest.get(record.id)
        if new:
            created.append(_lifecycle(record, "record.created", record.created_at, record.created_by))
            last = "record.created"
        if record.deleted_at is not None and last != "record.deleted":
            ended_or_back.append(_lifecycle(record, "record.deleted", record.deleted_at, None))
        elif record.deleted_at is None and last == "record.deleted":
            ended_or_back.append(_lifecycle(record, "record.restored", datetime.now().astimezone(), None))
    return created, ended_or_back


def _lifecycle(record: Record, kind: str, at: datetime, user_id: str | None) -> NewEvent:
    fields = {} if kind == "record.deleted" else (record.summary or {})
    return NewEvent(record.tenant_id, record.collection_id, record.id, kind, at, user_id, fields)


async def unpublished_changes(session: AsyncSession, window: timedelta) -> list[ChangeRow]:
    """Changes of the last `window` that no `record.updated` event covers yet (the process died between
    committing them and publishing their event), oldest first.

    Only the change rows: a busy record's summary can hold thousands of fields, and loading it with each
    of thousands of changes made a restart after a crash take tens of seconds.
    """
    since = await _since(session, window)
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
