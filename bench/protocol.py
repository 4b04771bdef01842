"""The y-websocket wire format, as pure functions over bytes.

A message is a var-uint type followed by its payload: ``0`` sync (a var-uint step, then var-bytes: a state
vector for step 1, an update for step 2 and for an update), ``1`` awareness, ``3`` query awareness, and
collab's ``100`` saved (var-bytes: the state vector of what is durably stored).

Only what the load generator needs is decoded: state vectors, and the ``(client, first clock, length)``
ranges of the structs inside a Yjs v1 update (enough to tell which writes a forwarded update carries when a
server does not forward the sender's bytes unchanged).
"""

from __future__ import annotations

MESSAGE_SYNC = 0
MESSAGE_AWARENESS = 1
MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3
MESSAGE_SAVED = 100

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2

EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"


class DecodeError(ValueError):
    """The bytes are not what the y-websocket protocol or the Yjs v1 update format allows here."""


def write_var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    """Return the var-uint at ``pos`` and the position after it."""
    result = 0
    shift = 0
    try:
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result, pos
            shift += 7
    except IndexError:
        raise DecodeError("truncated var-uint") from None


def read_var_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_var_uint(data, pos)
    end = pos + length
    if end > len(data):
        raise DecodeError("truncated var-bytes")
    return data[pos:end], end


def sync_message(step: int, payload: bytes) -> bytes:
    return bytes((MESSAGE_SYNC, step)) + write_var_uint(len(payload)) + payload


def update_message(update: bytes) -> bytes:
    return sync_message(SYNC_UPDATE, update)


def decode_state_vector(data: bytes) -> dict[int, int]:
    """``{client id: clock}``: a var-uint count, then pairs of var-uint client and var-uint clock."""
    count, pos = read_var_uint(data, 0)
    result: dict[int, int] = {}
    for _ in range(count):
        client, pos = read_var_uint(data, pos)
        clock, pos = read_var_uint(data, pos)
        result[client] = clock
    return result


def update_ranges(update: bytes) -> list[tuple[int, int, int]]:
    """``(client, first clock, length)`` of each client's struct run in a v1 update (delete set ignored)."""
    pos = 0
    groups, pos = read_var_uint(update, pos)
    ranges: list[tuple[int, int, int]] = []
    for _ in range(groups):
        structs, pos = read_var_uint(update, pos)
        client, pos = read_var_uint(update, pos)
        clock, pos = read_var_uint(update, pos)
        length = 0
        for _ in range(structs):
            struct_length, pos = _read_struct(update, pos)
            length += struct_length
        ranges.append((client, clock, length))
    return ranges


def _read_struct(data: bytes, pos: int) -> tuple[int, int]:
    """Skip one struct; return its clock length and the position after it."""
    info = data[pos]
    pos += 1
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip: just a length
        return read_var_uint(data, pos)
    if info & 0x80:  # left origin id
        pos = read_var_uint(data, read_var_uint(data, pos)[1])[1]
    if info & 0x40:  # right origin id
        pos = read_var_uint(data, read_var_uint(data, pos)[1])[1]
    if not info & 0xC0:  # no origin: the parent follows
        named, pos = read_var_uint(data, pos)
        pos = _skip_string(data, pos) if named else read_var_uint(data, read_var_uint(data, pos)[1])[1]
        if info & 0x20:  # parentSub (the map key)
            pos = _skip_string(data, pos)
    return _read_content(data, pos, ref)


def _read_content(data: bytes, pos: int, ref: int) -> tuple[int, int]:
    if ref == 1:  # deleted
        return read_var_uint(data, pos)
    if ref == 8:  # any
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = _skip_any(data, pos)
        return count, pos
    if ref == 4:  # string: length in UTF-16 code units
        text, pos = read_var_bytes(data, pos)
        return len(text.decode("utf-8").encode("utf-16-le")) // 2, pos
    if ref == 3:  # binary
        return 1, read_var_bytes(data, pos)[1]
    if ref in (5, 6):  # embed, format
        if ref == 6:
            pos = _skip_string(data, pos)
        return 1, _skip_string(data, pos)
    raise DecodeError(f"struct content {ref} is not produced by the load generator")


def _skip_string(data: bytes, pos: int) -> int:
    return read_var_bytes(data, pos)[1]


def _skip_any(data: bytes, pos: int) -> int:
    tag = data[pos]
    pos += 1
    if tag in (127, 126, 121, 120):  # undefined, null, false, true
        return pos
    if tag == 125:  # var-int
        while data[pos] & 0x80:
            pos += 1
        return pos + 1
    if tag == 124:
        return pos + 4
    if tag in (123, 122):  # float64, bigint64
        return pos + 8
    if tag in (119, 116):  # string, bytes
        return read_var_bytes(data, pos)[1]
    if tag == 118:  # object
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = _skip_any(data, _skip_string(data, pos))
        return pos
    if tag == 117:  # array
        count, pos = read_var_uint(data, pos)
        for _ in range(count):
            pos = _skip_any(data, pos)
        return pos
    raise DecodeError(f"unknown any tag {tag}")
