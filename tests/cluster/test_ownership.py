"""`SqlOwnership` in this process, two instances standing for two nodes on one PostgreSQL database: one
owner per record, the once-per-record guard of background work, and what losing the lock connection does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pycrdt import Doc, Map
from sqlalchemy import func, select

from collab.cluster.errors import OwnershipUnavailable, OwnerUnreachable
from collab.cluster.ownership import SqlOwnership
from collab.store.retention import Retention
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, UpdateRow, new_id, utcnow
from persistence.tenant_scope import system_scope
from tests.support.nodes import POSTGRES_ONLY
from tests.support.owners import lock_holder, scalar
from tests.support.polling import until

pytestmark = POSTGRES_ONLY


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with Database(database_url) as db:
        await db.migrate()
        yield db


@contextlib.asynccontextmanager
async def two_nodes(database: Database) -> AsyncIterator[tuple[SqlOwnership, SqlOwnership]]:
    async with (
        SqlOwnership(database, "node-a", "127.0.0.1:1001") as a,
        SqlOwnership(database, "node-b", "127.0.0.1:1002") as b,
    ):
        yield a, b


async def test_one_owner_at_a_time_and_the_others_are_told_where(database: Database) -> None:
    record = new_id()
    async with two_nodes(database) as (a, b):
        assert await a.claim(record) is None
        assert await a.claim(record) is None  # again: still a's, one lock
        assert await b.claim(record) == "127.0.0.1:1001"
        assert (a.holds(record), b.holds(record)) == (True, False)
        await a.release(record)
        assert await b.claim(record) is None
        assert await a.claim(record) == "127.0.0.1:1002"
    # Leaving releases everything: nothing owned, no node listed.
    assert await scalar(database.url.render_as_string(False), "SELECT count(*) FROM record_owners") == 0
    assert await scalar(database.url.render_as_string(False), "SELECT count(*) FROM nodes") == 0


async def test_background_work_runs_only_where_no_other_node_owns_the_record(database: Database) -> None:
    record = new_id()
    async with two_nodes(database) as (a, b):
        await a.claim(record)
        async with b.hold(record) as mine:
            assert not mine  # a's room is live: a's own retention folds it
        async with a.hold(record) as mine:
            assert mine
        assert a.holds(record)  # holding for a fold never gives up the owner's own lock
        await a.release(record)
        async with b.hold(record) as mine:
            assert mine
            with pytest.raises(OwnerUnreachable):  # not a's while b folds: its client comes back later
                await a.claim(record)
        async with a.hold(record) as mine:
            assert mine  # b's fold is over: its lock went with it


async def test_retention_folds_a_record_only_on_the_node_that_may(database: Database) -> None:
    record = await _record_with_old_rows(database)
    async with two_nodes(database) as (a, b):
        await a.claim(record)
        others = Retention(database, retention_days=1, check_seconds=0, hold=b.hold)
        owners = Retention(database, retention_days=1, check_seconds=0, hold=a.hold)
        assert await others.check_once() == 0
        assert await _rows(database, record) == 3
        # The owner folds it: a snapshot first, then (once it has settled) the rows under it.
        assert await owners.check_once() + await owners.check_once() == 3
        assert await _rows(database, record) == 0


async def test_losing_the_lock_connection_gives_up_every_record_at_once(database: Database) -> None:
    records = [new_id(), new_id()]
    lost: list[frozenset[str]] = []
    async with two_nodes(database) as (a, b):
        a.on_lost(lost.append)
        for record in records:
            await a.claim(record)
        url = database.url.render_as_string(False)
        pid = await lock_holder(url, records[0])
        assert await scalar(url, "SELECT pg_terminate_backend(:pid)", pid=pid)
        with pytest.raises(OwnershipUnavailable):
            await a.claim(new_id())  # the next use finds the connection gone
        assert lost == [frozenset(records)]
        assert a.owned() == frozenset()
        assert await b.claim(records[0]) is None  # the lock went with a's connection
        await until(lambda: a._connection is not None, "a reconnected")
        assert await a.claim(records[0]) == "127.0.0.1:1002"


async def _record_with_old_rows(database: Database) -> str:
    tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
    old = utcnow() - timedelta(days=2)
    doc: Doc = Doc()
    fields = doc.get("fields", type=Map)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for n in range(3):
        fields["revenue"] = n
    with system_scope():
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Test tenant"))
            await session.flush()
            session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=[]))
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
            await session.flush()
            for update in updates:
                session.add(UpdateRow(record_id=record_id, origin="live", created_at=old, data=update))
    return record_id


async def _rows(database: Database, record_id: str) -> int:
    with system_scope():
        async with database.session() as session:
            count = await session.scalar(select(func.count()).where(UpdateRow.record_id == record_id))
    return int(count or 0)
