"""A tiny encoder of Yjs v1 updates, for building the updates no honest client would send, byte by byte.

The format is the one `collab/ycodec/yupdate.py` decodes (see its docstring): per client a block of
consecutive structs, then a delete set, all in lib0 encoding. Nothing here checks that an update makes
sense: a struct may name an origin that does not exist, declare any length, or sit at any client id and
clock. That is the point.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collab.ycodec.protocol import write_var_uint as var_uint
from collab.ycodec.ystructs import TypeRef

# Content refs (the low 5 bits of a struct's info byte).
GC_REF = 0
DELETED = 1
STRING = 4
TYPE = 7
ANY = 8
SKIP_REF = 10

_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20

ID = tuple[int, int]  # (client, clock)


def var_int(n: int) -> bytes:
    # The first byte holds a continuation bit, the sign (0x40) and 6 value bits; then 7-bit groups.
    negative, n = n < 0, abs(n)
    first = (n & 0x3F) | (0x40 if negative else 0)
    n >>= 6
    if not n:
        return bytes([first])
    return bytes([first | 0x80]) + var_uint(n)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


def var_string(text: str | bytes) -> bytes:
    """A string; bytes are written as they are, so a test can send ones that are not UTF-8."""
    return var_bytes(text.encode() if isinstance(text, str) else text)


def any_value(value: Any) -> bytes:
    """lib0 `writeAny`: what pycrdt and Yjs use for map values (floats as float64, like pycrdt)."""
    if value is None:
        return b"\x7e"
    if value is True:
        return b"\x78"
    if value is False:
        return b"\x79"
    if isinstance(value, int):
        return b"\x7d" + var_int(value)
    if isinstance(value, float):
        return b"\x7b" + struct.pack(">d", value)
    if isinstance(value, str):
        return b"\x77" + var_string(value)
    if isinstance(value, bytes):
        return b"\x74" + var_bytes(value)
    if isinstance(value, dict):
        return (
            b"\x76" + var_uint(len(value)) + b"".join(var_string(k) + any_value(v) for k, v in value.items())
        )
    if isinstance(value, list):
        return b"\x75" + var_uint(len(value)) + b"".join(any_value(v) for v in value)
    raise TypeError(f"no lib0 encoding for {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class Struct:
    """One encoded struct and the number of clocks it covers."""

    data: bytes
    length: int


def gc(length: int) -> Struct:
    return Struct(bytes([GC_REF]) + var_uint(length), length)


def skip(length: int) -> Struct:
    return Struct(bytes([SKIP_REF]) + var_uint(length), length)


def item(
    content_ref: int,
    content: bytes,
    length: int,
    *,
    origin: ID | None = None,
    right_origin: ID | None = None,
    parent: str | ID | None = None,
    key: str | None = None,
) -> Struct:
    """An Item. With an origin (left or right) it carries no parent: it belongs where its origin is.
    Without one, `parent` is a root type's name or the ID of the item holding the parent type, and `key`
    the map key."""
    info = content_ref
    body = b""
    if origin is not None:
        info |= _HAS_ORIGIN
        body += var_uint(origin[0]) + var_uint(origin[1])
    if right_origin is not None:
        info |= _HAS_RIGHT_ORIGIN
        body += var_uint(right_origin[0]) + var_uint(right_origin[1])
    if origin is None and right_origin is None:
        if parent is None:
            raise ValueError("an item without origins needs a parent")
        if isinstance(parent, str):
            body += var_uint(1) + var_string(parent)
        else:
            body += var_uint(0) + var_uint(parent[0]) + var_uint(parent[1])
        if key is not None:
            info |= _HAS_PARENT_SUB
            body += var_string(key)
    return Struct(bytes([info]) + body + content, length)


def any_item(values: list[Any], **where: Any) -> Struct:
    return item(ANY, var_uint(len(values)) + b"".join(any_value(v) for v in values), len(values), **where)


def string_item(text: str, **where: Any) -> Struct:
    return item(STRING, var_string(text), len(text.encode("utf-16-le")) // 2, **where)


def deleted_item(length: int, **where: Any) -> Struct:
    return item(DELETED, var_uint(length), length, **where)


def type_item(type_ref: TypeRef, **where: Any) -> Struct:
    return item(TYPE, var_uint(type_ref), 1, **where)


def update(
    blocks: Iterable[tuple[int, int, list[Struct]]],
    delete_set: Mapping[int, list[tuple[int, int]]] | None = None,
) -> bytes:
    """An update from blocks of (client, first clock, consecutive structs) and a delete set of
    client -> [(clock, length)]."""
    blocks = list(blocks)
    out = bytearray(var_uint(len(blocks)))
    for client, clock, structs in blocks:
        out += var_uint(len(structs)) + var_uint(client) + var_uint(clock)
        for one in structs:
            out += one.data
    deletes = delete_set or {}
    out += var_uint(len(deletes))
    for client, ranges in deletes.items():
        out += var_uint(client) + var_uint(len(ranges))
        for clock, length in ranges:
            out += var_uint(clock) + var_uint(length)
    return bytes(out)
