"""Polling under a deadline, for state that offers no event to wait on (rows in a database)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


async def poll_until(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str, within: float = 15.0
) -> T:
    """Read again and again until `done(value)`; `TimeoutError` naming `what` (and the last value) after."""
    value = await read()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not done(value):
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}; last value {value!r}")
        await asyncio.sleep(POLL_SECONDS)
        value = await read()
    return value


async def until(check: Callable[[], bool], what: str, within: float = 15.0) -> None:
    """Poll a condition of in-process state (which has no event of its own to await) under a deadline."""

    async def read() -> bool:
        return check()

    await poll_until(read, bool, what, within)
