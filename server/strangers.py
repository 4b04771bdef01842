"""Connections that keep the server waiting: time-outs for each wait, and a bound on how many may wait.

uvicorn closes an idle keep-alive connection, but nothing else: a socket that never sends a request line,
headers that come a byte at a time (slowloris), a body that never ends and an upgraded WebSocket that
never speaks all stayed open for as long as the client liked (70 s+ measured), and 1,100 of them used up
1,024 file descriptors, which stopped health checks and logins.

A connection is *waiting* while the server waits for its client: from the accept until its request's
line and headers are in (again between requests, on a keep-alive connection), while the request's body
arrives, and from a WebSocket upgrade until its first message. Each wait has a deadline, past which the
connection is closed. At most `max_pending` connections wait at once: one more pushes out the one that
has waited longest among those of the client address with the most waiting (nginx treats idle keep-alive
connections alike, without the fairness). So a flood of sockets from one address closes its own sockets,
not the health check or the login that another address sends at once; an honest browser whose idle
keep-alive connection goes simply opens another. Floods from many addresses at once, or through a proxy,
need limits in front of the server (a firewall, the proxy's own).

A complete request belongs to the application, whose own checks and limits apply (an event stream lasts
as long as its session); so does a WebSocket once it has sent a message (it was authenticated at the
handshake).

This sits in uvicorn's protocols because nothing above them sees a connection before its headers are in.
The WebSocket protocol class is also where collab writes binary frames itself
(`GuardedWebSocketProtocol.send`, `collab/live/frame.py`): one subclass of uvicorn's protocol, one place
for what collab changes in it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from collab import close_codes
from collab.live.frame import FrameWriter

if TYPE_CHECKING:
    from uvicorn._types import ASGISendEvent

_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)


class _HeadersTooLarge(Exception):
    """Raised inside the parser; httptools makes it a parser error, and `send_400_response` answers 431."""


@dataclass(frozen=True)
class WaitLimits:
    header_seconds: float
    body_seconds: float
    first_message_seconds: float
    max_pending: int
    max_header_bytes: int


class Waiting(Protocol):
    @property
    def address(self) -> str:
        """The client's address (the peer of the socket)."""

    def time_out(self) -> None:
        """Close the connection: it waited too long, or others waited less."""


class StrangerGuard:
    """The connections the server is waiting for, by client address and oldest first, each with the timer
    of its deadline."""

    def __init__(self, limits: WaitLimits) -> None:
        self.limits = limits
        self._waiting: dict[str, OrderedDict[Waiting, asyncio.TimerHandle]] = {}
        self.count = 0

    def wait(self, connection: Waiting, seconds: float) -> None:
        """`connection` now waits for its client, for at most `seconds` (as the newest of the waiting)."""
        self.done(connection)
        timer = asyncio.get_running_loop().call_later(seconds, self._expire, connection)
        self._waiting.setdefault(connection.address, OrderedDict())[connection] = timer
        self.count += 1
        if self.count > self.limits.max_pending:
            # At most one queue per waiting connection, so this scan is bounded by max_pending.
            busiest = max(self._waiting.values(), key=len)
            self._expire(next(iter(busiest)))

    def done(self, connection: Waiting) -> None:
        """The client gave what was awaited, or the connection is gone."""
        queue = self._waiting.get(connection.address)
        timer = queue.pop(connection, None) if queue is not None else None
        if timer is None:
            return
        timer.cancel()
        self.count -= 1
        if not queue:
            del self._waiting[connection.address]

    def _expire(self, connection: Waiting) -> None:
        self.done(connection)
        connection.time_out()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines for the request's headers and body, and a header cap."""

    guard: ClassVar[StrangerGuard]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.address = self.client[0] if self.client else ""
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.done(self)
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._phase = "headers"
        self._header_bytes = 0
        self._parsed_header_bytes = 0
        self.guard.wait(self, self.guard.limits.header_seconds)

    def data_received(self, data: bytes) -> None:
        if self._phase == "headers":
            self._header_bytes += len(data)
        super().data_received(data)
        # Still without the end of the headers after this much: httptools would keep collecting them.
        if self._phase == "headers" and self._header_bytes > self.guard.limits.max_header_bytes:
            self.send_400_response("")

    # Headers that arrive whole in one read never look incomplete: they are counted as they are parsed.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def _count_header_bytes(self, count: int) -> None:
        self._parsed_header_bytes += count
        if self._parsed_header_bytes > self.guard.limits.max_header_bytes:
            raise _HeadersTooLarge

    def send_400_response(self, msg: str) -> None:
        if self.transport.is_closing():
            return
        if max(self._header_bytes, self._parsed_header_bytes) > self.guard.limits.max_header_bytes:
            self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._header_bytes = 0  # what follows in this read is body
        super().on_headers_complete()
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # handle_websocket_upgrade follows, and the WebSocket protocol takes the wait over
        self._phase = "body"
        self.guard.wait(self, self.guard.limits.body_seconds)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._phase != "body":
            return  # an upgrade: handle_websocket_upgrade follows
        if self.cycle.response_complete and not self.transport.is_closing():
            self._await_headers()  # answered before the body was all in (413, 415): the next request
        else:
            self._phase = "app"
            self.guard.done(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # An answer sent before the whole body came (413, 401) keeps the body's deadline while uvicorn
        # discards the rest; a pipelined request that started keeps the connection with the application.
        if self._phase == "app" and self.cycle.response_complete and not self.transport.is_closing():
            self._await_headers()

    def handle_websocket_upgrade(self) -> None:
        self.guard.done(self)
        super().handle_websocket_upgrade()

    def time_out(self) -> None:
        # Nothing is sent: there is no request to answer yet, or the application is still reading one
        # (it sees a disconnect).
        self.transport.close()


class _Inbox:
    """What uvicorn's protocol queues for the application: `asyncio.Queue`'s `put_nowait`, `get` and
    `empty`, for its one reader (the ASGI `receive`), without the three deques and the event a Queue
    allocates up front (2.5 KB of each idle connection's memory, issue 17). uvicorn pauses reading while
    a message waits, so it holds one or two messages."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("a WebSocket's messages are received by one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class _Flag:
    """`asyncio.Event` as uvicorn's protocol uses it for `writable` (set unless the transport is paused),
    with its waiters' list made only when someone waits: an Event's deque is 0.6 KB per idle connection."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, closed unless its first message comes within the deadline; binary
    messages go out as frames framed once per broadcast (`frame_writer`). What each connection keeps
    while idle is trimmed (issue 17): a lighter receive queue and `writable` flag, and the handshake's
    request and response let go once the handshake is answered."""

    guard: ClassVar[StrangerGuard]
    frame_writer: ClassVar[FrameWriter]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]  # the part of asyncio.Queue uvicorn uses
        self.writable = _Flag()  # type: ignore[assignment]  # the part of asyncio.Event uvicorn uses
        self.writable.set()

    async def send(self, message: ASGISendEvent) -> None:
        # A binary message on an open connection whose transport takes data now is written as a frame
        # framed once for all receivers (collab/live/frame.py), past websockets' per-message framing: that
        # and uvicorn's checks were most of the Python cost of a send. Anything else (the handshake, text,
        # close, a paused or closing transport, an extension that would rewrite frames) is uvicorn's.
        if message["type"] == "websocket.send" and self._takes_frames():
            payload = message.get("bytes")
            if payload is not None:
                self.frame_writer.write(self.transport, payload)
                return
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # uvicorn reads them only until the handshake is answered; kept, they were 3 KB per connection
            # (the request's headers twice over: the scope has its own list of them).
            del self.request, self.response

    def _takes_frames(self) -> bool:
        """Open both ways, not paused by flow control, and no extension negotiated. (An OPEN state implies
        the handshake was answered with 101, not with an HTTP response; a lost connection's transport is
        closing.)"""
        return (
            self.conn.state is State.OPEN
            and not self.close_sent
            and self.writable.is_set()
            and not self.transport.is_closing()
            and not self.conn.extensions
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.address = self.client[0] if self.client else ""
        self._heard = False
        self.guard.wait(self, self.guard.limits.first_message_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.done(self)
        super().connection_lost(exc)

    def send_receive_event_to_app(self) -> None:
        if not self._heard:
            self._heard = True
            self.guard.done(self)
        super().send_receive_event_to_app()

    def time_out(self) -> None:
        if self.transport.is_closing():
            return
        if self.handshake_complete and not self.close_sent and self.initial_response is None:
            # A 1xxx code: a y-websocket client that was only slow reconnects (44xx would stop it).
            self.conn.send_close(close_codes.POLICY_VIOLATION, "no message in time")
            self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()


def guarded_protocols(guard: StrangerGuard) -> tuple[type[Any], type[Any]]:
    """The HTTP and WebSocket protocol classes to give uvicorn, both reporting to `guard`."""

    class Http(GuardedHttpProtocol):
        pass

    class WebSocket(GuardedWebSocketProtocol):
        pass

    Http.guard = guard
    WebSocket.guard = guard
    WebSocket.frame_writer = FrameWriter()
    return Http, WebSocket
