"""The feed's wire format: Server-Sent Events, framed once per event and shared by every stream.

A thousand subscribers of one collection receive the same bytes, so each event is turned into JSON and
framed (by sse-starlette's `ServerSentEvent`) once, when it is published; what one publish hands to each
stream is a single `Chunk` holding all of its events already joined. A stream then writes whatever queued
up for it with one send, however many events that is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sse_starlette.sse import ServerSentEvent


@dataclass(frozen=True, slots=True)
class FeedEvent:
    id: int | None  # None: not stored (presence, reset), so no `id:` line and nothing to resume from
    type: str
    data: dict[str, Any]
    frame: bytes


def feed_event(event_id: int | None, event_type: str, data: dict[str, Any]) -> FeedEvent:
    framed = ServerSentEvent(
        data=json.dumps(data, separators=(",", ":")),
        event=event_type,
        id=None if event_id is None else str(event_id),
    ).encode()
    return FeedEvent(event_id, event_type, data, framed)


@dataclass(frozen=True, slots=True)
class Chunk:
    """Events pushed together, in id order, with their frames joined for one write."""

    events: tuple[FeedEvent, ...]
    frame: bytes
    oldest_id: int | None  # of the stored events in it; None when it holds none
    newest_id: int | None

    def frame_after(self, sent: int) -> bytes:
        """The frames a stream that already sent every id up to `sent` still needs."""
        if self.oldest_id is None or self.oldest_id > sent:
            return self.frame
        return b"".join(event.frame for event in self.events if event.id is None or event.id > sent)


def chunk_of(events: Iterable[FeedEvent]) -> Chunk:
    held = tuple(events)
    ids = [event.id for event in held if event.id is not None]
    return Chunk(
        held, b"".join(event.frame for event in held), min(ids) if ids else None, max(ids) if ids else None
    )


HEARTBEAT = Chunk((), ServerSentEvent(comment="heartbeat").encode(), None, None)
"""A comment line: keeps an idle stream open through proxies, and finds connections that went away."""
