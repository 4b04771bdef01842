"""Counts shared by nodes, on the real Redis: caps over two nodes, a dead node's counts expiring, token
buckets over two nodes, and each node counting alone (logged once) while Redis fails."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from collab.cluster.counters import SharedBuckets, SharedCounts
from tests.support.polling import poll_until

REDIS_URL = "redis://127.0.0.1:6379/0"
DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def dead() -> AsyncIterator[Redis]:
    client = Redis.from_url(DEAD_URL, socket_connect_timeout=0.5)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"collab-test-{secrets.token_hex(4)}"


async def test_concurrent_takes_on_two_nodes_never_pass_the_cap(redis: Redis, prefix: str) -> None:
    async with (
        SharedCounts(redis, prefix, "sockets", "n1") as one,
        SharedCounts(redis, prefix, "sockets", "n2") as two,
    ):
        taken = await asyncio.gather(*((one, two)[n % 2].take({"ann": 3}) for n in range(20)))
        assert taken.count(True) == 3
        assert one.held("ann") + two.held("ann") == 3
        assert await two.take({"bob": 3})  # another key, another count
        holder = one if one.held("ann") else two
        holder.release(["ann"])

        async def take_again() -> bool:
            return await two.take({"ann": 3})

        # The release reaches Redis in the background: a take succeeds again soon after.
        assert await poll_until(take_again, bool, "the released slot taken again", within=5)


async def test_a_dead_nodes_counts_stop_counting_after_the_ttl(redis: Redis, prefix: str) -> None:
    dead_node = SharedCounts(redis, prefix, "streams", "gone", ttl_seconds=0.5)  # no heartbeat: it died
    assert await dead_node.take({"user:ann": 3})
    assert await dead_node.take({"user:ann": 3})
    async with SharedCounts(redis, prefix, "streams", "alive", ttl_seconds=0.5) as alive:
        # The live node's heartbeat keeps the key itself alive: only the dead node's field expires.
        assert await alive.take({"user:ann": 3})
        assert not await alive.take({"user:ann": 3})
        started = asyncio.get_running_loop().time()

        async def take() -> bool:
            return await alive.take({"user:ann": 3})

        assert await poll_until(take, bool, "the dead node's count expired", within=3)
        assert asyncio.get_running_loop().time() - started <= 1.0


async def test_the_heartbeat_keeps_a_live_nodes_counts(redis: Redis, prefix: str) -> None:
    async with SharedCounts(redis, prefix, "sockets", "n1", ttl_seconds=0.3) as one:
        assert await one.take({"ann": 1})
        other = SharedCounts(redis, prefix, "sockets", "n2", ttl_seconds=0.3)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.5  # five TTLs: only the heartbeat keeps the count alive so long

        async def take() -> bool:
            return await other.take({"ann": 1})

        # Tries until one passes the cap (a failure) or the five TTLs are over.
        passed = await poll_until(take, lambda taken: taken or loop.time() > deadline, "five TTLs")
        assert not passed


async def test_without_redis_a_node_counts_alone_and_says_so_once(
    dead: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    counts = SharedCounts(dead, prefix, "sockets", "n1")
    assert await counts.take({"ann": 2})
    assert await counts.take({"ann": 2})
    assert not await counts.take({"ann": 2})  # the cap holds on this node
    counts.release(["ann"])
    assert await counts.take({"ann": 2})
    buckets = SharedBuckets(dead, prefix)
    assert await buckets.take("reads:ann", 1.0, 5) is None  # the caller charges its own bucket
    alone = [r.getMessage() for r in caplog.records if "alone" in r.getMessage()]
    assert len(alone) == 2  # once for the counts, once for the buckets


async def test_a_token_bucket_is_shared_by_two_nodes(redis: Redis, prefix: str) -> None:
    one, two = SharedBuckets(redis, prefix), SharedBuckets(redis, prefix)
    waits = [await (one, two)[n % 2].take("writes:ann", 0.01, 3) for n in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] is not None and 90 < waits[3] <= 100  # one token back after 1 / 0.01 s
    assert await one.take("writes:bob", 0.01, 3) == 0.0  # another key, another bucket


async def test_a_redis_that_hangs_counts_as_failed_within_the_deadline(prefix: str) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accepts and reads, never answers: a partition after the connect
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    hanging = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await SharedBuckets(hanging, prefix).take("reads:ann", 1.0, 5) is None
        assert await SharedCounts(hanging, prefix, "sockets", "n1").take({"ann": 1})
        assert loop.time() - started < 3.0  # two calls, each given up after REDIS_DEADLINE_SECONDS
    finally:
        await hanging.aclose()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
