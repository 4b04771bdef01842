"""The token bucket of WebSocket messages (collab/live/rate_limit.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from collab.clock import FakeClock
from collab.live.rate_limit import TokenBucket

pytestmark = pytest.mark.unit


def test_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock.monotonic)
    assert [bucket.allow() for _ in range(6)] == [True] * 5 + [False]
    clock.advance(0.1)  # one message's worth at 10 per second
    assert bucket.allow() and not bucket.allow()


def test_idle_time_refills_no_more_than_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=100, burst=3, clock=clock.monotonic)
    for _ in range(3):
        assert bucket.allow()
    clock.advance(3600)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_fractions_add_up() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock.monotonic)
    assert bucket.allow()
    clock.advance(0.5)
    assert not bucket.allow()
    clock.advance(0.5)
    assert bucket.allow()
