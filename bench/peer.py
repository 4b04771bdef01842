"""One simulated client: a y-websocket peer on a bare asyncio protocol.

Thousands of these share one event loop, so the receive path is synchronous: ``data_received`` feeds the
``websockets`` Sans-I/O ``ClientProtocol`` and handles each frame in place, without a task, future or
queue per message. A peer keeps no live Yjs document: it recognises each forwarded update (by its exact
bytes, or by decoding which writer's clocks it carries when the server re-encoded or merged it), records the
latency, and keeps the payload so that convergence is checked on real documents after the run.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from time import perf_counter
from typing import Any, cast

from pycrdt import Doc, Map, TransactionEvent, merge_updates
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

from bench.protocol import (
    EMPTY_UPDATE,
    MESSAGE_AUTH,
    MESSAGE_SAVED,
    MESSAGE_SYNC,
    SYNC_STEP1,
    SYNC_STEP2,
    DecodeError,
    decode_state_vector,
    read_var_bytes,
    sync_message,
    update_message,
    update_ranges,
)

FIELD_KEY = "name"  # a field of the sample collection: anything else is corrected away
"""The map key every writer sets: map sets stay cheap for yrs, where appending to one text does not."""


class Recorder:
    """What the peers of one run measure. Only updates *sent* inside the window count for latency."""

    def __init__(self) -> None:
        self.window_start = math.inf
        self.window_end = math.inf
        self.updates_in = 0
        self.messages_out = 0
        self.fanout_seconds = array("d")
        self.saved_seconds = array("d")
        self.forwarded_unchanged = 0
        self.forwarded_reencoded = 0
        self.out_of_order = 0
        self.undecodable = 0
        self.auth_messages = 0


class Room:
    def __init__(self, name: str) -> None:
        self.name = name
        self.peers: list[Peer] = []
        self.writers: list[Writer] = []
        self.sent: dict[bytes, tuple[Writer, int]] = {}
        """Each sent message's exact bytes → (writer, sequence number), for the fast path."""
        self.writer_by_client: dict[int, Writer] = {}


class Writer:
    """The writing side of a peer: its own pycrdt document, one map set per update.

    The document holds nothing but these sets, so update number ``seq`` is the struct at clock ``seq``.
    """

    def __init__(self, room: Room, slot: int, recorder: Recorder) -> None:
        self.room = room
        self.slot = slot
        self.recorder = recorder
        self.doc: Doc[Any] = Doc()
        self.fields = self.doc.get("fields", type=Map)
        self.client_id: int = self.doc.client_id
        self._last_update = b""
        self._subscription = self.doc.observe(self._capture)
        self.updates: list[bytes] = []
        self.send_times = array("d")
        self.saved_clock = 0
        self.saw_saved = False
        self.peer: Peer | None = None

    def _capture(self, event: TransactionEvent) -> None:
        self._last_update = event.update

    def send_next(self) -> None:
        assert self.peer is not None
        seq = len(self.updates)
        self.fields[FIELD_KEY] = f"v{seq}"
        update = self._last_update
        message = update_message(update)
        self.updates.append(update)
        self.room.sent[message] = (self, seq)
        now = perf_counter()
        self.send_times.append(now)
        recorder = self.recorder
        if recorder.window_start <= now < recorder.window_end:
            recorder.updates_in += 1
        self.peer.send(message)

    def on_saved(self, clock: int, now: float) -> None:
        self.saw_saved = True
        if clock <= self.saved_clock:
            return
        recorder = self.recorder
        start, end = recorder.window_start, recorder.window_end
        samples, times = recorder.saved_seconds, self.send_times
        for seq in range(self.saved_clock, min(clock, len(times))):
            sent = times[seq]
            if start <= sent < end:
                samples.append(now - sent)
        self.saved_clock = clock

    def state_update(self) -> bytes:
        """What this writer has sent so far, as one update (the answer to a server's sync step 1)."""
        return merge_updates(*self.updates) if self.updates else EMPTY_UPDATE


class Peer(asyncio.Protocol):
    def __init__(
        self, room: Room, url: str, recorder: Recorder, *, origin: str | None, deflate: bool
    ) -> None:
        self.room = room
        self.url = url
        self.recorder = recorder
        self.writer: Writer | None = None
        self.ws = ClientProtocol(
            parse_uri(url),
            origin=Origin(origin) if origin else None,
            extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
            max_size=None,
        )
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.synced: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.next_clock: list[int] = []
        self.delivered = 0
        self.received: list[bytes] = []
        """Every document payload received (initial sync step 2, then updates), in order."""
        self.close_code: int | None = None
        self.deflate_negotiated = False
        self._fragments: list[bytes] = []

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = perf_counter()
        ws = self.ws
        ws.receive_data(data)
        events = ws.events_received()
        if writes := ws.data_to_send():  # pongs, close frames
            self._write(writes)
        for event in events:
            if type(event) is Frame:
                opcode = event.opcode
                if opcode is Opcode.BINARY or opcode is Opcode.CONT:
                    if event.fin and not self._fragments:
                        self._on_message(bytes(event.data), now)
                    else:
                        self._fragments.append(bytes(event.data))
                        if event.fin:
                            message = b"".join(self._fragments)
                            self._fragments.clear()
                            self._on_message(message, now)
                elif opcode is Opcode.CLOSE and ws.close_rcvd is not None:
                    self.close_code = ws.close_rcvd.code
            elif isinstance(event, Response):
                self._on_response()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection closed (code {self.close_code})" if self.close_code else "connection lost"
        if not self.synced.done():
            detail = self.ws.handshake_exc or exc
            self.synced.set_exception(ConnectionError(f"{reason}: {detail}" if detail else reason))
        if not self.closed.done():
            self.closed.set_result(None)

    # Sending

    def send(self, message: bytes) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_binary(message)
            self._flush()

    def close(self) -> None:
        if self.ws.state is State.OPEN:
            self.ws.send_close(1000)
            self._flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        self._write(self.ws.data_to_send())

    def _write(self, chunks: list[bytes]) -> None:
        transport = self.transport
        assert transport is not None
        for chunk in chunks:
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()

    # Receiving

    def _on_response(self) -> None:
        if self.ws.handshake_exc is not None:
            if not self.synced.done():
                self.synced.set_exception(ConnectionError(str(self.ws.handshake_exc)))
            return
        self.deflate_negotiated = bool(self.ws.extensions)
        self.send(sync_message(SYNC_STEP1, self._state_vector()))

    def _state_vector(self) -> bytes:
        return self.writer.doc.get_state() if self.writer is not None else b"\x00"

    def _on_message(self, message: bytes, now: float) -> None:
        recorder = self.recorder
        if recorder.window_start <= now < recorder.window_end:
            recorder.messages_out += 1
        hit = self.room.sent.get(message)
        if hit is not None:  # the server forwarded the writer's bytes unchanged
            writer, seq = hit
            recorder.forwarded_unchanged += 1
            if writer is not self.writer:
                self.received.append(writer.updates[seq])
                self._deliver(writer, seq, seq + 1, now)
            return
        kind = message[0]
        try:
            if kind == MESSAGE_SYNC:
                self._on_sync(message, now)
            elif kind == MESSAGE_SAVED:
                if self.writer is not None:
                    vector = decode_state_vector(read_var_bytes(message, 1)[0])
                    self.writer.on_saved(vector.get(self.writer.client_id, 0), now)
            elif kind == MESSAGE_AUTH:
                recorder.auth_messages += 1
        except (DecodeError, IndexError):
            recorder.undecodable += 1

    def _on_sync(self, message: bytes, now: float) -> None:
        step = message[1]
        payload = read_var_bytes(message, 2)[0]
        if step == SYNC_STEP1:
            answer = self.writer.state_update() if self.writer is not None else EMPTY_UPDATE
            self.send(sync_message(SYNC_STEP2, answer))
            return
        self.received.append(payload)
        if step == SYNC_STEP2 and not self.synced.done():
            if self.writer is not None:
                self.writer.doc.apply_update(payload)
            self.synced.set_result(None)
            return
        self.recorder.forwarded_reencoded += 1
        writer_by_client = self.room.writer_by_client
        for client, clock, length in update_ranges(payload):
            writer = writer_by_client.get(client)
            if writer is not None and writer is not self.writer:
                self._deliver(writer, clock, clock + length, now)

    def _deliver(self, writer: Writer, first: int, end: int, now: float) -> None:
        slot = writer.slot
        expected = self.next_clock[slot]
        if end <= expected:
            return  # already seen
        recorder = self.recorder
        if first > expected:
            recorder.out_of_order += 1  # a gap: a Yjs client would hold this update as pending
        start, stop, samples, times = (
            recorder.window_start,
            recorder.window_end,
            recorder.fanout_seconds,
            writer.send_times,
        )
        first = max(first, expected)
        for seq in range(first, end):
            sent = times[seq]
            if start <= sent < stop:
                samples.append(now - sent)
        self.delivered += end - first
        self.next_clock[slot] = end
