"""The bound on connections that keep the server waiting (server/strangers.py), without sockets: a flood
from one address pushes out its own oldest, never another address's; a client that answers is let go.
The time-outs themselves are measured against real sockets in tests/live/test_strangers.py."""

from __future__ import annotations

import asyncio

import pytest

from server.strangers import StrangerGuard, WaitLimits

pytestmark = pytest.mark.unit

FOREVER = 3600.0


class Waiter:
    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address
        self.timed_out = asyncio.Event()

    def time_out(self) -> None:
        self.timed_out.set()

    def __repr__(self) -> str:
        return self.name


def guard(max_pending: int) -> StrangerGuard:
    return StrangerGuard(WaitLimits(FOREVER, FOREVER, FOREVER, max_pending, 64 * 1024))


def timed_out(waiters: list[Waiter]) -> list[Waiter]:
    return [waiter for waiter in waiters if waiter.timed_out.is_set()]


async def test_one_over_the_bound_pushes_out_the_oldest_of_the_busiest_address() -> None:
    strangers = guard(max_pending=4)
    login = Waiter("login", "10.0.0.1")
    flood = [Waiter(f"flood{n}", "10.0.0.2") for n in range(5)]
    strangers.wait(login, FOREVER)
    for waiter in flood:
        strangers.wait(waiter, FOREVER)
    assert timed_out([login, *flood]) == flood[:2]  # the flood closed its own sockets, the login waits
    assert strangers.count == 4


async def test_a_client_that_answers_is_no_longer_waiting() -> None:
    strangers = guard(max_pending=2)
    first, second, third = Waiter("first", "a"), Waiter("second", "a"), Waiter("third", "a")
    strangers.wait(first, FOREVER)
    strangers.wait(second, FOREVER)
    strangers.done(first)
    strangers.done(first)  # twice (the request, then the connection closing) is harmless
    strangers.wait(third, FOREVER)
    assert timed_out([first, second, third]) == [] and strangers.count == 2


async def test_waiting_again_restarts_the_deadline_as_the_newest() -> None:
    strangers = guard(max_pending=2)
    keep_alive, other, new = Waiter("keep_alive", "a"), Waiter("other", "a"), Waiter("new", "a")
    strangers.wait(keep_alive, FOREVER)
    strangers.wait(other, FOREVER)
    strangers.wait(keep_alive, FOREVER)  # its next request: it is now the newest waiting
    strangers.wait(new, FOREVER)
    assert timed_out([keep_alive, other, new]) == [other]


async def test_a_deadline_closes_the_connection() -> None:
    strangers = guard(max_pending=10)
    slow = Waiter("slow", "a")
    strangers.wait(slow, 0.01)
    await asyncio.wait_for(slow.timed_out.wait(), 5)
    assert strangers.count == 0


# --- what each WebSocket connection keeps: the protocol's lighter receive queue and writable flag -----------


async def test_the_inbox_hands_messages_to_its_reader_in_order() -> None:
    from server.strangers import _Inbox

    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader waits on an empty inbox
    inbox.put_nowait("connect")
    inbox.put_nowait("receive")
    assert await reader == "connect" and inbox.qsize() == 1 and not inbox.empty()
    assert await inbox.get() == "receive" and inbox.empty()
    cancelled = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    inbox.put_nowait("disconnect")  # a reader that gave up leaves nothing behind
    assert await asyncio.wait_for(inbox.get(), 1) == "disconnect"


async def test_the_flag_wakes_every_waiter_when_set_again() -> None:
    from server.strangers import _Flag

    flag = _Flag()
    flag.set()
    assert flag.is_set() and await flag.wait()
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True]
