"""The change feed as a consumer of the writer: live edits coalesced per record by the clock (a fake one,
moved by the test: nothing sleeps), and published from what the commit carried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pycrdt import Doc, Map

from collab.changefeed.feed import Feed, Subscriber, describe
from collab.clock import FakeClock
from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import PendingWrite
from persistence import events
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, User, new_id
from web.sse_frames import SSE

COALESCE_SECONDS = 60.0  # far beyond what the test takes: only the fake clock can make an edit due


@dataclass
class Stored:
    database: Database
    tenant_id: str
    collection_id: str
    record_id: str
    doc: Doc

    def write(self, key: str, value: object, by: str | None = None) -> PendingWrite:
        """One real update of the record, as a room queues it (by the user of id `by`)."""
        fields = self.doc.get("fields", type=Map)
        state = self.doc.get_state()
        before = fields.get(key)
        fields[key] = value
        return PendingWrite(
            record_id=self.record_id,
            update=self.doc.get_update(state),
            origin=Origin(OriginKind.API, by, None),
            state_vector_after=self.doc.get_state(),
            changes=(FieldChange(key, before, value, None),),
            fields=dict(fields.to_py() or {}),
            tenant_id=self.tenant_id,
            collection_id=self.collection_id,
        )

    async def people(self, count: int) -> list[str]:
        """Ids of `count` new users of the tenant."""
        ids = [new_id() for _ in range(count)]
        async with self.database.session() as session, session.begin():
            for n, user_id in enumerate(ids):
                session.add(
                    User(
                        id=user_id,
                        tenant_id=self.tenant_id,
                        email=f"u{n}@example.com",
                        name=f"U{n}",
                        role="editor",
                        password_hash="-",
                    )
                )
        return ids

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


async def test_a_coalesced_event_names_every_author_also_when_read_back(stored: Stored) -> None:
    clock = FakeClock()
    ann, bob = await stored.people(2)
    async with SqlUpdateWriter(stored.database) as writer:
        feed = Feed(stored.database, writer, COALESCE_SECONDS, framer=SSE, clock=clock)
        subscriber = Subscriber(stored.tenant_id, stored.collection_id, "session")
        feed.subscribe(subscriber)
        for value, by in (("A", ann), ("B", bob), ("C", ann), ("D", None)):  # None: the server's own
            writer.submit(stored.write("name", value, by))
            await writer.flush()
        clock.advance(COALESCE_SECONDS)
        await feed.tick()
        chunks = await asyncio.wait_for(subscriber.next_chunks(), 5)
        assert chunks is not None
        (event,) = [event for chunk in chunks for event in chunk.events]
        # Ann wrote again after Bob: each author once, newest last; `by` stays the newest change's.
        assert (event.data["authors"], event.data["more_authors"]) == ([bob, ann], 0)
        assert event.data["by"] is None, "the newest change is the server's"
        async with stored.database.session() as session:
            rows = await events.after(session, stored.tenant_id, stored.collection_id, 0, 100)
            replayed = await describe(session, rows)  # what a client resuming by id receives
        assert [payload["authors"] for payload in replayed] == [[bob, ann]]
        assert replayed[0] == event.data


async def test_an_event_lists_at_most_twenty_authors_and_counts_the_rest(stored: Stored) -> None:
    clock = FakeClock()
    people = await stored.people(25)
    async with SqlUpdateWriter(stored.database) as writer:
        feed = Feed(stored.database, writer, COALESCE_SECONDS, framer=SSE, clock=clock)
        for n, by in enumerate(people):
            writer.submit(stored.write("revenue", n, by))
        await writer.flush()
        clock.advance(COALESCE_SECONDS)
        await feed.tick()
        async with stored.database.session() as session:
            rows = await events.after(session, stored.tenant_id, stored.collection_id, 0, 100)
            (payload,) = await describe(session, rows)
        assert (payload["authors"], payload["more_authors"]) == (people[-20:], 5)
