"""Feed events written by the log appender: ids in the order given, in the transaction of their batch."""

import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import func, select

from persistence import events
from persistence.database import Database
from persistence.errors import WriteRefused
from persistence.events import NewEvent
from persistence.log_appender import LogAppender
from persistence.models import EventRow, Record
from persistence.update_log import NewUpdate, read_after
from tests.persistence.conftest import MakeRecord

AT = datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC)


async def _place(database: Database, record_id: str) -> tuple[str, str]:
    async with database.session() as session:
        record = await session.get(Record, record_id)
        assert record is not None
        return record.tenant_id, record.collection_id


def _event(tenant: str, collection: str, record_id: str, number: int) -> NewEvent:
    return NewEvent(
        tenant_id=tenant,
        collection_id=collection,
        record_id=record_id,
        type="record.updated" if number % 2 else "record.created",
        at=AT + timedelta(seconds=number),
        user_id=None if number % 3 == 0 else f"user-{number}",
        fields={"name": f"Panda {number}", "tags": ["a", number]},
        upto_change_id=number,
    )


async def test_events_get_ids_in_the_order_given_across_statements(
    database: Database, make_record: MakeRecord
) -> None:
    record_id = await make_record()
    tenant, collection = await _place(database, record_id)
    # More than one multi-row statement's worth, so the ids of several statements must join up in order.
    given = [_event(tenant, collection, record_id, number) for number in range(2_345)]
    async with LogAppender(database) as appender:
        first = await appender.append([], {}, AT, events=given[:1])
        rest = await appender.append([], {}, AT, events=given[1:])

    ids = first.event_ids + rest.event_ids
    assert len(ids) == len(given) and ids == sorted(ids) and len(set(ids)) == len(ids)
    async with database.session() as session:
        stored = await events.after(session, tenant, collection, 0, 10_000)
    assert [row.id for row in stored] == ids
    for row, event in zip(stored, given, strict=True):
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        assert (row.record_id, row.type, at, row.user_id, row.fields, row.upto_change_id) == (
            event.record_id,
            event.type,
            event.at,
            event.user_id,
            event.fields,
            event.upto_change_id,
        )


async def test_events_commit_with_the_updates_of_their_batch(
    database: Database, make_record: MakeRecord
) -> None:
    record_id = await make_record()
    tenant, collection = await _place(database, record_id)
    update = NewUpdate(record_id=record_id, data=b"\x00", user_id=None, session_id=None, origin="live")
    async with LogAppender(database) as appender:
        appended = await appender.append([update], {}, AT, events=[_event(tenant, collection, record_id, 1)])
        # A batch that cannot commit (its update names no record) takes its events down with it.
        orphan = NewUpdate(
            record_id="no-such-record", data=b"\x01", user_id=None, session_id=None, origin="live"
        )
        with pytest.raises(WriteRefused) as refused:
            await appender.append([orphan], {}, AT, events=[_event(tenant, collection, record_id, 2)])
        assert isinstance(refused.value.__cause__, sqlite3.IntegrityError | asyncpg.ForeignKeyViolationError)

    assert len(appended.event_ids) == 1
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(EventRow)) == 1
        assert len(await read_after(session, record_id, 0)) == 1
