"""Attempts per key in a sliding window: the seam under login throttling.

`AttemptCounter` is the narrow interface; `MemoryAttempts` serves one node. A shared one (a Redis sorted
set per key, `add_if_under` as one Lua script) would let several nodes count the same guesses. Every method
is async for that reason; the in-memory one never suspends inside a call, so each call is atomic on the
event loop, which is what makes "check and count" one step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Protocol


class AttemptCounter(Protocol):
    async def add_if_under(self, limits: Mapping[str, int], now: float) -> float:
        """If every key holds fewer than its limit of attempts in the window, count one at `now` under each
        and return 0; otherwise count nothing and return the seconds until the keys over their limits
        all have room again."""

    async def take_back(self, keys: Iterable[str], stamp: float) -> None:
        """Remove one attempt counted at `stamp` from each key (an attempt that turned out not to count)."""

    async def count(self, key: str, now: float) -> int:
        """Attempts under `key` within the window ending at `now`."""

    async def clear(self, key: str) -> bool:
        """Forget every attempt under `key`; False if it had none."""

    async def recent(self, now: float) -> dict[str, list[float]]:
        """Every key with attempts in the window, with their times, oldest first (for admins)."""


class MemoryAttempts:
    """One node's counts. Memory is bounded by the keys that saw attempts within the window."""

    def __init__(self, window_seconds: float) -> None:
        self.window_seconds = window_seconds
        self._stamps: dict[str, deque[float]] = {}

    async def add_if_under(self, limits: Mapping[str, int], now: float) -> float:
        waits = []
        for key, limit in limits.items():
            stamps = self._current(key, now)
            if len(stamps) >= limit:
                # Room comes back when enough of the oldest expire to leave fewer than `limit`.
                if limit < 1:
                    waits.append(self.window_seconds)  # a key that allows nothing
                else:
                    waits.append(stamps[len(stamps) - limit] + self.window_seconds - now)
        if waits:
            return max(waits)
        for key in limits:
            self._stamps.setdefault(key, deque()).append(now)
        return 0.0

    async def take_back(self, keys: Iterable[str], stamp: float) -> None:
        for key in keys:
            stamps = self._stamps.get(key)
            if stamps is not None and stamp in stamps:
                stamps.remove(stamp)
                if not stamps:
                    del self._stamps[key]

    async def count(self, key: str, now: float) -> int:
        return len(self._current(key, now))

    async def clear(self, key: str) -> bool:
        return self._stamps.pop(key, None) is not None

    async def recent(self, now: float) -> dict[str, list[float]]:
        for key in list(self._stamps):
            self._current(key, now)
        return {key: list(stamps) for key, stamps in self._stamps.items()}

    def _current(self, key: str, now: float) -> deque[float]:
        stamps = self._stamps.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window_seconds:
            stamps.popleft()
        if not stamps:
            del self._stamps[key]  # keys that saw no attempt lately take no memory
        return stamps
