"""Decoder of the Yjs update format v1 (``Y.encodeStateAsUpdate``, pycrdt ``get_update``).

An update is the structs of each client followed by a delete set, all in lib0 encoding::

    update     = var_uint n_clients, n_clients * block, delete_set
    block      = var_uint n_structs, var_uint client, var_uint first_clock, n_structs * struct
    struct     = u8 info, then by the low 5 bits of info (the content ref):
                 0 GC: var_uint length | 10 Skip: var_uint length | 1-9 an Item:
                 [origin ID if 0x80] [right origin ID if 0x40]
                 [if neither origin: var_uint 1 + var_string root name, or var_uint 0 + parent ID;
                  then var_string parent_sub if 0x20]  content
    ID         = var_uint client, var_uint clock
    delete_set = var_uint n_clients, n_clients * (var_uint client, var_uint n, n * (clock, length))

Structs of one client are consecutive: each starts where the previous one ends. An Item's length is
its content's (a string counts UTF-16 code units, as in JavaScript). An Item with an origin carries
no parent: it shares the parent (and map key) of the item its origin names.

Decoding is bounded: truncated or malformed input raises :class:`UpdateDecodeError`, and no length
prefix makes it allocate more than the input holds. Bytes after the delete set are ignored, as Yjs does.
"""

from __future__ import annotations

import json
import struct

from collab.ycodec.ystructs import (
    GC,
    ID,
    UNDEFINED,
    AnyValue,
    Content,
    ContentAny,
    ContentBinary,
    ContentDeleted,
    ContentDoc,
    ContentEmbed,
    ContentFormat,
    ContentJSON,
    ContentString,
    ContentType,
    DeleteSet,
    Item,
    Skip,
    Struct,
    TypeRef,
    Update,
)

MAX_SAFE_INTEGER = 2**53 - 1  # lib0 numbers are JavaScript doubles
MAX_ANY_DEPTH = 128  # nested arrays/objects in one value; keeps hostile input off the Python stack


class UpdateDecodeError(ValueError):
    """The bytes are not a well-formed v1 update; ``offset`` is where decoding stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, message: str) -> UpdateDecodeError:
        return UpdateDecodeError(message, self.pos)

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:  # checked before slicing: a huge prefix allocates nothing
            raise self.fail(f"length {n} exceeds the remaining input")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of update")
        self.pos += 1
        return self.data[self.pos - 1]

    def var_uint(self) -> int:
        # The hot path of every decode (clients, clocks, lengths): one byte, or a loop over locals.
        data = self.data
        pos = self.pos
        if pos < len(data) and data[pos] < 0x80:
            self.pos = pos + 1
            return data[pos]
        value = self._continue(0, 0)
        if value > MAX_SAFE_INTEGER:
            raise self.fail("var-uint above 2^53")
        return value

    def var_int(self) -> int:
        # The first byte holds the sign (0x40) and 6 value bits; the rest are plain 7-bit groups.
        first = self.u8()
        value = first & 0x3F
        if first & 0x80:
            value = self._continue(value, 6)
        if value > MAX_SAFE_INTEGER:
            raise self.fail("var-int above 2^53")
        return -value if first & 0x40 else value

    def _continue(self, value: int, shift: int) -> int:
        """The 7-bit groups of a var-int from `pos` on, added to `value` from bit `shift`."""
        data = self.data
        pos = self.pos
        end = len(data)
        while True:
            if pos >= end:
                self.pos = pos
                raise self.fail("unexpected end of update")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                return value
            shift += 7
            if shift > 56:
                self.pos = pos
                raise self.fail("var-int too long")

    def count(self, min_bytes_each: int = 1) -> int:
        """A number of elements, each of which needs at least ``min_bytes_each`` more bytes."""
        n = self.var_uint()
        if n * min_bytes_each > len(self.data) - self.pos:
            raise self.fail(f"count {n} exceeds the remaining input")
        return n

    def var_bytes(self) -> bytes:
        return self.take(self.var_uint())

    def var_string(self) -> str:
        start = self.pos
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise UpdateDecodeError("string is not UTF-8", start) from None

    def id(self) -> ID:
        return ID(self.var_uint(), self.var_uint())

    def json(self, allow_undefined: bool) -> AnyValue:
        start = self.pos
        text = self.var_string()
        if allow_undefined and text == "undefined":
            return UNDEFINED
        try:
            value: AnyValue = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise UpdateDecodeError("content is not JSON", start) from None
        return value

    def any(self, depth: int = 0) -> AnyValue:
        if depth > MAX_ANY_DEPTH:
            raise self.fail("value nested too deeply")
        tag = self.u8()
        if tag == 119:  # a string: what map values mostly are
            return self.var_string()
        if tag == 127:
            return UNDEFINED
        if tag == 126:
            return None
        if tag == 125:
            return self.var_int()
        if tag == 124:
            return float(struct.unpack(">f", self.take(4))[0])
        if tag == 123:
            return float(struct.unpack(">d", self.take(8))[0])
        if tag == 122:
            return int(struct.unpack(">q", self.take(8))[0])
        if tag in (121, 120):
            return tag == 120
        if tag == 118:
            obj: dict[str, AnyValue] = {}
            for _ in range(self.count(2)):
                key = self.var_string()
                obj[key] = self.any(depth + 1)
            return obj
        if tag == 117:
            return [self.any(depth + 1) for _ in range(self.count())]
        if tag == 116:
            return self.var_bytes()
        raise UpdateDecodeError(f"unknown value tag {tag}", self.pos - 1)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # JSON.parse refuses NaN and Infinity; so do we


def _read_content(r: _Reader, ref: int) -> Content:
    if ref == 8:  # the refs are distinct: the common ones are tested first
        n = r.count()
        return ContentAny((r.any(),) if n == 1 else tuple(r.any() for _ in range(n)))
    if ref == 4:
        return ContentString(r.var_string())
    if ref == 1:
        return ContentDeleted(r.var_uint())
    if ref == 2:
        return ContentJSON(tuple(r.json(allow_undefined=True) for _ in range(r.count())))
    if ref == 3:
        return ContentBinary(r.var_bytes())
    if ref == 5:
        return ContentEmbed(r.json(allow_undefined=False))
    if ref == 6:
        return ContentFormat(r.var_string(), r.json(allow_undefined=False))
    if ref == 7:
        type_ref = r.var_uint()
        if type_ref > TypeRef.XML_TEXT:
            raise r.fail(f"unknown type ref {type_ref}")
        named = type_ref in (TypeRef.XML_ELEMENT, TypeRef.XML_HOOK)
        return ContentType(TypeRef(type_ref), r.var_string() if named else None)
    if ref == 9:
        return ContentDoc(r.var_string(), r.any())
    raise UpdateDecodeError(f"unknown content ref {ref}", r.pos - 1)


def _read_item(r: _Reader, id_: ID, info: int) -> Item:
    origin = r.id() if info & 0x80 else None
    right_origin = r.id() if info & 0x40 else None
    parent: str | ID | None = None
    parent_sub = None
    if not info & 0xC0:
        is_root = r.var_uint() == 1
        parent = r.var_string() if is_root else r.id()
        if info & 0x20:
            parent_sub = r.var_string()
    content = _read_content(r, info & 0x1F)
    return Item(id_, content.length, origin, right_origin, parent, parent_sub, content)


def _read_delete_set(r: _Reader) -> DeleteSet:
    clients: dict[int, list[tuple[int, int]]] = {}
    var_uint, count = r.var_uint, r.count  # bound once: these run per range
    for _ in range(count(2)):
        client = var_uint()
        ranges = [(var_uint(), var_uint()) for _ in range(count(2))]
        if ranges:  # Yjs drops a client listed with no ranges, and appends to one listed twice
            clients.setdefault(client, []).extend(ranges)
    return DeleteSet({client: tuple(ranges) for client, ranges in clients.items()})


def decode_update(data: bytes | bytearray | memoryview) -> Update:
    """Decode a v1 update into its structs and delete set, or raise :class:`UpdateDecodeError`."""
    r = _Reader(data if type(data) is bytes else bytes(data))
    var_uint, count, u8 = r.var_uint, r.count, r.u8  # bound once: these run per struct
    structs: list[Struct] = []
    for _ in range(count(3)):
        n_structs = count()
        if n_structs == 0:  # no encoder writes one, and yrs panics half-way through applying it
            raise r.fail("a client block with no structs")
        client = var_uint()
        clock = var_uint()
        for _ in range(n_structs):
            info = u8()
            ref = info & 0x1F
            # Like Yjs' applyUpdate and yrs, GC and Skip are told by the low 5 bits alone.
            if ref == 0:
                s: Struct = GC(ID(client, clock), var_uint())
            elif ref == 10:
                s = Skip(ID(client, clock), var_uint())
            else:
                s = _read_item(r, ID(client, clock), info)
            structs.append(s)
            clock += s.length
    structs_end = r.pos
    return Update(tuple(structs), _read_delete_set(r), structs_end)


def decode_state_vector(data: bytes | bytearray | memoryview) -> dict[int, int]:
    """Decode a state vector (``Doc.get_state()``): client -> next clock."""
    r = _Reader(bytes(data))
    return {r.var_uint(): r.var_uint() for _ in range(r.count(2))}
