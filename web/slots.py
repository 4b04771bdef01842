"""Caps on things held open at once (WebSocket connections, feed streams), per user or per session.

A slot is taken synchronously, with no await between counting and checking, and before anything that
could suspend: checking a registry's count and joining it later, with awaits between, let 149 of 150
concurrent connects of one user through a cap of 50.
"""

from __future__ import annotations

from collections.abc import Mapping

from auth.throttle import TooManyAttempts


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
    def __init__(self) -> None:
        self._held: dict[str, int] = {}

    def take(self, caps: Mapping[str, int]) -> Slot | None:
        """A slot under every key of `caps` if each holds fewer than its cap, else None (nothing taken)."""
        if any(self._held.get(key, 0) >= cap for key, cap in caps.items()):
            return None
        for key in caps:
            self._held[key] = self._held.get(key, 0) + 1
        return Slot(self, tuple(caps))

    def held(self, key: str) -> int:
        return self._held.get(key, 0)

    def _release(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            left = self._held[key] - 1
            if left:
                self._held[key] = left
            else:
                del self._held[key]
