"""The change feed as a consumer of the writer: live edits coalesced per record by the clock (a fake one,
moved by the test: nothing sleeps), and published from what the commit carried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pycrdt import Doc, Map

from collab.changefeed.feed import Feed, Subscriber
from collab.clock import FakeClock
from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import PendingWrite
from persistence import events
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, new_id
from web.sse_frames import SSE

COALESCE_SECONDS = 60.0  # far beyond what the test takes: only the fake clock can make an edit due


@dataclass
class Stored:
    database: Database
    tenant_id: str
    collection_id: str
    record_id: str
    doc: Doc

    def write(self, key: str, value: object) -> PendingWrite:
        """One real update of the record, as a room queues it."""
        fields = self.doc.get("fields", type=Map)
        state = self.doc.get_state()
        before = fields.get(key)
        fields[key] = value
        return PendingWrite(
            record_id=self.record_id,
            update=self.doc.get_update(state),
            origin=Origin(OriginKind.API, None, None),
            state_vector_after=self.doc.get_state(),
            changes=(FieldChange(key, before, value, None),),
            fields=dict(fields.to_py() or {}),
            tenant_id=self.tenant_id,
            collection_id=self.collection_id,
        )

    async def published(self) -> list[str]:
        async with self.database.session() as session:
            rows = await events.after(session, self.tenant_id, self.collection_id, 0, 100)
        return [row.type for row in rows]


@pytest.fixture
async def stored(database_url: str) -> AsyncIterator[Stored]:
    async with Database(database_url) as database:
        await database.migrate()
        tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Acme"))
            await session.flush()
            session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=[]))
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
        yield Stored(database, tenant_id, collection_id, record_id, Doc())


async def test_live_edits_are_published_once_the_clock_says_they_are_due(stored: Stored) -> None:
    clock = FakeClock()
    async with SqlUpdateWriter(stored.database) as writer:
        # Not entered: no loop of its own, the test runs each round.
        feed = Feed(stored.database, writer, COALESCE_SECONDS, framer=SSE, clock=clock)
        subscriber = Subscriber(stored.tenant_id, stored.collection_id, "session")
        feed.subscribe(subscriber)

        writer.submit(stored.write("name", "Ann"))
        await writer.flush()
        await feed.tick()
        clock.advance(COALESCE_SECONDS - 1)
        writer.submit(stored.write("revenue", 5))
        await writer.flush()
        await feed.tick()
        assert await stored.published() == [], "published before the coalescing time"

        clock.advance(1)  # the first edit is due: both go out as one event
        await feed.tick()
        chunks = await asyncio.wait_for(subscriber.next_chunks(), 5)
        assert chunks is not None
        (event,) = [event for chunk in chunks for event in chunk.events]
        assert event.type == "record.updated" and event.data["record"] == stored.record_id
        assert event.data["fields"] == {"name": "Ann", "revenue": 5}
        assert event.data["collection"] == "c"
        assert await stored.published() == ["record.updated"]

        writer.submit(stored.write("name", "Bob"))  # the next edit starts the record's next event
        await writer.flush()
        clock.advance(COALESCE_SECONDS - 1)
        await feed.tick()
        assert await stored.published() == ["record.updated"]
        clock.advance(1)
        await feed.tick()
        assert await stored.published() == ["record.updated", "record.updated"]
