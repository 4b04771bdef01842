"""The y-websocket wire format as pure functions, decoded strictly.

pycrdt's own decoder reads past the end of a truncated frame without complaint; every read here is bounded
and raises `MalformedMessage`, so a bad frame closes one connection and nothing else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from collab.errors import MalformedMessage

SYNC = 0
AWARENESS = 1
AUTH = 2
QUERY_AWARENESS = 3
SAVED = 100
# collab's extension: something the server did about this connection's own edit, as a JSON object
# {"kind": "corrected", "fields": {key: reason}}; clients that do not know the type ignore it.
NOTICE = 101

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2

AUTH_PERMISSION_DENIED = 0

# Enough for any 53-bit client id or clock; a longer var-int is garbage, not a big number.
_MAX_VAR_UINT_BYTES = 8


def write_var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def write_var_string(text: str) -> bytes:
    return write_var_bytes(text.encode())


class Reader:
    """A bounded cursor over one frame."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value = 0
        shift = 0
        for _ in range(_MAX_VAR_UINT_BYTES):
            if self.pos >= len(self.data):
                raise MalformedMessage("truncated var-int")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise MalformedMessage("var-int too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise MalformedMessage("truncated byte array")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode()
        except UnicodeDecodeError as exc:
            raise MalformedMessage("string is not UTF-8") from exc

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise MalformedMessage("trailing bytes after message")


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """Sync step 2 or a plain update: both carry an update to apply."""

    update: bytes
    step2: bool


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message type the server has no use for (auth from a client, saved, unknown extensions)."""

    message_type: int


Message = SyncStep1 | SyncUpdate | AwarenessMessage | QueryAwareness | Ignored


def decode_message(frame: bytes) -> Message:
    # Most frames are document updates small enough for a one-byte length: read without a `Reader`.
    if len(frame) > 2 and frame[0] == SYNC and frame[1] in (SYNC_STEP2, SYNC_UPDATE) and frame[2] < 0x80:
        if len(frame) - 3 < frame[2]:
            raise MalformedMessage("truncated byte array")
        if len(frame) - 3 > frame[2]:
            raise MalformedMessage("trailing bytes after message")
        return SyncUpdate(frame[3:], step2=frame[1] == SYNC_STEP2)
    reader = Reader(frame)
    message_type = reader.var_uint()
    message: Message
    if message_type == SYNC:
        step = reader.var_uint()
        if step == SYNC_STEP1:
            message = SyncStep1(reader.var_bytes())
        elif step in (SYNC_STEP2, SYNC_UPDATE):
            message = SyncUpdate(reader.var_bytes(), step2=step == SYNC_STEP2)
        else:
            raise MalformedMessage(f"unknown sync step {step}")
    elif message_type == AWARENESS:
        message = AwarenessMessage(reader.var_bytes())
    elif message_type == QUERY_AWARENESS:
        message = QueryAwareness()
    else:
        return Ignored(message_type)
    reader.finish()
    return message


def sync_step1(state_vector: bytes) -> bytes:
    return bytes((SYNC, SYNC_STEP1)) + write_var_bytes(state_vector)


def sync_step2(update: bytes) -> bytes:
    return bytes((SYNC, SYNC_STEP2)) + write_var_bytes(update)


def sync_update(update: bytes) -> bytes:
    return bytes((SYNC, SYNC_UPDATE)) + write_var_bytes(update)


def awareness(payload: bytes) -> bytes:
    return bytes((AWARENESS,)) + write_var_bytes(payload)


def saved(state_vector: bytes) -> bytes:
    return bytes((SAVED,)) + write_var_bytes(state_vector)


def notice(body: dict[str, Any]) -> bytes:
    return bytes((NOTICE,)) + write_var_string(json.dumps(body, separators=(",", ":")))


def permission_denied(reason: str) -> bytes:
    return bytes((AUTH, AUTH_PERMISSION_DENIED)) + write_var_string(reason)


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: dict[str, Any] | None  # None: the client left


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: valid JSON syntax, but no browser or database can hold it
        raise ValueError("number out of range")
    return value


def _double_int(text: str) -> int:
    if len(text.lstrip("-")) > 308:  # beyond any double: a browser would read Infinity
        raise ValueError("number out of range")
    return int(text)


# Strict JSON: no NaN or Infinity (json.loads accepts them by default), no numbers that overflow a double.
_JSON = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_double_int)


def decode_awareness(payload: bytes) -> list[AwarenessEntry]:
    """Decode an awareness payload; any state that is not a JSON object (or null) is `MalformedMessage`.

    Nesting deeper than the interpreter's recursion limit is refused too, never an internal error."""
    reader = Reader(payload)
    entries = []
    for _ in range(reader.var_uint()):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        raw = reader.var_string()
        try:
            state = _JSON.decode(raw)
        except (ValueError, RecursionError) as exc:
            raise MalformedMessage("awareness state is not JSON") from exc
        if state is not None and not isinstance(state, dict):
            raise MalformedMessage("awareness state is not an object")
        entries.append(AwarenessEntry(client_id, clock, state))
    reader.finish()
    return entries


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        parts.append(write_var_uint(entry.client_id))
        parts.append(write_var_uint(entry.clock))
        parts.append(write_var_string(json.dumps(entry.state, separators=(",", ":"))))
    return b"".join(parts)


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    reader = Reader(state_vector)
    clocks = {}
    for _ in range(reader.var_uint()):
        client_id = reader.var_uint()
        clocks[client_id] = reader.var_uint()
    reader.finish()
    return clocks
