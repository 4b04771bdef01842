"""The feed's frames on the wire: Server-Sent Events, written by sse-starlette's `ServerSentEvent`."""

from __future__ import annotations

from sse_starlette.sse import ServerSentEvent


class SseFramer:
    """`collab.changefeed.events.Framer` for `text/event-stream`."""

    def event(self, event_id: int | None, event_type: str, data: str) -> bytes:
        return ServerSentEvent(
            data=data, event=event_type, id=None if event_id is None else str(event_id)
        ).encode()

    def comment(self, text: str) -> bytes:
        return ServerSentEvent(comment=text).encode()


SSE = SseFramer()
