"""A background loop: call `tick` every so many seconds in a task of its own until stopped.

A failing tick is logged with what failed and the next one runs anyway: the housekeeping of a server must
outlive one bad round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


# How long a cancelled task may go on before it is cancelled again.
_RECANCEL_SECONDS = 0.5


async def stop_tasks(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel the background tasks of a part that is stopping, and wait until each has ended.

    A task still running some time after its cancel is cancelled again: on Python 3.11 a cancel that comes
    as a timeout inside the task expires (`asyncio.timeout`, redis-py's reads with a timeout) becomes that
    timeout's TimeoutError, and a loop that reads again never ends (a shutdown hung once in CI so)."""
    for task in tasks:
        if task is not None:
            task.cancel()
    for task in tasks:
        if task is None:
            continue
        while not task.done():
            await asyncio.wait({task}, timeout=_RECANCEL_SECONDS)
            if not task.done():
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Periodic:
    def __init__(
        self, name: str, every_seconds: float, tick: Callable[[], Awaitable[object]], failure: str
    ) -> None:
        self._name = name
        self._every = every_seconds
        self._tick = tick
        self._failure = failure
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._tick()
            except Exception:
                log.exception(self._failure)
