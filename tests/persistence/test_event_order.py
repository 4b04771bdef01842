"""Event ids of one tenant become visible in id order, also with several writers at once (PostgreSQL).

Sequence values are handed out at insert and committed whenever their transaction commits, so without the
feed lock a reader that resumes from "id > the newest it read" skips a lower id committed after a higher
one. These writers wait a random while between insert and commit, which is where that happens.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import make_url

from persistence import events
from persistence.database import Database
from persistence.events import NewEvent
from persistence.log_appender import LogAppender
from persistence.models import Record
from tests.persistence.conftest import MakeRecord
from tests.support.polling import poll_until

POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

WRITERS = 6
EVENTS_PER_WRITER = 25
_INSERT = (
    "INSERT INTO events (tenant_id, collection_id, record_id, type, at, user_id, fields, upto_change_id)"
    " VALUES ($1, $2, $3, 'record.updated', $4, NULL, '{}', 0) RETURNING id"
)


@pytest.fixture
async def connect(database_url: str) -> AsyncIterator[list[asyncpg.Connection]]:
    """Plain driver connections to the test database (closed after the test), as `await connect()`."""
    opened: list[asyncpg.Connection] = []
    yield opened
    for connection in opened:
        await connection.close()


async def _connection(database_url: str, opened: list[asyncpg.Connection]) -> asyncpg.Connection:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    opened.append(connection)
    return connection


async def _place(database: Database, record_id: str) -> tuple[str, str]:
    async with database.session() as session:
        record = await session.get(Record, record_id)
        assert record is not None
        return record.tenant_id, record.collection_id


@POSTGRES_ONLY
async def test_a_reader_of_id_after_id_never_skips_an_event_of_concurrent_writers(
    database: Database, make_record: MakeRecord, database_url: str, connect: list[asyncpg.Connection]
) -> None:
    record_id = await make_record()
    tenant, collection = await _place(database, record_id)
    writers = [await _connection(database_url, connect) for _ in range(WRITERS)]
    reader = await _connection(database_url, connect)
    stored: list[int] = []
    rng = random.Random(18)

    async def write(connection: asyncpg.Connection) -> None:
        for _ in range(EVENTS_PER_WRITER):
            async with connection.transaction():
                await events.lock_tenants(connection, [tenant])
                stored.append(
                    await connection.fetchval(_INSERT, tenant, collection, record_id, datetime.now(UTC))
                )
                await asyncio.sleep(rng.uniform(0, 0.01))  # a commit that comes late: what the lock orders

    seen: list[int] = []

    async def read_new() -> int:
        rows = await reader.fetch(
            "SELECT id FROM events WHERE tenant_id = $1 AND id > $2 ORDER BY id",
            tenant,
            seen[-1] if seen else 0,
        )
        seen.extend(row["id"] for row in rows)
        return len(seen)

    writing = asyncio.gather(*(write(connection) for connection in writers))
    while not writing.done():
        await read_new()
        await asyncio.sleep(0.001)  # polling as a resuming client does, as often as can be
    await writing
    await read_new()  # every writer has committed: this read sees the rest
    assert len(stored) == WRITERS * EVENTS_PER_WRITER
    assert sorted(stored) == seen, f"skipped: {sorted(set(stored) - set(seen))}"


@POSTGRES_ONLY
async def test_the_appender_takes_the_tenant_lock_before_its_events(
    database: Database, make_record: MakeRecord, database_url: str, connect: list[asyncpg.Connection]
) -> None:
    record_id = await make_record()
    tenant, collection = await _place(database, record_id)
    holder = await _connection(database_url, connect)
    watcher = await _connection(database_url, connect)
    at = datetime.now(UTC)
    event = NewEvent(tenant, collection, record_id, "record.updated", at, None, {"name": "Panda"})
    async with LogAppender(database) as appender:
        transaction = holder.transaction()
        await transaction.start()
        await events.lock_tenants(holder, [tenant])
        held_id = await holder.fetchval(_INSERT, tenant, collection, record_id, at)
        appending = asyncio.create_task(appender.append([], {}, at, events=[event]))

        async def waiting() -> int:
            count: int = await watcher.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid = $1::bigint::oid AND objid = ($2::bigint & 4294967295)::oid AND objsubid = 2",
                events.FEED_LOCK_NAMESPACE,
                events.tenant_lock_key(tenant),
            )
            return count

        await poll_until(waiting, lambda count: count == 1, "the appender to wait for the tenant's lock")
        assert not appending.done()
        await transaction.commit()
        appended = await asyncio.wait_for(appending, 10)
    assert appended.event_ids[0] > held_id


@pytest.mark.unit
def test_lock_keys_are_signed_32_bit_each_once_and_in_order() -> None:
    keys = events.tenant_lock_keys(["b", "a", "b", "tenant-with-a-long-id-" * 3])
    assert keys == sorted(keys) and len(keys) == 3
    assert all(-(1 << 31) <= key < (1 << 31) for key in keys)
    assert events.tenant_lock_key("a") == events.tenant_lock_key("a")
