"""Throttling of failed logins, per account and per address, in a sliding window.

In memory, per node: a guesser spread over several nodes gets a few more tries, never unlimited ones.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from auth.errors import AuthError


class TooManyAttempts(AuthError):
    """Too many failed logins; `retry_after_seconds` says when the next attempt may go through."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class LoginThrottle:
    def __init__(
        self,
        per_account: int,
        per_address: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._window = window_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def check(self, account: str, address: str) -> None:
        """Raise `TooManyAttempts` if either key used up its failures in the window."""
        now = self._clock()
        waits = []
        for kind, key in (("account", account), ("address", address)):
            failures = self._recent((kind, key), now)
            if len(failures) >= self._limits[kind]:
                waits.append(failures[0] + self._window - now)
        if waits:
            raise TooManyAttempts(max(1, math.ceil(max(waits))))

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        for key in (("account", account), ("address", address)):
            self._recent(key, now).append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(("account", account), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            # Keep memory bounded by the number of keys that failed recently.
            self._failures.pop(key, None)
            failures = self._failures.setdefault(key, deque())
        return failures
