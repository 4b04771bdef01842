"""Caps on things held open at once (WebSocket connections, feed streams), per user or per session.

A slot is taken synchronously, with no await between counting and checking, and before anything that
could suspend: checking a registry's count and joining it later, with awaits between, let 149 of 150
concurrent connects of one user through a cap of 50.

With several nodes, `acquire` counts in Redis (collab/cluster/counters.py: one atomic check-and-take over
every node); on one node it is `take`, which never suspends.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth.throttle import TooManyAttempts
from collab.cluster.counters import SharedCounts


class TooManyOpen(TooManyAttempts):
    """A cap on things held open at once was reached (429; a socket's close reason is the message)."""

    close_reason = None

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds, message)


class Slot:
    """One held slot under one or more keys; `release` is idempotent, so every exit path may call it."""

    def __init__(self, slots: Slots, keys: tuple[str, ...]) -> None:
        self._slots = slots
        self._keys = keys
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._release(self._keys)


class Slots:
    def __init__(self, shared: SharedCounts | None = None) -> None:
        self._held: dict[str, int] = {}
        self._shared = shared

    async def acquire(self, caps: Mapping[str, int]) -> Slot | None:
        """`take`, counted over every node when the slots are shared; call it before anything else awaits."""
        if self._shared is None:
            return self.take(caps)
        if not await self._shared.take(caps):
            return None
        return Slot(self, tuple(caps))

    def take(self, caps: Mapping[str, int]) -> Slot | None:
        """A slot under every key of `caps` if each holds fewer than its cap, else None (nothing taken)."""
        if any(self._held.get(key, 0) >= cap for key, cap in caps.items()):
            return None
        for key in caps:
            self._held[key] = self._held.get(key, 0) + 1
        return Slot(self, tuple(caps))

    def held(self, key: str) -> int:
        """What this node holds under `key`."""
        return self._held.get(key, 0) if self._shared is None else self._shared.held(key)

    def _release(self, keys: tuple[str, ...]) -> None:
        if self._shared is not None:
            self._shared.release(keys)
            return
        for key in keys:
            left = self._held[key] - 1
            if left:
                self._held[key] = left
            else:
                del self._held[key]
