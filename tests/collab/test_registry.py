"""The room registry on a real database: a load reads once, and time decides snapshots and eviction (a
fake clock, moved by the test: nothing sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collab.clock import FakeClock
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.records.document import read_fields
from collab.records.schema import FieldSpec
from collab.settings import Settings
from collab.store.writer import SqlUpdateWriter
from persistence.database import Database
from persistence.models import Collection, Record, SnapshotRow, Tenant, new_id
from tests.support.polling import poll_until

SPECS = [FieldSpec("name", "Name", "text")]
API = Origin(OriginKind.API, None, None)


@dataclass
class Stored:
    database: Database
    record_id: str


@pytest.fixture
async def stored(database_url: str) -> AsyncIterator[Stored]:
    async with Database(database_url) as database:
        await database.migrate()
        tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Acme"))
            await session.flush()
            fields = [spec.as_json() for spec in SPECS]
            session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=fields))
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
        yield Stored(database, record_id)


async def snapshot_reasons(database: Database, record_id: str) -> list[str]:
    async with database.session() as session:
        found = await session.scalars(
            select(SnapshotRow.reason).where(SnapshotRow.record_id == record_id).order_by(SnapshotRow.id)
        )
        return list(found)


async def test_a_load_reads_the_record_in_one_session(
    stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = stored.database
    opened: list[int] = []
    session: Callable[[], AbstractAsyncContextManager[AsyncSession]] = database.session

    def counted() -> AbstractAsyncContextManager[AsyncSession]:
        opened.append(1)
        return session()

    async with SqlUpdateWriter(database) as writer:
        registry = RoomRegistry(database, writer, Settings())
        room = await registry.acquire(stored.record_id)
        room.edit(SPECS, {"name": "Ann"}, API)
        await registry.flush()
        registry.release(room)
        registry.rooms.clear()  # as if evicted: the next join loads again, from the log
        monkeypatch.setattr(database, "session", counted)
        again = await registry.acquire(stored.record_id)
        assert len(opened) == 1, "record, collection, owners, snapshot, log and authors in one session"
        assert read_fields(again.doc) == {"name": "Ann"}
        assert (again.tenant_id, again.collection_id) == (room.tenant_id, room.collection_id)
        assert again.specs == SPECS
        registry.release(again)


async def test_quiet_rooms_are_snapshotted_and_idle_ones_evicted_as_the_clock_moves(stored: Stored) -> None:
    clock = FakeClock()
    settings = Settings(snapshot_quiet_seconds=30, room_idle_seconds=60, snapshot_every_updates=1000)
    async with SqlUpdateWriter(stored.database) as writer:
        # Not entered: no housekeeping task of its own, the test runs each round.
        registry = RoomRegistry(stored.database, writer, settings, clock=clock)
        room = await registry.acquire(stored.record_id)
        room.edit(SPECS, {"name": "Ann"}, API)
        await registry.flush()
        assert room.updates_since_snapshot == 1
        registry.release(room)

        async def read_reasons() -> list[str]:
            return await snapshot_reasons(stored.database, stored.record_id)

        clock.advance(29)
        await registry.housekeep()
        assert await read_reasons() == []

        clock.advance(1)  # 30 s without updates: a snapshot starts (a task of its own)
        await registry.housekeep()
        reasons = await poll_until(read_reasons, lambda found: found != [], "the quiet room's snapshot")
        assert reasons == ["auto"]
        clock.advance(29)  # 59 s idle: the room stays
        await registry.housekeep()
        assert stored.record_id in registry.rooms

        clock.advance(1)  # 60 s idle
        await registry.housekeep()
        assert stored.record_id not in registry.rooms
        assert await snapshot_reasons(stored.database, stored.record_id) == ["auto"]  # nothing new to cover


async def test_a_room_held_by_someone_is_never_evicted(stored: Stored) -> None:
    clock = FakeClock()
    async with SqlUpdateWriter(stored.database) as writer:
        registry = RoomRegistry(stored.database, writer, Settings(room_idle_seconds=60), clock=clock)
        room = await registry.acquire(stored.record_id)
        clock.advance(3600)
        await registry.housekeep()
        assert registry.rooms.get(stored.record_id) is room
        registry.release(room)
        clock.advance(59)
        await registry.housekeep()
        assert registry.rooms.get(stored.record_id) is room
        clock.advance(1)
        await registry.housekeep()
        assert stored.record_id not in registry.rooms
