"""The ASGI response of one feed stream: what queued for its subscriber, written with one send per wake-up.

Each open stream costs a coroutine, one task that waits for the client to go away, and its subscriber's
queue: no timers (the feed pushes one shared heartbeat to every stream) and no per-send task scopes, so a
thousand idle streams stay small and a publish reaching them all is a thousand writes, not one per event.
Frames come ready-made from `collab.changefeed.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from collab.changefeed.events import FeedEvent
from collab.changefeed.feed import Subscriber

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on instead of buffering the response
]


class SseStream(Response):
    """Writes `opening` (the backlog a resuming client missed, then presence) and then the live chunks.

    `sent` is the newest event id the client has; stored events up to it are not written again (they can
    be both in the backlog and queued live, since the subscriber listens from before the backlog is read).
    """

    def __init__(
        self,
        subscriber: Subscriber,
        sent: int,
        opening: AsyncIterator[FeedEvent],
        finished: Callable[[], None],
    ) -> None:
        self.subscriber = subscriber
        self.sent = sent
        self.opening = opening
        self.finished = finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.get_running_loop().create_task(self._until_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await self._write(send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self.finished()

    async def _write(self, send: Send) -> None:
        subscriber = self.subscriber
        sent = self.sent
        async for event in self.opening:
            if subscriber.ended:
                return
            if event.id is None or event.id > sent:
                await send({"type": "http.response.body", "body": event.frame, "more_body": True})
            if event.type == "reset":
                sent = event.data["newest"]
            elif event.id is not None:
                sent = max(sent, event.id)
        while (chunks := await subscriber.next_chunks()) is not None:
            body = b"".join(chunk.frame_after(sent) for chunk in chunks)
            sent = max([sent, *(chunk.newest_id for chunk in chunks if chunk.newest_id is not None)])
            if body:
                await send({"type": "http.response.body", "body": body, "more_body": True})

    async def _until_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.subscriber.end(drop_queued=True)
