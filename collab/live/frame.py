"""Server-to-client WebSocket frames, encoded once per broadcast.

A server's frames are not masked (RFC 6455, 5.1), so one binary message is the same bytes on every
receiver's socket: header (FIN, binary opcode, length) then payload. A room hands the same `bytes` object
to each of its receivers in a row, so remembering the last payload framed (by identity) frames a broadcast
once instead of once per receiver. The server's WebSocket protocol (`server/strangers.py`) writes these
bytes straight to a connection's transport.
"""

from __future__ import annotations

import asyncio
import struct

_FIN_BINARY = 0x82  # FIN, no RSV bits (no extension), opcode 2
# Above this a frame is written as header and payload (one writev, no copy), and not remembered: a large
# sync step 2 goes to one joiner, and keeping its copy alive until the next broadcast would only cost memory.
SHARED_MAX_BYTES = 64 * 1024


def binary_header(length: int) -> bytes:
    """The header of an unmasked, final binary frame of `length` payload bytes."""
    if length < 126:
        return bytes((_FIN_BINARY, length))
    if length < 65536:
        return struct.pack("!BBH", _FIN_BINARY, 126, length)
    return struct.pack("!BBQ", _FIN_BINARY, 127, length)


def binary_frame(payload: bytes) -> bytes:
    """One unmasked, final binary frame carrying `payload`."""
    return binary_header(len(payload)) + payload


class FrameWriter:
    """Writes binary frames to transports, framing a payload once however many transports it goes to:
    the last payload framed is remembered with its frame. One per server (one event loop)."""

    __slots__ = ("_frame", "_payload")

    def __init__(self) -> None:
        self._payload = b""
        self._frame = binary_frame(b"")

    def write(self, transport: asyncio.WriteTransport, payload: bytes) -> None:
        if payload is not self._payload:
            if len(payload) > SHARED_MAX_BYTES:
                transport.writelines((binary_header(len(payload)), payload))
                return
            self._payload = payload
            self._frame = binary_frame(payload)
        transport.write(self._frame)
