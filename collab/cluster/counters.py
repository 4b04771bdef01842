"""Counts shared by the nodes of a deployment, in Redis: things held open at once, and token buckets.

- `SharedCounts`: per key (a user, a session), how many things every node holds open, as a hash of node id
  → "count:deadline" (milliseconds of Redis's clock). A take checks the sum against the cap and counts one
  in one Lua script, so concurrent takes on several nodes never pass a cap. Each node rewrites its own
  fields every third of `ttl_seconds` from what it holds (which also repairs a Redis that restarted); the
  fields of a node that died pass their deadline and stop counting within `ttl_seconds`.
- `SharedBuckets`: a token bucket per key in one Lua script (rate and burst as on one node).

Both use Redis's clock (`TIME` inside the scripts), so the nodes' clocks never need to agree. When Redis
fails, they count on this node alone until it answers again, logging the switch once each way: a cap or a
budget is then per node, and no request ever fails because of Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from collab.periodic import stop_tasks

log = logging.getLogger(__name__)

T = TypeVar("T")

# A Redis that hangs (a partition) counts as failed after this: a request never waits on it for longer.
REDIS_DEADLINE_SECONDS = 1.0

_NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)"

# KEYS: the counted keys. ARGV: node id, ttl (ms), then each key's cap. 1 if taken, 0 if a cap is reached.
_TAKE = (
    _NOW_MS
    + """
local node, ttl = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  local total = 0
  local fields = redis.call('HGETALL', KEYS[i])
  for j = 1, #fields, 2 do
    local count, deadline = string.match(fields[j + 1], '^(%-?%d+):(%d+)$')
    if deadline and tonumber(deadline) > now then
      total = total + tonumber(count)
    else
      redis.call('HDEL', KEYS[i], fields[j])
    end
  end
  if total >= tonumber(ARGV[2 + i]) then return 0 end
end
for i = 1, #KEYS do
  local own = redis.call('HGET', KEYS[i], node)
  local count = 0
  if own then count = tonumber(string.match(own, '^(%-?%d+):')) or 0 end
  redis.call('HSET', KEYS[i], node, string.format('%d:%d', count + 1, now + ttl))
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
"""
)

# KEYS: keys. ARGV: node id, ttl (ms), then this node's count under each key (0: its field goes).
_SET_OWN = (
    _NOW_MS
    + """
local node, ttl = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  local count = tonumber(ARGV[2 + i])
  if count > 0 then
    redis.call('HSET', KEYS[i], node, string.format('%d:%d', count, now + ttl))
    redis.call('PEXPIRE', KEYS[i], ttl)
  else
    redis.call('HDEL', KEYS[i], node)
  end
end
return 0
"""
)

# KEYS: the bucket. ARGV: tokens per second, burst. The seconds to wait ("0": a token was taken).
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if held[1] and held[2] then
  tokens = math.min(burst, tonumber(held[1]) + (now - tonumber(held[2])) * rate)
end
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


class _Alone:
    """Runs a Redis call, or this node's own answer while Redis fails; logs each switch once."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.alone = False

    async def run(self, shared: Callable[[], Awaitable[T]], alone: Callable[[], T]) -> T:
        try:
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                value = await shared()
        except (RedisError, OSError, TimeoutError) as exc:
            if not self.alone:
                self.alone = True
                log.warning("%s: Redis failed (%r); counting on this node alone", self._what, exc)
            return alone()
        if self.alone:
            self.alone = False
            log.warning("%s: Redis answers again; counting with every node", self._what)
        return value


class SharedCounts:
    """Things held open at once per key over every node. `take` before anything else awaits; `release`
    never waits (Redis hears of it in the background, and the heartbeat repairs what it missed)."""

    def __init__(self, redis: Redis, prefix: str, name: str, node_id: str, ttl_seconds: float = 30.0) -> None:
        self._redis = redis
        self._keys = f"{prefix}:held:{name}:"
        self._node = node_id
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._take = redis.register_script(_TAKE)
        self._set_own = redis.register_script(_SET_OWN)
        self._mine: Counter[str] = Counter()  # held on this node, takes in flight included
        self._flying: Counter[str] = Counter()  # takes whose script has not answered yet
        self._unsynced: set[str] = set()  # keys whose last write failed: the heartbeat writes them
        self._guard = _Alone(f"shared counts of {name}")
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SharedCounts:
        self._heartbeat = asyncio.create_task(self._beat(), name=f"collab-counts-{self._keys}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(self._heartbeat)
        # This node's counts leave with it (a node killed instead lets them pass their deadline).
        held = set(self._mine) | self._unsynced
        self._mine.clear()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                await self._write_own(held)

    def held(self, key: str) -> int:
        """What this node holds under `key`."""
        return self._mine.get(key, 0)

    async def take(self, caps: Mapping[str, int]) -> bool:
        """One under every key of `caps` if each holds fewer than its cap over all nodes, else False."""
        for key in caps:
            self._mine[key] += 1  # counted here before the await: a cap on this node holds even alone
            self._flying[key] += 1

        async def shared() -> bool:
            args: list[Any] = [self._node, self._ttl_ms, *caps.values()]
            return bool(await self._take(keys=[self._keys + key for key in caps], args=args))

        def alone() -> bool:
            return all(self._mine[key] <= cap for key, cap in caps.items())

        try:
            taken = await self._guard.run(shared, alone)
        except BaseException:  # cancelled (the client left): Redis may have counted it, so say what holds
            self._landed(caps)
            self.release(caps)
            raise
        self._landed(caps)
        if not taken:
            self._drop(caps)
        return taken

    def release(self, keys: Iterable[str]) -> None:
        keys = tuple(keys)
        self._drop(keys)
        task = asyncio.get_running_loop().create_task(self._sync(set(keys)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _landed(self, keys: Iterable[str]) -> None:
        self._flying.subtract(tuple(keys))  # one each (a mapping would subtract its values)
        self._flying += Counter()  # drops the keys at zero

    def _drop(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._mine[key] -= 1
            if self._mine[key] <= 0:
                del self._mine[key]

    async def _sync(self, keys: set[str]) -> None:
        async def shared() -> None:
            await self._write_own(keys)

        def alone() -> None:
            self._unsynced.update(keys)

        await self._guard.run(shared, alone)

    async def _write_own(self, keys: set[str]) -> None:
        """Set this node's fields of `keys` to what it holds (a field at 0 is deleted). Takes in flight are
        left out: their own script counts them."""
        if not keys:
            return
        names = sorted(keys)
        counts = [self._mine.get(key, 0) - self._flying.get(key, 0) for key in names]
        args: list[Any] = [self._node, self._ttl_ms, *counts]
        await self._set_own(keys=[self._keys + key for key in names], args=args)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            keys = set(self._mine) | self._unsynced
            self._unsynced.clear()
            try:
                await self._sync(keys)
            except Exception:  # the next beat tries again; a dead heartbeat would let the counts expire
                log.exception("shared counts %s: the heartbeat failed", self._keys)
                self._unsynced.update(keys)


class SharedBuckets:
    """Token buckets over every node: `take` returns the seconds to wait (0: a token was taken), or None
    while Redis fails (the caller uses its own bucket then)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._keys = f"{prefix}:bucket:"
        self._bucket = redis.register_script(_BUCKET)
        self._guard = _Alone("request budgets")

    async def take(self, key: str, per_second: float, burst: int) -> float | None:
        async def shared() -> float | None:
            return float(await self._bucket(keys=[self._keys + key], args=[repr(per_second), burst]))

        return await self._guard.run(shared, lambda: None)
