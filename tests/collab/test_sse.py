"""Feed frames and subscribers: framed once, joined per publish, written once per wake-up, bounded."""

from __future__ import annotations

import asyncio

import pytest

from collab.changefeed.events import FeedEvent, chunk_of, heartbeat
from collab.changefeed.events import feed_event as framed_event
from collab.changefeed.feed import Subscriber
from web.sse_frames import SSE

pytestmark = pytest.mark.unit

HEARTBEAT = heartbeat(SSE)


def feed_event(event_id: int | None, event_type: str, data: dict[str, object]) -> FeedEvent:
    return framed_event(SSE, event_id, event_type, data)


def test_an_event_is_framed_as_server_sent_events() -> None:
    event = feed_event(7, "record.updated", {"record": "r1", "fields": {"notes": "two\nlines"}})
    assert event.frame == (
        b'id: 7\r\nevent: record.updated\r\ndata: {"record":"r1","fields":{"notes":"two\\nlines"}}\r\n\r\n'
    )
    assert feed_event(None, "presence", {"count": 0}).frame.startswith(b"event: presence\r\n")
    assert HEARTBEAT.frame == b": heartbeat\r\n\r\n"


def test_a_chunk_leaves_out_what_the_stream_already_sent() -> None:
    events = [feed_event(n, "record.updated", {"n": n}) for n in (3, 4, 5)]
    chunk = chunk_of([*events, feed_event(None, "presence", {})])
    assert (chunk.oldest_id, chunk.newest_id) == (3, 5)
    assert chunk.frame_after(2) == chunk.frame
    assert chunk.frame_after(4) == events[2].frame + feed_event(None, "presence", {}).frame
    assert chunk.frame_after(5) == feed_event(None, "presence", {}).frame


async def test_a_subscriber_hands_over_everything_queued_at_once() -> None:
    subscriber = Subscriber("t", "c", "s")
    waiting = asyncio.create_task(subscriber.next_chunks())
    await asyncio.sleep(0)  # let it start waiting: nothing is queued yet
    assert not waiting.done()
    first, second = chunk_of([feed_event(1, "a", {})]), chunk_of([feed_event(2, "a", {})])
    subscriber.push(first)
    subscriber.push(second)
    assert await asyncio.wait_for(waiting, 1) == [first, second]
    subscriber.push(HEARTBEAT)
    subscriber.end()
    assert await subscriber.next_chunks() == [HEARTBEAT]  # an ordinary end still sends what is queued
    assert await subscriber.next_chunks() is None


async def test_a_subscriber_that_falls_too_far_behind_is_ended_not_skipped() -> None:
    subscriber = Subscriber("t", "c", "s")
    for n in range(1, 1002):
        subscriber.push(chunk_of([feed_event(n, "a", {})]))
    assert subscriber.ended
    assert await subscriber.next_chunks() is None  # the client resumes by id instead


async def test_an_ended_session_gets_nothing_more() -> None:
    subscriber = Subscriber("t", "c", "s")
    subscriber.push(chunk_of([feed_event(1, "a", {})]))
    subscriber.end(drop_queued=True)
    subscriber.push(chunk_of([feed_event(2, "a", {})]))
    assert await subscriber.next_chunks() is None
