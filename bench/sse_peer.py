"""One Server-Sent Events subscriber on a raw asyncio stream, cheap enough to hold a thousand in one process.

The request is a hand-written HTTP/1.1 GET; the response body (chunked, as uvicorn streams it) is read in
large pieces, de-chunked and split into events in place. A subscriber keeps only what the benchmark needs:
each event's id with its receipt time. The JSON data of an id is parsed once for all subscribers, by the
shared ``EventBook``.

The receipt time is the kernel's: when the bytes reached this socket (``SO_TIMESTAMPNS``, on the
``CLOCK_REALTIME`` the server stamps ``at`` with), not when this process got round to reading them. A
thousand streams share one generator process, which reads them one after another; its own delay would
otherwise be counted as the server's, while real subscribers each have their own machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from array import array
from dataclasses import dataclass
from datetime import datetime

READ_BYTES = 1 << 16
HEADER_TIMEOUT_SECONDS = 30.0
_TIMESPEC = struct.Struct("@qq")
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's number; Python does not name it
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size)


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
        self.read_lag = array("d")
        """Per read: how long its newest bytes waited in the socket for this process to read them."""
        self.comments = 0
        self.ended_by_server = False
        self.last_read = 0.0
        self._socket: socket.socket | None = None
        self._ended: asyncio.Future[None] | None = None
        self._raw = bytearray()
        self._body = bytearray()
        self._chunked = True
        self._chunk_left = 0
        self._skip = 0  # bytes of the CRLF that ends a chunk, still to skip
        self._closed = False

    async def connect(self) -> None:
        """Open the stream; returns once the response headers say 200 ``text/event-stream``."""
        loop = asyncio.get_running_loop()
        sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # without it, receipt falls back to the time of reading
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        try:
            await loop.sock_connect(sock, (self.host, self.port))
        except OSError as error:
            self.close()
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
        try:
            await loop.sock_sendall(sock, ("\r\n".join(headers) + "\r\n\r\n").encode())
            async with asyncio.timeout(HEADER_TIMEOUT_SECONDS):
                received = b""
                while b"\r\n\r\n" not in received:
                    piece = await loop.sock_recv(sock, READ_BYTES)
                    if not piece:
                        raise SseError("the server closed the connection before its headers")
                    received += piece
        except (TimeoutError, OSError) as error:
            self.close()
            raise SseError(f"no response headers: {error!r}") from error
        head, _, body = received.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines if ": " in line)
        if status.split(" ")[1:2] != ["200"] or not fields.get("content-type", "").startswith(
            "text/event-stream"
        ):
            self.close()
            raise SseError(f"{status!r}, content-type {fields.get('content-type')!r}")
        self._chunked = "chunked" in fields.get("transfer-encoding", "")
        if body:
            self._take(body, time.time())

    async def run(self) -> None:
        sock = self._socket
        assert sock is not None
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        loop.add_reader(sock.fileno(), self._readable)
        try:
            await self._ended
        finally:
            loop.remove_reader(sock.fileno())
            sock.close()
        self.ended_by_server = not self._closed

    def close(self) -> None:
        self._closed = True
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)
        elif self._ended is None and self._socket is not None:
            self._socket.close()

    def _readable(self) -> None:
        sock = self._socket
        assert sock is not None and self._ended is not None
        while not self._ended.done():
            try:
                data, ancillary, _flags, _address = sock.recvmsg(READ_BYTES, _ANCILLARY_BYTES)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._ended.set_result(None)
                return
            arrival = _arrival(ancillary)
            self.read_lag.append(time.time() - arrival)
            if not self._take(data, arrival):
                self._ended.set_result(None)

    def _take(self, data: bytes, now: float) -> bool:
        """Account for bytes that arrived at `now`; False once the server ended the response."""
        self.last_read = now
        alive = True
        if self._chunked:
            self._raw += data
            alive = self._dechunk()
        else:
            self._body += data
        self._split_events(now)
        return alive

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
        if block.startswith(b"id: "):  # the server's frames start with the id: known ones need no parsing
            end = block.find(b"\n")
            known = block[4:end]
            if known.isdigit() and (event_id := int(known)) in self.book.events:
                self.ids.append(event_id)
                self.received_at.append(now)
                return
        self._parse_block(block, now)

    def _parse_block(self, block: bytes, now: float) -> None:
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


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    """The kernel's receive time of the newest bytes read, or now when it gave none."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return time.time()
