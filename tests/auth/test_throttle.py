"""Login throttling: slots taken before the password is checked, so concurrency never passes a limit.

The "hash" here is a gate every login waits on after taking its slot, opened only once all of them have
tried: the widest race there can be (every check done before any outcome is known).
"""

from __future__ import annotations

import asyncio

import pytest

from auth.attempts import MemoryAttempts
from auth.throttle import LockKey, LockKind, LoginAttempt, LoginThrottle, TooManyAttempts

pytestmark = pytest.mark.unit

WINDOW = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, per_account: int = 50) -> LoginThrottle:
    return LoginThrottle(per_account, 20, WINDOW, 5, clock=clock)


async def race(limits: LoginThrottle, logins: list[tuple[str, str]], right: bool = False) -> int:
    """Every login at once: take a slot, wait for the gate, settle. Returns how many were checked."""
    gate = asyncio.Event()
    tried = checked = 0

    async def login(email: str, address: str) -> None:
        nonlocal tried, checked
        try:
            attempt: LoginAttempt | None = await limits.reserve("default", email, address)
        except TooManyAttempts:
            attempt = None
        tried += 1
        if tried == len(logins):
            gate.set()  # the last one has tried: only now does any "hash" finish
        await gate.wait()
        if attempt is not None:
            checked += 1
            if right:
                await attempt.succeeded()

    await asyncio.gather(*(login(email, address) for email, address in logins))
    return checked


async def test_concurrent_guesses_never_pass_a_limit() -> None:
    limits = throttle(Clock())
    assert await race(limits, [("ann@example.com", "10.0.0.1")] * 60) == 5
    assert await race(limits, [(f"u{n}@example.com", "10.0.0.2") for n in range(100)]) == 20
    # The owner elsewhere is untouched by both.
    assert await race(limits, [("ann@example.com", "10.0.0.3")]) == 1


async def test_refusals_say_when_to_come_back_and_the_window_slides() -> None:
    clock = Clock()
    limits = throttle(clock)
    for _ in range(5):
        await limits.reserve("default", "ann@example.com", "10.0.0.1")
        clock.now += 60
    with pytest.raises(TooManyAttempts) as refused:
        await limits.reserve("default", "ann@example.com", "10.0.0.1")
    assert refused.value.retry_after_seconds == WINDOW - 5 * 60  # when the oldest failure expires
    clock.now += WINDOW - 5 * 60
    await limits.reserve("default", "ann@example.com", "10.0.0.1")


async def test_a_right_password_gives_the_slot_back_and_an_unanswered_one_does_not_count() -> None:
    limits = throttle(Clock())
    for _ in range(4):
        await limits.reserve("default", "ann@example.com", "10.0.0.1")
    attempt = await limits.reserve("default", "ann@example.com", "10.0.0.1")
    await attempt.succeeded()  # the pair's failures end with it
    assert await race(limits, [("ann@example.com", "10.0.0.1")] * 10) == 5
    limits = throttle(Clock())
    for _ in range(20):
        await (await limits.reserve("default", "ann@example.com", "10.0.0.1")).abandoned()
    assert await race(limits, [("ann@example.com", "10.0.0.1")] * 10) == 5


async def test_the_account_budget_slows_guessing_but_never_locks_out_a_fresh_address() -> None:
    limits = throttle(Clock(), per_account=12)
    assert await race(limits, [("ann@example.com", f"10.0.1.{n}") for n in range(3) for _ in range(5)]) == 12
    # Spent: every address gets one try from now on, a fresh one included...
    assert await race(limits, [("ann@example.com", "10.0.2.1")] * 5) == 1
    # ...which is all the owner needs.
    assert await race(limits, [("ann@example.com", "10.0.2.2")] * 5, right=True) >= 1


async def test_lockouts_are_per_tenant_and_cleared_by_key() -> None:
    limits = throttle(Clock())
    await race(limits, [("ann@example.com", "10.0.0.1")] * 6)
    await race(limits, [("ann@example.com", "10.0.0.9")])
    listed = {lockout.key.public: lockout for lockout in await limits.lockouts("default")}
    assert set(listed) == {
        "account_address:ann@example.com|10.0.0.1",
        "account_address:ann@example.com|10.0.0.9",
        "address:10.0.0.1",
        "address:10.0.0.9",
        "account:ann@example.com",
    }
    pair = listed["account_address:ann@example.com|10.0.0.1"]
    assert (pair.failures, pair.limit, pair.locked) == (5, 5, True) and pair.retry_after_seconds == WINDOW
    assert await limits.lockouts("rival") == []
    assert await limits.clear("rival", "address:10.0.0.1") is None
    assert await limits.clear("default", "account:nobody@example.com") is None
    assert await limits.clear("default", "nonsense") is None
    cleared = await limits.clear("default", pair.key.public)
    assert cleared == LockKey(LockKind.ACCOUNT_ADDRESS, "default", "ann@example.com", "10.0.0.1")
    assert await race(limits, [("ann@example.com", "10.0.0.1")] * 6) == 5


async def test_hostile_names_neither_collide_nor_grow_without_bound() -> None:
    clock = Clock()
    counter = MemoryAttempts(WINDOW)
    limits = LoginThrottle(50, 20, WINDOW, 5, counter=counter, clock=clock)
    # A tenant or email holding the key's separators cannot reach another account's counts.
    for _ in range(5):
        await limits.reserve('default", "x', "ann@example.com", "10.0.0.1")
    attempt = await limits.reserve("default", "ann@example.com", "10.0.0.1")
    await attempt.succeeded()
    await limits.reserve("default", "a" * 1_000_000 + "@example.com", "10.0.0.2")
    assert max(len(key) for key in await counter.recent(clock.now)) < 1000
    clock.now += WINDOW
    assert await counter.recent(clock.now) == {}
