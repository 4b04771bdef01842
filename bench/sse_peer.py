"""One Server-Sent Events subscriber on a raw asyncio stream, cheap enough to hold a thousand in one process.

The request is a hand-written HTTP/1.1 GET; the response body (chunked, as uvicorn streams it) is read in
large pieces, de-chunked and split into events in place. A subscriber keeps only what the benchmark needs:
each event's id with its receipt time (``time.time()``, the clock the server stamps ``at`` with). The JSON
data of an id is parsed once for all subscribers, by the shared ``EventBook``.
"""

from __future__ import annotations

import asyncio
import json
import time
from array import array
from dataclasses import dataclass
from datetime import datetime

READ_BYTES = 1 << 16
HEADER_TIMEOUT_SECONDS = 30.0


class SseError(RuntimeError):
    """The stream could not be opened (refused, not 200, not an event stream); the message says why."""


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    type: str
    at: float
    """The event's ``at`` as a POSIX time, or NaN when it has none."""


class EventBook:
    """Every event id seen by any subscriber, with its type and publish time: each payload parsed once."""

    def __init__(self) -> None:
        self.events: dict[int, PublishedEvent] = {}
        self.unidentified: dict[str, int] = {}
        """Events without an id (``presence``, ``reset``), by type."""

    def note(self, event_id: int, kind: str, data: bytes) -> None:
        if event_id not in self.events:
            self.events[event_id] = PublishedEvent(kind, _posix_time(data))


def _posix_time(data: bytes) -> float:
    try:
        at = json.loads(data).get("at")
        return datetime.fromisoformat(at).timestamp() if isinstance(at, str) else float("nan")
    except (ValueError, AttributeError):
        return float("nan")


class SseSubscriber:
    """``GET path`` with a bearer token; ``run()`` reads until the server ends the stream or ``close()``."""

    def __init__(
        self, host: str, port: int, path: str, token: str, book: EventBook, last_event_id: int | None = None
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.token = token
        self.book = book
        self.last_event_id = last_event_id
        self.ids = array("q")
        self.received_at = array("d")
        self.comments = 0
        self.ended_by_server = False
        self.last_read = 0.0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._raw = bytearray()
        self._body = bytearray()
        self._chunked = True
        self._chunk_left = 0
        self._skip = 0  # bytes of the CRLF that ends a chunk, still to skip
        self._closed = False

    async def connect(self) -> None:
        """Open the stream; returns once the response headers say 200 ``text/event-stream``."""
        try:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except OSError as error:
            raise SseError(f"connect to {self.host}:{self.port}: {error}") from error
        headers = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Authorization: Bearer {self.token}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
        ]
        if self.last_event_id is not None:
            headers.append(f"Last-Event-ID: {self.last_event_id}")
        self._writer.write(("\r\n".join(headers) + "\r\n\r\n").encode())
        try:
            head = await asyncio.wait_for(self._reader.readuntil(b"\r\n\r\n"), HEADER_TIMEOUT_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError) as error:
            self.close()
            raise SseError(f"no response headers: {error!r}") from error
        status, *lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
        if status.split(" ")[1:2] != ["200"] or not fields.get("content-type", "").startswith(
            "text/event-stream"
        ):
            self.close()
            raise SseError(f"{status!r}, content-type {fields.get('content-type')!r}")
        self._chunked = "chunked" in fields.get("transfer-encoding", "")

    async def run(self) -> None:
        reader = self._reader
        assert reader is not None
        try:
            while data := await reader.read(READ_BYTES):
                self.last_read = now = time.time()
                if self._chunked:
                    self._raw += data
                    if not self._dechunk():
                        break
                else:
                    self._body += data
                self._split_events(now)
        except OSError:
            pass
        self.ended_by_server = not self._closed

    def close(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.transport.abort()

    def _dechunk(self) -> bool:
        """Move the chunk payloads of ``_raw`` into ``_body``; False at the last (empty) chunk."""
        raw, pos = self._raw, 0
        alive = True
        while True:
            if self._chunk_left:
                take = min(self._chunk_left, len(raw) - pos)
                self._body += raw[pos : pos + take]
                pos += take
                self._chunk_left -= take
                if self._chunk_left:
                    break
                self._skip = 2
            if self._skip:
                skipped = min(self._skip, len(raw) - pos)
                pos += skipped
                self._skip -= skipped
                if self._skip:
                    break
            end = raw.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(raw[pos:end].split(b";", 1)[0], 16)
            pos = end + 2
            if size == 0:
                alive = False
                break
            self._chunk_left = size
        del raw[:pos]
        return alive

    def _split_events(self, now: float) -> None:
        body = self._body
        keep = 1 if body.endswith(b"\r") else 0  # a CRLF split across reads
        text = bytes(body[: len(body) - keep]).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, rest = text.split(b"\n\n")
        del body[: len(body) - keep]
        body[:0] = rest
        for block in blocks:
            self._on_block(block, now)

    def _on_block(self, block: bytes, now: float) -> None:
        event_id: int | None = None
        kind = b"message"
        data: list[bytes] = []
        for line in block.split(b"\n"):
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"id":
                event_id = int(value) if value else None
            elif name == b"event":
                kind = value
            elif not name:
                self.comments += 1  # a heartbeat
        if not data:
            return
        if event_id is None:
            unidentified = self.book.unidentified
            unidentified[kind.decode()] = unidentified.get(kind.decode(), 0) + 1
            return
        self.book.note(event_id, kind.decode(), b"\n".join(data))
        self.ids.append(event_id)
        self.received_at.append(now)
