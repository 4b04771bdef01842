"""`RedisAttempts` on the real Redis: the same answers as `MemoryAttempts`, shared by two counters (two
nodes), atomic under concurrent guesses, and counting alone while Redis fails."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from auth.attempts import MemoryAttempts
from auth.redis_attempts import RedisAttempts
from auth.throttle import LoginThrottle, TooManyAttempts

REDIS_URL = "redis://127.0.0.1:6379/0"
WINDOW = 60.0


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"collab-test-{secrets.token_hex(4)}"


async def test_add_if_under_counts_until_the_limit_and_says_when_room_comes_back(
    redis: Redis, prefix: str
) -> None:
    shared, memory = RedisAttempts(redis, prefix, WINDOW), MemoryAttempts(WINDOW)
    for counter in (shared, memory):
        assert await counter.add_if_under({"a": 2, "b": 9}, 100.0) == 0
        assert await counter.add_if_under({"a": 2, "b": 9}, 110.0) == 0
        # Full: nothing counted, and room comes back when the oldest leaves the window.
        assert await counter.add_if_under({"a": 2, "b": 9}, 120.0) == pytest.approx(40.0)
        assert await counter.count("b", 120.0) == 2
        assert await counter.add_if_under({"a": 2}, 160.5) == 0  # the first one left
        assert await counter.count("a", 165.0) == 2
        assert await counter.add_if_under({"z": 0}, 170.0) == pytest.approx(WINDOW)


async def test_two_nodes_share_the_counts(redis: Redis, prefix: str) -> None:
    a, b = RedisAttempts(redis, prefix, WINDOW), RedisAttempts(redis, prefix, WINDOW)
    assert await a.add_if_under({"k": 2}, 1.0) == 0
    assert await b.add_if_under({"k": 2}, 1.0) == 0  # the same instant on another node counts too
    assert await a.add_if_under({"k": 2}, 2.0) > 0
    assert await b.count("k", 2.0) == 2
    await b.take_back(["k"], 1.0)
    assert await a.count("k", 2.0) == 1
    assert (await a.recent(2.0)) == {"k": [1.0]}
    assert await b.clear("k") is True
    assert await a.clear("k") is False
    assert await a.recent(2.0) == {}


async def test_concurrent_guesses_never_pass_the_limit(redis: Redis, prefix: str) -> None:
    nodes = [RedisAttempts(redis, prefix, WINDOW) for _ in range(3)]
    answers = await asyncio.gather(*(nodes[n % 3].add_if_under({"k": 5}, 10.0 + n) for n in range(60)))
    assert sum(1 for wait in answers if wait == 0) == 5


async def test_the_throttle_on_two_nodes_locks_at_the_limit(redis: Redis, prefix: str) -> None:
    clock = lambda: 1000.0  # noqa: E731
    throttles = [
        LoginThrottle(50, 20, WINDOW, 3, counter=RedisAttempts(redis, prefix, WINDOW), clock=clock)
        for _ in range(2)
    ]
    for n in range(3):
        await throttles[n % 2].reserve("acme", "ann@example.com", "10.0.0.1")
    with pytest.raises(TooManyAttempts):
        await throttles[1].reserve("acme", "ann@example.com", "10.0.0.1")
    locked = [lockout for lockout in await throttles[0].lockouts("acme") if lockout.locked]
    assert [lockout.key.public for lockout in locked] == ["account_address:ann@example.com|10.0.0.1"]


async def test_without_redis_it_counts_alone(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        counter = RedisAttempts(dead, prefix, WINDOW)
        assert await counter.add_if_under({"k": 1}, 1.0) == 0
        assert await counter.add_if_under({"k": 1}, 2.0) > 0
        assert await counter.count("k", 2.0) == 1
    finally:
        await dead.aclose()
    assert sum("alone" in r.getMessage() for r in caplog.records) == 1  # once, not at every call
