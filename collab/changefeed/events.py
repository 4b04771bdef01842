"""The feed's events as data, each framed once and shared by every stream.

A thousand subscribers of one collection receive the same bytes, so each event is turned into JSON and
framed once, when it is published; what one publish hands to each stream is a single `Chunk` holding all of
its events already joined. A stream then writes whatever queued up for it with one send, however many events
that is. The wire format belongs to the transport: a `Framer` (web's is Server-Sent Events) is handed in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class FeedEvent:
    id: int | None  # None: not stored (presence, reset), so no `id:` line and nothing to resume from
    type: str
    data: dict[str, Any]
    frame: bytes


class Framer(Protocol):
    """Turns events into the bytes a stream writes."""

    def event(self, event_id: int | None, event_type: str, data: str) -> bytes: ...

    def comment(self, text: str) -> bytes: ...


def feed_event(framer: Framer, event_id: int | None, event_type: str, data: dict[str, Any]) -> FeedEvent:
    framed = framer.event(event_id, event_type, json.dumps(data, separators=(",", ":")))
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


def heartbeat(framer: Framer) -> Chunk:
    """A chunk that only keeps idle connections (and the proxies between) from timing out."""
    return Chunk((), framer.comment("heartbeat"), None, None)


"""A comment line: keeps an idle stream open through proxies, and finds connections that went away."""
