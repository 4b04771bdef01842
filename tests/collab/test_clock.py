"""The clock seam (collab/clock.py): tests move time; production reads the monotonic clock."""

from __future__ import annotations

import time

import pytest

from collab.clock import SYSTEM_CLOCK, FakeClock

pytestmark = pytest.mark.unit


def test_fake_time_moves_only_when_told() -> None:
    clock = FakeClock(start=10.0)
    assert clock.monotonic() == clock.monotonic() == 10.0
    clock.advance(2.5)
    assert clock.monotonic() == 12.5


def test_system_time_is_monotonic_time() -> None:
    before = time.monotonic()
    now = SYSTEM_CLOCK.monotonic()
    assert before <= now <= time.monotonic()
