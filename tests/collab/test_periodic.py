"""A background loop (collab/periodic.py): ticks until stopped, and a failing tick does not end it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from collab.periodic import Periodic

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
