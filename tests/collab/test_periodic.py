"""A background loop (collab/periodic.py): ticks until stopped, and a failing tick does not end it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from collab.periodic import Periodic, stop_tasks

pytestmark = pytest.mark.unit


async def test_ticks_go_on_after_a_failure_and_stop_when_told(caplog: pytest.LogCaptureFixture) -> None:
    ticks = 0
    third = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 1:
            raise RuntimeError("one bad round")
        if ticks == 3:
            third.set()

    periodic = Periodic("test-loop", 0, tick, "housekeeping failed")
    with caplog.at_level(logging.ERROR, logger="collab.periodic"):
        periodic.start()
        await asyncio.wait_for(third.wait(), 5)
        await periodic.stop()
    assert ticks >= 3
    assert [record.getMessage() for record in caplog.records] == ["housekeeping failed"]
    await periodic.stop()  # stopping twice is harmless


async def test_a_task_that_swallowed_its_cancel_is_cancelled_again() -> None:
    """On Python 3.11 a cancel that comes as a timeout inside the task expires becomes that timeout's
    TimeoutError (redis-py's reads with a timeout): the task goes on as if nothing had happened."""
    swallowed = asyncio.Event()

    async def loop_that_swallows_one_cancel() -> None:
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if swallowed.is_set():
                    raise
                swallowed.set()

    task = asyncio.create_task(loop_that_swallows_one_cancel())
    await asyncio.sleep(0)  # the task is waiting
    stopping = asyncio.create_task(stop_tasks(task))
    await asyncio.wait({stopping}, timeout=5)  # not wait_for: cancelling `stopping` would cancel the task
    assert stopping.done(), "stop_tasks waits for ever on a task that swallowed its cancel"
    assert swallowed.is_set() and task.cancelled()
