"""`AttemptCounter` on Redis: the failed logins of every node of a deployment counted together.

A sorted set per key (members are attempts, scores their times), expiring one window after its newest
attempt; an index set lists the keys with recent attempts, for `recent` (the admins' lockout list). The
keys are named by `LockKey.stored`, as `MemoryAttempts` keeps them: the counter hashes nothing.
`add_if_under` is one Lua script over all the keys of a login, so a check and its count are one step for
the whole deployment, however many nodes take guesses at once.

Times must be comparable between nodes: give the throttle a wall clock (`time.time`), not a monotonic one.

When Redis fails, this node counts alone (a `MemoryAttempts`) until Redis answers again; the switch is
logged once each way, and no login ever fails because of it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth.attempts import MemoryAttempts

log = logging.getLogger(__name__)

T = TypeVar("T")

# A Redis that hangs (a partition) counts as failed after this: a login never waits on it for longer.
REDIS_DEADLINE_SECONDS = 1.0

# KEYS: the index, then the attempt keys. ARGV: now, window, member, then each key's limit.
_ADD_IF_UNDER = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local wait = 0
for i = 2, #KEYS do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[2 + i])
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local until_free = window
    if limit >= 1 then
      local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      until_free = tonumber(oldest[2]) + window - now
    end
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return tostring(wait) end
local ttl = math.ceil(window * 1000)
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], ttl)
  redis.call('ZADD', KEYS[1], now, KEYS[i])
end
redis.call('PEXPIRE', KEYS[1], ttl)
return '0'
"""

# KEYS: the attempt keys. ARGV: the stamp. One attempt counted at that time leaves each key.
_TAKE_BACK = """
for i = 1, #KEYS do
  local found = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
  if found[1] then redis.call('ZREM', KEYS[i], found[1]) end
end
return 0
"""


class RedisAttempts:
    """Attempts per key in a sliding window, shared by every node using the same Redis and `prefix`."""

    def __init__(self, redis: Redis, prefix: str, window_seconds: float) -> None:
        self.window_seconds = window_seconds
        self._redis = redis
        self._keys = f"{prefix}:attempts:"
        self._index = f"{prefix}:attempts-index"
        self._add_if_under = redis.register_script(_ADD_IF_UNDER)
        self._take_back = redis.register_script(_TAKE_BACK)
        self._local = MemoryAttempts(window_seconds)  # while Redis fails
        self._alone = False

    def _key(self, stored: str) -> str:
        return self._keys + stored

    async def add_if_under(self, limits: Mapping[str, int], now: float) -> float:
        async def shared() -> float:
            keys = [self._index, *(self._key(stored) for stored in limits)]
            member = f"{now!r}:{secrets.token_hex(6)}"  # two nodes may count at the same instant
            args: list[Any] = [repr(now), repr(self.window_seconds), member, *limits.values()]
            return float(await self._add_if_under(keys=keys, args=args))

        return await self._shared(shared, lambda: self._local.add_if_under(limits, now))

    async def take_back(self, keys: Iterable[str], stamp: float) -> None:
        stored = list(keys)

        async def shared() -> None:
            await self._take_back(keys=[self._key(key) for key in stored], args=[repr(stamp)])

        await self._shared(shared, lambda: self._local.take_back(stored, stamp))

    async def count(self, key: str, now: float) -> int:
        async def shared() -> int:
            return int(await self._redis.zcount(self._key(key), f"({now - self.window_seconds!r}", "+inf"))

        return await self._shared(shared, lambda: self._local.count(key, now))

    async def clear(self, key: str) -> bool:
        async def shared() -> bool:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(key))
                pipe.zrem(self._index, self._key(key))
                deleted, _ = await pipe.execute()
            return bool(deleted)

        return await self._shared(shared, lambda: self._local.clear(key))

    async def recent(self, now: float) -> dict[str, list[float]]:
        async def shared() -> dict[str, list[float]]:
            since = f"({now - self.window_seconds!r}"
            await self._redis.zremrangebyscore(self._index, "-inf", now - self.window_seconds)
            found_names = await self._redis.zrangebyscore(self._index, since, "+inf")
            names = [name for name in found_names if isinstance(name, bytes)]
            found: dict[str, list[float]] = {}
            if not names:
                return found
            async with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.zrangebyscore(name, since, "+inf", withscores=True)
                answers = await pipe.execute()
            for name, stamps in zip(names, answers, strict=True):
                if stamps:
                    found[name.decode()[len(self._keys) :]] = sorted(float(score) for _, score in stamps)
            return found

        return await self._shared(shared, lambda: self._local.recent(now))

    async def _shared(self, shared: Callable[[], Awaitable[T]], alone: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                value = await shared()
        except (RedisError, OSError, TimeoutError) as exc:
            if not self._alone:
                self._alone = True
                log.warning("login throttling: Redis failed (%r); counting on this node alone", exc)
            return await alone()
        if self._alone:
            self._alone = False
            log.warning("login throttling: Redis answers again; counting with every node")
        return value
