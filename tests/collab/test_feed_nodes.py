"""Two nodes' feeds in one process, on one PostgreSQL database and the real Redis: each node's streams
get every node's events, in id order, once; the bus only wakes them, SQL is what they read."""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from collab.changefeed.events import FeedEvent
from collab.changefeed.feed import Feed, Subscriber
from collab.cluster.bus import Bus, RedisBus
from collab.store.writer import SqlUpdateWriter
from persistence import events
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, new_id
from tests.support.polling import until
from web.sse_frames import SSE

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Node:
    bus: Bus
    feed: Feed


@dataclass
class Place:
    database: Database
    tenant_id: str
    collection_id: str
    record_id: str

    def event(self, n: int) -> events.NewEvent:
        return events.NewEvent(
            self.tenant_id,
            self.collection_id,
            self.record_id,
            "record.created",
            datetime.now(UTC),
            None,
            {"n": n},
        )

    async def open(self, node: Node) -> tuple[Subscriber, int]:
        """A stream as `Streams.open` makes it: subscribed, then the collection's newest id read."""
        subscriber = Subscriber(self.tenant_id, self.collection_id, "session")
        node.feed.subscribe(subscriber)
        async with self.database.session() as session:
            newest = await events.newest_id(session, self.tenant_id, self.collection_id)
        node.feed.started(subscriber, newest)
        return subscriber, newest


@pytest.fixture
async def place(database_url: str) -> AsyncIterator[Place]:
    async with Database(database_url) as database:
        await database.migrate()
        tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Acme"))
            await session.flush()
            session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=[]))
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
        yield Place(database, tenant_id, collection_id, record_id)


@contextlib.asynccontextmanager
async def nodes(database: Database, redis_url: str = REDIS_URL) -> AsyncIterator[tuple[Node, Node]]:
    prefix = f"collab-test-{secrets.token_hex(4)}"
    async with contextlib.AsyncExitStack() as stack:
        made = []
        for _ in range(2):
            bus = await stack.enter_async_context(RedisBus(redis_url, prefix=prefix))
            writer = await stack.enter_async_context(SqlUpdateWriter(database))
            feed = await stack.enter_async_context(Feed(database, writer, framer=SSE, bus=bus))
            made.append(Node(bus, feed))
        yield made[0], made[1]


class Stream:
    """What an SSE stream writes of its subscriber's chunks: ids above the newest it sent, in order."""

    def __init__(self, subscriber: Subscriber, sent: int) -> None:
        self.subscriber = subscriber
        self.sent = sent
        self.written: list[int] = []
        self.events: list[FeedEvent] = []
        self.pushed: list[int] = []  # every id pushed, repeats included

    async def read(self, count: int, within: float) -> None:
        async with asyncio.timeout(within):
            while len(self.written) < count:
                chunks = await self.subscriber.next_chunks()
                assert chunks is not None
                for chunk in chunks:
                    for event in chunk.events:
                        if event.id is None:
                            continue
                        self.pushed.append(event.id)
                        if event.id > self.sent:
                            self.written.append(event.id)
                            self.events.append(event)
                            self.sent = event.id


async def test_an_event_published_on_one_node_reaches_a_stream_on_the_other(place: Place) -> None:
    async with nodes(place.database) as (a, b):
        await until(lambda: a.bus.up and b.bus.up, "both nodes on Redis")
        subscriber, newest = await place.open(b)
        stream = Stream(subscriber, newest)
        await b.feed.publish(place.event(0))  # once B has delivered its own, it reads no more unless told
        await stream.read(1, within=5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await a.feed.publish(place.event(1))
        await stream.read(2, within=1.5)
        assert loop.time() - started < 1.5
        event = stream.events[-1]
        assert event.type == "record.created" and event.data["fields"] == {"n": 1}
        assert event.data["record"] == place.record_id and event.data["collection"] == "c"


async def test_concurrent_publishers_on_both_nodes_reach_streams_on_both_once_in_order(place: Place) -> None:
    rng = random.Random(18)
    async with nodes(place.database) as (a, b):
        await until(lambda: a.bus.up and b.bus.up, "both nodes on Redis")
        streams = [Stream(*await place.open(node)) for node in (a, b, b)]

        async def publish(node: Node, count: int) -> None:
            for n in range(count):
                await node.feed.publish(place.event(n))
                await asyncio.sleep(rng.uniform(0, 0.005))

        await asyncio.gather(publish(a, 40), publish(b, 40), publish(a, 40))
        start = min(stream.sent for stream in streams)  # what a node's start-up published is before it
        async with place.database.session() as session:
            found = await events.after(session, place.tenant_id, place.collection_id, start, 1000)
        stored = [row.id for row in found]
        assert len(stored) == 120
        for stream in streams:
            await stream.read(120, within=10)
            assert stream.written == stored
            assert len(stream.pushed) == len(set(stream.pushed)), "each pushed once"


async def test_a_stream_that_read_an_older_newest_id_still_gets_what_came_after_it(place: Place) -> None:
    async with nodes(place.database) as (a, b):
        await until(lambda: a.bus.up and b.bus.up, "both nodes on Redis")
        first = Stream(*await place.open(b))
        read_before = first.sent
        await a.feed.publish(place.event(1))
        await first.read(1, within=5)  # delivered on B: B's position is past it
        # A second stream subscribes now, but its read of the newest id was older (it raced the commit).
        late = Subscriber(place.tenant_id, place.collection_id, "session")
        b.feed.subscribe(late)
        b.feed.started(late, read_before)
        second = Stream(late, read_before)
        await second.read(1, within=5)
        assert second.written == first.written
        await a.feed.publish(place.event(2))
        await first.read(2, within=5)
        await second.read(2, within=5)
        assert first.written == second.written and len(set(first.written)) == 2
