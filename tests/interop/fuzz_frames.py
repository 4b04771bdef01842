"""Hostile y-websocket frames for the live fuzz run (`test_fuzz_live.py`), the same ones for the same seed.

`hostile_frames(seed, count, max_message_bytes, kinds)` lists `count` frames: every kind once, then kinds
drawn by weight. A frame names its kind and the record it goes to (0: the record the honest client edits, 1: a
second record); its bytes are made when it is sent, by `frame.build(target)`, because the frames aimed at
the honest client need its Yjs client id and next clock (known only then), and because the largest frames
(awareness states of a few hundred KiB, frames just above the size limit) should not all sit in memory.

Updates are Yjs update format v1, written here by hand (the encoder mirrors `collab/ycodec/yupdate.py`'s
decoder, which is checked against Yjs' own) so that they can say what no Yjs client would: lengths of
2^31, origins that do not exist, non-finite numbers, another client's id.

Frames never write the keys the honest client edits (`HONEST_KEYS`) under their own ids, and never delete
the honest client's items: an editor may overwrite or delete a colleague's value, so the test could not
tell that from an attack. Writing under the honest client's *own id* is an attack, and is in the mix.
"""

from __future__ import annotations

import enum
import random
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pycrdt import Doc, Map, Text

from collab.ycodec.protocol import awareness, sync_update, write_var_bytes, write_var_uint

HONEST_KEYS = ("name", "revenue", "notes")
# Keys of the sample `customers` schema the honest client leaves alone, and keys no schema has.
SCHEMA_KEYS = ("email", "stage", "active", "next_call")
UNKNOWN_KEYS = ("zz_unknown", "", "__proto__", "constructor", "ключ", "k" * 5000, "fields")
HUGE_LENGTHS = (2**31, 2**31 - 1, 2**30, 10**7)
DEEP_JSON_LEVELS = 100_000


class Kind(enum.StrEnum):
    RANDOM_BYTES = "random-bytes"
    TRUNCATED = "truncated"  # a real update (or its frame) cut short
    BIT_FLIPPED = "bit-flipped"  # a real update with a few bits flipped
    REAL_UPDATE = "real-update"  # well-formed edits under the hostile's own ids
    VICTIM_CLOCK = "victim-clock"  # structs under the honest client's id at its next clock
    MISSING_ORIGIN = "missing-origin"
    HUGE_LENGTH = "huge-length"  # deleted items, GC, Skip, delete-set ranges up to 2^31
    NON_FINITE = "non-finite"
    WRONG_TYPE = "wrong-type"  # wrong types for the schema, unknown keys and roots, oversized texts
    AWARENESS_MANY_IDS = "awareness-many-ids"
    AWARENESS_HUGE_STATE = "awareness-huge-state"
    AWARENESS_DEEP_JSON = "awareness-deep-json"
    OVERSIZED = "oversized"  # just above the server's max message size
    TEXT_FRAME = "text-frame"


_WEIGHTS: dict[Kind, float] = {
    Kind.RANDOM_BYTES: 14,
    Kind.TRUNCATED: 10,
    Kind.BIT_FLIPPED: 14,
    Kind.REAL_UPDATE: 6,
    Kind.VICTIM_CLOCK: 8,
    Kind.MISSING_ORIGIN: 8,
    Kind.HUGE_LENGTH: 10,
    Kind.NON_FINITE: 7,
    Kind.WRONG_TYPE: 11,
    Kind.AWARENESS_MANY_IDS: 3,
    Kind.AWARENESS_HUGE_STATE: 1.5,
    Kind.AWARENESS_DEEP_JSON: 0.5,
    Kind.OVERSIZED: 1,
    Kind.TEXT_FRAME: 6,
}


class Target(Protocol):
    """What a hostile connection knows of the honest client when it sends: its id and next clock."""

    @property
    def victim_client(self) -> int: ...

    @property
    def victim_clock(self) -> int: ...


@dataclass(frozen=True)
class FixedTarget:
    victim_client: int
    victim_clock: int


@dataclass(frozen=True)
class HostileFrame:
    index: int
    kind: Kind
    record: int  # 0: the honest client's record, 1: the second record
    build: Callable[[Target], bytes | str]


# -- Yjs update format v1, lib0 encoding -------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """Bytes spliced into a `write_any` value as they are (lone surrogates, float32 NaN, long var-ints)."""

    data: bytes


AnyInput = None | bool | int | float | str | bytes | Raw | list["AnyInput"] | dict[str, "AnyInput"]
Content = tuple[int, bytes]  # content ref, encoded content
YID = tuple[int, int]  # client, clock


def var_int(value: int) -> bytes:
    negative, value = value < 0, abs(value)
    out = bytearray([(0x80 if value > 0x3F else 0) | (0x40 if negative else 0) | (value & 0x3F)])
    value >>= 6
    while value > 0:
        out.append((0x80 if value > 0x7F else 0) | (value & 0x7F))
        value >>= 7
    return bytes(out)


def var_string(text: str) -> bytes:
    return write_var_bytes(text.encode())


def write_any(value: AnyInput) -> bytes:
    """lib0 `writeAny`: integers within 31 bits as var-ints, every other number as a float64."""
    match value:
        case Raw(data=data):
            return data
        case None:
            return b"\x7e"
        case bool():
            return b"\x78" if value else b"\x79"
        case int() if abs(value) <= 2**31 - 1:
            return b"\x7d" + var_int(value)
        case int() | float():
            return b"\x7b" + struct.pack(">d", float(value))
        case str():
            return b"\x77" + var_string(value)
        case bytes():
            return b"\x74" + write_var_bytes(value)
        case list():
            return b"\x75" + write_var_uint(len(value)) + b"".join(write_any(v) for v in value)
        case dict():
            items = (var_string(k) + write_any(v) for k, v in value.items())
            return b"\x76" + write_var_uint(len(value)) + b"".join(items)
    raise TypeError(f"not an lib0 value: {value!r}")


def any_content(*values: AnyInput) -> Content:
    return 8, write_var_uint(len(values)) + b"".join(write_any(v) for v in values)


def string_content(text: str | bytes) -> Content:
    return 4, write_var_bytes(text if isinstance(text, bytes) else text.encode())


def deleted_content(length: int) -> Content:
    return 1, write_var_uint(length)


def type_content(type_ref: int, name: str | None = None) -> Content:
    return 7, write_var_uint(type_ref) + (b"" if name is None else var_string(name))


def json_content(*texts: str) -> Content:
    return 2, write_var_uint(len(texts)) + b"".join(var_string(t) for t in texts)


def write_id(yid: YID) -> bytes:
    return write_var_uint(yid[0]) + write_var_uint(yid[1])


def item(
    content: Content,
    *,
    origin: YID | None = None,
    right: YID | None = None,
    parent: str | YID = "fields",
    key: str | None = None,
) -> bytes:
    ref, body = content
    info = ref | (0x80 if origin else 0) | (0x40 if right else 0) | (0x20 if key is not None else 0)
    out = bytes([info]) + (write_id(origin) if origin else b"") + (write_id(right) if right else b"")
    if origin is None and right is None:  # only then does an item name its parent (and map key)
        out += b"\x01" + var_string(parent) if isinstance(parent, str) else b"\x00" + write_id(parent)
        out += b"" if key is None else var_string(key)
    return out + body


def gc(length: int) -> bytes:
    return b"\x00" + write_var_uint(length)


def skip(length: int) -> bytes:
    return b"\x0a" + write_var_uint(length)


def update(
    blocks: Iterable[tuple[int, int, Sequence[bytes]]],
    deletes: Iterable[tuple[int, Sequence[tuple[int, int]]]] = (),
) -> bytes:
    """`blocks`: (client, first clock, encoded structs); `deletes`: (client, [(clock, length), ...])."""
    blocks, deletes = list(blocks), list(deletes)
    out = [write_var_uint(len(blocks))]
    for client, clock, structs in blocks:
        out += [write_var_uint(len(structs)), write_var_uint(client), write_var_uint(clock), *structs]
    out.append(write_var_uint(len(deletes)))
    for client, ranges in deletes:
        out += [write_var_uint(client), write_var_uint(len(ranges))]
        out += [write_var_uint(clock) + write_var_uint(length) for clock, length in ranges]
    return b"".join(out)


def one_item(client: int, content: Content, *, parent: str | YID = "fields", key: str | None = None) -> bytes:
    """A sync-update frame holding one item of a fresh client."""
    return sync_update(update([(client, 0, [item(content, parent=parent, key=key)])]))


# -- frame recipes: each draws its parameters now and builds the bytes later -------------------------

Build = Callable[[Target], bytes | str]
LONE_SURROGATE = Raw(b"\x77\x05a\xed\xa0\x80b")  # a lib0 string holding "a\ud800b" as (invalid) UTF-8


def _client(rng: random.Random) -> int:
    return rng.randrange(1, 2**32)


def _real_update(rng: random.Random) -> bytes:
    """What an honest pycrdt client might send, but under a fresh id and on keys the honest client
    leaves alone: values, a new text, or two edits where the second names the first as its origin."""
    doc: Doc = Doc(client_id=_client(rng))
    fields = doc.get("fields", type=Map)
    key = rng.choice((*SCHEMA_KEYS, f"zz_{rng.randrange(50)}"))
    roll = rng.random()
    if roll < 0.4:
        fields[key] = rng.choice(("lead", 42, True, "2024-05-01", None, [1, "two"], {"a": 1}))
    elif roll < 0.7:
        fields[f"zz_text_{rng.randrange(50)}"] = Text("hostile " * rng.randint(1, 8))
    else:
        fields[key] = "first"
        fields[key] = "second"
        text = Text("ab")
        fields[f"zz_text_{rng.randrange(50)}"] = text
        text.insert(1, "xyz")
    return doc.get_update()


def _random_bytes(rng: random.Random) -> Build:
    seed, size = rng.getrandbits(64), rng.choice((1, 2, 3, 8, 32, 64, 512, 4096))
    envelope = rng.choice((b"", b"", b"\x00\x02", b"\x00\x01", b"\x01", b"\x00\x00", b"\x03"))

    def build(_: Target) -> bytes:
        body = random.Random(seed).randbytes(size)
        return envelope + write_var_bytes(body) if envelope and size > 8 else envelope + body

    return build


def _truncated(rng: random.Random) -> Build:
    real = _real_update(rng)
    cut = rng.randrange(len(real))
    frame = sync_update(real[:cut]) if rng.random() < 0.6 else sync_update(real)[: 3 + cut]
    return lambda _: frame


def _bit_flipped(rng: random.Random) -> Build:
    data = bytearray(_real_update(rng))
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    frame = sync_update(bytes(data))
    return lambda _: frame


def _victim_clock(rng: random.Random) -> Build:
    variant = rng.randrange(6)
    length, key, missing = rng.choice(HUGE_LENGTHS), f"zz_stolen_{rng.randrange(9)}", (_client(rng), 7)
    gap = rng.randint(1, 50)

    def build(t: Target) -> bytes:
        c, k = t.victim_client, t.victim_clock
        if variant == 0:  # the finding of issue 12: a planted item that stays pending
            structs = [item(any_content("planted"), origin=missing)]
        elif variant == 1:  # a valid item that takes the id the honest client uses next
            structs = [item(any_content("stolen"), key=key)]
        elif variant == 2:
            structs = [gc(length)]
        elif variant == 3:
            structs = [item(deleted_content(length), key=key)]
        elif variant == 4:
            structs = [skip(gap), item(any_content("after a gap"), key=key)]
        else:  # someone else's presence
            entry = write_var_uint(c) + write_var_uint(2**20) + var_string('{"name":"honest?"}')
            return awareness(write_var_uint(1) + entry)
        return sync_update(update([(c, k, structs)]))

    return build


def _missing_origin(rng: random.Random) -> Build:
    client, nowhere = _client(rng), (_client(rng), rng.randrange(2**20))
    variant = rng.randrange(5)
    content = any_content(rng.choice(("x", 1, None)))
    if variant == 0:
        structs = [item(content, origin=nowhere)]
    elif variant == 1:
        structs = [item(string_content("right"), right=nowhere)]
    elif variant == 2:
        structs = [item(content, parent=nowhere, key="zz_orphan")]
    elif variant == 3:  # its own origin: a cycle
        structs = [item(content, origin=(client, 0))]
    else:  # origin later in its own clock range
        structs = [item(content, origin=(client, 5)), item(content, key="zz_later")]
    frame = sync_update(update([(client, 0, structs)]))
    return lambda _: frame


def _huge_length(rng: random.Random) -> Build:
    client, length, key = _client(rng), rng.choice(HUGE_LENGTHS), rng.choice(SCHEMA_KEYS)
    variant = rng.randrange(7)
    if variant == 0:  # the 21-byte freeze of issue 12
        blocks = [(client, 0, [item(deleted_content(length), key=key)])]
        deletes: list[tuple[int, list[tuple[int, int]]]] = []
    elif variant == 1:
        blocks, deletes = [(client, 0, [gc(length)])], []
    elif variant == 2:
        blocks, deletes = [(client, 0, [skip(length), item(any_content(1), key=key)])], []
    elif variant == 3:
        blocks, deletes = [], [(_client(rng), [(0, length)]), (client, [(rng.randrange(99), length)])]
    elif variant == 4:  # a real item, deleted by a range far longer than it
        blocks, deletes = [(client, 0, [item(any_content("gone"), key=key)])], [(client, [(0, length)])]
    elif variant == 5:  # a content that claims more values than it carries
        blocks, deletes = [(client, 0, [item((8, write_var_uint(length) + b"\x7e"), key=key)])], []
    else:  # many ranges
        blocks, deletes = [], [(client, [(i * length, length) for i in range(rng.randint(50, 500))])]
    frame = sync_update(update(blocks, deletes))
    return lambda _: frame


def _non_finite(rng: random.Random) -> Build:
    inf, nan = float("inf"), float("nan")
    values: tuple[AnyInput, ...] = (
        inf,
        -inf,
        nan,
        [1, nan],
        {"x": -inf},
        1e308 * 10,
        Raw(b"\x7c\x7f\xc0\x00\x00"),
    )
    value = rng.choice(values)
    key = rng.choice((*SCHEMA_KEYS, "zz_number"))
    client = _client(rng)
    variant = rng.randrange(4)
    if variant == 0:
        frame = one_item(client, any_content(value), key=key)
    elif variant == 1:
        frame = one_item(client, json_content(rng.choice(("Infinity", "NaN", "-Infinity", "1e999"))), key=key)
    elif variant == 2:  # a formatting attribute inside a new text
        text = item(type_content(2), key=f"zz_text_{rng.randrange(9)}")
        structs = [text, item((6, var_string("bold") + var_string("NaN")), parent=(client, 0))]
        frame = sync_update(update([(client, 0, structs)]))
    else:
        frame = one_item(
            client, any_content(Raw(b"\x7d" + b"\xff" * 10 + b"\x01")), key=key
        )  # a long var-int
    return lambda _: frame


def _wrong_type(rng: random.Random) -> Build:
    client = _client(rng)
    wrong: list[tuple[str, Content]] = [
        ("stage", any_content(123)),
        ("stage", any_content("not-an-option")),
        ("active", any_content("yes")),
        ("next_call", any_content("20200101")),
        ("next_call", any_content({"y": 2020})),
        ("email", any_content([1, 2, 3])),
        ("email", any_content(LONE_SURROGATE)),
        ("email", string_content(b"a\xed\xa0\x80b")),
        ("email", any_content("x" * rng.choice((100_001, 200_000)))),
        ("stage", type_content(1)),  # a nested map
        ("active", type_content(2)),  # a text
        ("email", type_content(0)),  # an array
        ("next_call", type_content(3, "div")),  # an XML element
        ("email", (3, write_var_bytes(b"\x00binary"))),
        ("stage", (9, var_string("sub-doc") + write_any({"gc": True}))),
        (rng.choice(UNKNOWN_KEYS), any_content(rng.choice(("v", 1, True)))),
    ]
    key, content = rng.choice(wrong)
    if rng.random() < 0.1:  # another root type than `fields`
        frame = one_item(client, content, parent=rng.choice(("meta", "", "fields2")), key=key)
    elif rng.random() < 0.1:  # a text far past the schema's limit, typed into a new Y.Text
        structs = [
            item(type_content(2), key="email"),
            item(string_content("y" * 150_000), parent=(client, 0)),
        ]
        frame = sync_update(update([(client, 0, structs)]))
    else:
        frame = one_item(client, content, key=key)
    return lambda _: frame


def _awareness_many_ids(rng: random.Random) -> Build:
    seed, count = rng.getrandbits(64), rng.randint(1000, 5000)
    odd_states = ('{"a":NaN}', '{"a":Infinity}', "null", "[]", "not json", '"text"', "{}")

    def build(_: Target) -> bytes:
        r = random.Random(seed)
        entries = []
        for i in range(count):
            state = r.choice(odd_states) if r.random() < 0.05 else f'{{"i":{i},"name":"m"}}'
            entries.append(write_var_uint(r.randrange(2**32)) + write_var_uint(r.randrange(2**20)))
            entries.append(var_string(state))
        return awareness(write_var_uint(count) + b"".join(entries))

    return build


def _awareness_huge_state(rng: random.Random, max_message_bytes: int) -> Build:
    client, size = _client(rng), rng.randint(max_message_bytes // 2, max_message_bytes - 1024)

    def build(_: Target) -> bytes:
        state = '{"blob":"' + "x" * size + '"}'
        return awareness(write_var_uint(1) + write_var_uint(client) + write_var_uint(1) + var_string(state))

    return build


def _awareness_deep_json(rng: random.Random, max_message_bytes: int) -> Build:
    client, levels = _client(rng), min(DEEP_JSON_LEVELS, (max_message_bytes - 64) // 2)

    def build(_: Target) -> bytes:
        state = '{"a":' + "[" * levels + "]" * levels + "}"
        return awareness(write_var_uint(1) + write_var_uint(client) + write_var_uint(1) + var_string(state))

    return build


def _oversized(rng: random.Random, max_message_bytes: int) -> Build:
    seed, size = rng.getrandbits(64), max_message_bytes + rng.randint(1, 4096)

    def build(_: Target) -> bytes:
        frame = sync_update(random.Random(seed).randbytes(size))
        return frame[:size]  # exactly `size` bytes: a frame one byte over is the edge that matters

    return build


def _text_frame(rng: random.Random) -> Build:
    text = rng.choice(('{"type":"sync","step":1}', "\x00\x02\x03abc", "hello", "", "é" * 1000))
    return lambda _: text


def _recipe(kind: Kind, rng: random.Random, max_message_bytes: int) -> Build:
    if kind is Kind.AWARENESS_HUGE_STATE:
        return _awareness_huge_state(rng, max_message_bytes)
    if kind is Kind.AWARENESS_DEEP_JSON:
        return _awareness_deep_json(rng, max_message_bytes)
    if kind is Kind.OVERSIZED:
        return _oversized(rng, max_message_bytes)
    if kind is Kind.REAL_UPDATE:
        frame = sync_update(_real_update(rng))
        return lambda _: frame
    recipes: dict[Kind, Callable[[random.Random], Build]] = {
        Kind.RANDOM_BYTES: _random_bytes,
        Kind.TRUNCATED: _truncated,
        Kind.BIT_FLIPPED: _bit_flipped,
        Kind.VICTIM_CLOCK: _victim_clock,
        Kind.MISSING_ORIGIN: _missing_origin,
        Kind.HUGE_LENGTH: _huge_length,
        Kind.NON_FINITE: _non_finite,
        Kind.WRONG_TYPE: _wrong_type,
        Kind.AWARENESS_MANY_IDS: _awareness_many_ids,
        Kind.TEXT_FRAME: _text_frame,
    }
    return recipes[kind](rng)


def hostile_frames(
    seed: int, count: int, max_message_bytes: int, kinds: Iterable[Kind] = Kind
) -> list[HostileFrame]:
    """`count` frames of `kinds`: each kind once (in a seeded order), then kinds drawn by weight."""
    rng = random.Random(seed)
    chosen = sorted(set(kinds), key=list(Kind).index)
    rng.shuffle(chosen)
    weights = [_WEIGHTS[kind] for kind in chosen]
    drawn = chosen[:count] + rng.choices(chosen, weights=weights, k=max(0, count - len(chosen)))
    return [
        HostileFrame(index, kind, 0 if rng.random() < 0.6 else 1, _recipe(kind, rng, max_message_bytes))
        for index, kind in enumerate(drawn)
    ]
