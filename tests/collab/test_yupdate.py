"""The v1 update decoder: hand-made encodings and mutation fuzz (only `UpdateDecodeError` may escape).
Yjs' own `Y.decodeUpdate` as an oracle on random documents made by Yjs and by pycrdt runs with the Node
tests (tests/interop/test_yjs_oracle.py); the helpers it shares live here."""

from __future__ import annotations

import base64
import json
import math
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, merge_updates

from collab.ycodec.ystructs import (
    GC,
    ID,
    UNDEFINED,
    AnyValue,
    ContentAny,
    ContentBinary,
    ContentDeleted,
    ContentDoc,
    ContentEmbed,
    ContentFormat,
    ContentJSON,
    ContentString,
    ContentType,
    Item,
    Skip,
    TypeRef,
    Update,
)
from collab.ycodec.yupdate import UpdateDecodeError, decode_state_vector, decode_update

pytestmark = pytest.mark.unit

ORACLE = Path(__file__).resolve().parents[1] / "interop" / "yjs_oracle.mjs"
NODE_CASES = 300  # random Yjs scenarios; each yields several updates (incremental, full, diff, merged)
PYCRDT_CASES = 200
ORACLE_MUTANTS = 3000  # mutated pycrdt updates decoded by both sides
FUZZ_MUTANTS = 20000


def var_uint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes([*out, n])


def var_string(s: str) -> bytes:
    return var_uint(len(s.encode())) + s.encode()


def one_item(info: int, body: bytes, client: int = 1, clock: int = 0) -> bytes:
    """An update holding one struct of one client and an empty delete set."""
    return b"\x01\x01" + var_uint(client) + var_uint(clock) + bytes([info]) + body + b"\x00"


def root_item(content_ref: int, content: bytes, key: str | None = "k") -> bytes:
    sub = 0x20 if key is not None else 0
    return one_item(
        content_ref | sub, b"\x01" + var_string("fields") + (var_string(key) if key else b"") + content
    )


def only_item(data: bytes) -> Item:
    (item,) = decode_update(data).structs
    assert isinstance(item, Item)
    return item


def decode_any(encoded: bytes) -> AnyValue:
    content = only_item(root_item(8, b"\x01" + encoded)).content
    assert isinstance(content, ContentAny)
    return content.values[0]


# --- hand-made encodings ---------------------------------------------------------------------------------


def test_empty_update() -> None:
    assert decode_update(b"\x00\x00") == decode_update(bytearray(b"\x00\x00"))
    assert decode_update(b"\x00\x00").structs == ()


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        (b"\x7f", UNDEFINED),
        (b"\x7e", None),
        (b"\x7d\x05", 5),
        (b"\x7d\x45", -5),  # sign in bit 0x40 of the first byte
        (b"\x7d\x80\x01", 64),  # first byte carries 6 bits, later ones 7
        (b"\x7d\xc0\x01", -64),
        (b"\x7c\x3f\xc0\x00\x00", 1.5),  # float32, big-endian
        (b"\x7b\x40\x09\x21\xfb\x54\x44\x2d\x18", math.pi),
        (b"\x7a\xff\xff\xff\xff\xff\xff\xff\xfe", -2),  # bigint64
        (b"\x79", False),
        (b"\x78", True),
        (b"\x77\x03h\xc3\xa9", "hé"),
        (b"\x76\x01\x01a\x75\x02\x7e\x78", {"a": [None, True]}),
        (b"\x74\x02\x00\xff", b"\x00\xff"),
    ],
)
def test_any_values(encoded: bytes, value: AnyValue) -> None:
    assert decode_any(encoded) == value


def test_item_contents_and_lengths() -> None:
    assert only_item(root_item(1, var_uint(7))).length == 7
    json_item = only_item(root_item(2, b"\x02" + var_string('{"a":1}') + var_string("undefined")))
    assert json_item == Item(ID(1, 0), 2, None, None, "fields", "k", ContentJSON(({"a": 1}, UNDEFINED)))
    assert only_item(root_item(3, b"\x02ab")).content == ContentBinary(b"ab")
    text = only_item(root_item(4, var_string("a😀b"), key=None))
    assert text.content == ContentString("a😀b") and text.length == 4  # UTF-16 code units, as Yjs counts
    assert only_item(root_item(5, var_string('{"img":1}'))).content == ContentEmbed({"img": 1})
    fmt = only_item(root_item(6, var_string("bold") + var_string("true")))
    assert fmt.content == ContentFormat("bold", True)
    hook = only_item(root_item(7, b"\x05" + var_string("h")))
    assert hook.content == ContentType(TypeRef.XML_HOOK, "h")
    assert only_item(root_item(7, b"\x02")).content == ContentType(TypeRef.TEXT)
    doc = only_item(root_item(9, var_string("g") + b"\x76\x00"))
    assert doc.content == ContentDoc("g", {})


def test_origins_parent_id_gc_skip_and_delete_set() -> None:
    origin_item = b"\xc4" + var_uint(2) + var_uint(3) + var_uint(4) + var_uint(5) + var_string("xy")
    parent_id = b"\x21" + b"\x00" + var_uint(9) + var_uint(8) + var_string("key") + b"\x01"
    update = (
        b"\x01\x04" + var_uint(1) + var_uint(10) + b"\x00\x03" + b"\x0a\x02" + origin_item + parent_id
    ) + b"\x02\x05\x00\x06\x00"
    decoded = decode_update(update)
    assert decoded.structs == (
        GC(ID(1, 10), 3),
        Skip(ID(1, 13), 2),
        Item(ID(1, 15), 2, ID(2, 3), ID(4, 5), None, None, ContentString("xy")),
        Item(ID(1, 17), 1, None, None, ID(9, 8), "key", ContentDeleted(1)),
    )
    # A client with no ranges is dropped; one listed twice keeps both lists, as Yjs does.
    assert dict(decoded.delete_set.clients) == {}
    twice = b"\x00\x03\x01\x01\x00\x02\x05\x00\x01\x01\x07\x01"
    assert dict(decode_update(twice).delete_set.clients) == {1: ((0, 2), (7, 1))}
    assert decode_update(twice).delete_set.ranges() == [(1, 0, 2), (1, 7, 1)]


def test_state_vector() -> None:
    doc: Doc[Any] = Doc(client_id=42)
    doc.get("fields", type=Map)["a"] = 1
    assert decode_state_vector(doc.get_state()) == {42: 1}


def test_pycrdt_writes_numbers_as_floats_and_bytes_as_any() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    fields = doc.get("fields", type=Map)
    fields["n"] = 5
    fields["b"] = b"\x01"
    values = [s.content for s in decode_update(doc.get_update()).structs if isinstance(s, Item)]
    assert values == [ContentAny((5.0,)), ContentAny((b"\x01",))]


# --- malformed input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x01\x01\x01\x00" + b"\x2b",  # unknown content ref 11
        root_item(7, b"\x07"),  # unknown type ref
        root_item(8, b"\x01\x70"),  # unknown Any tag
        root_item(4, b"\x02\xc3\x28"),  # not UTF-8
        root_item(2, b"\x01" + var_string("NaN")),  # not JSON (JSON.parse refuses it too)
        root_item(4, var_uint(2**40) + b"ab"),  # a length prefix far beyond the input
        root_item(8, var_uint(2**40) + b"\x7e"),  # an element count far beyond the input
        b"\x01" + var_uint(2**50) + b"\x01\x00",
        root_item(1, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),  # var-int too long
        root_item(1, var_uint(2**53)),  # above Number.MAX_SAFE_INTEGER
        root_item(8, b"\x01\x7d\xbf\xff\xff\xff\xff\xff\xff\xff\x01"),
        root_item(8, b"\x01" + b"\x75\x01" * 200 + b"\x7e"),  # nested 200 deep
        root_item(2, b"\x01" + var_string("[" * 100000)),  # deep JSON
        one_item(0x20 | 8, b"\x01" + var_string("fields")),  # truncated inside an item
    ],
)
def test_malformed_updates_raise_decode_error(data: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(UpdateDecodeError) as raised:
        decode_update(data)
    assert isinstance(raised.value, ValueError) and raised.value.offset >= 0
    assert time.monotonic() - started < 1


def test_every_truncation_raises() -> None:
    full = random_pycrdt_updates(random.Random(5))[-1]
    for end in range(len(full) - 1):  # the last byte ends the delete set: dropping it must fail too
        with pytest.raises(UpdateDecodeError):
            decode_update(full[:end])


def test_mutation_fuzz_raises_only_decode_errors() -> None:
    rng = random.Random(1234)
    corpus = [u for _ in range(30) for u in random_pycrdt_updates(rng)]
    decoded = failed = 0
    for _ in range(FUZZ_MUTANTS):
        try:
            decode_update(mutate(rng, rng.choice(corpus)))
            decoded += 1
        except UpdateDecodeError:
            failed += 1
    assert decoded > 0 and failed > 0


# --- oracle: Y.decodeUpdate ------------------------------------------------------------------------------


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        pos = rng.randrange(len(out)) if out else 0
        if kind < 0.5 and out:
            out[pos] = rng.randrange(256)
        elif kind < 0.7 and out:
            out[pos] ^= 1 << rng.randrange(8)
        elif kind < 0.85:
            out.insert(pos, rng.choice([0x00, 0x7F, 0x80, 0xFF, rng.randrange(256)]))
        else:
            del out[pos:]
    return bytes(out)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    if depth < 2 and rng.random() < 0.3:
        if rng.random() < 0.5:
            return [random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
        return {rng.choice("abc"): random_value(rng, depth + 1) for _ in range(rng.randrange(3))}
    return rng.choice(
        [rng.randrange(-1000, 1000), 2**40 + 1, rng.random() * 1e6, "", "hé😀", "x" * 200, True, False, None]
    )


def random_pycrdt_updates(rng: random.Random) -> list[bytes]:
    """Edits on 2-3 pycrdt docs: each transaction's update, the full states and a merge of some."""
    docs: list[Doc[Any]] = [
        Doc(client_id=rng.choice([rng.randrange(5), rng.randrange(2**32)]) + i) for i in range(3)
    ]
    updates: list[bytes] = []
    for doc in docs:
        doc.observe(lambda event: updates.append(event.update))
    for _ in range(rng.randrange(3, 15)):
        doc = rng.choice(docs)
        fields = doc.get("fields", type=Map)
        key = rng.choice(["revenue", "notes", "tags", "x"])
        current = fields.get(key)
        r = rng.random()
        if isinstance(current, Text) and r < 0.5:
            # pycrdt indexes text by UTF-8 byte offsets: pick character boundaries.
            text = str(current)
            cuts = sorted(len(text[: rng.randint(0, len(text))].encode()) for _ in range(2))
            if r < 0.3 or cuts[0] == cuts[1]:
                current.insert(cuts[0], rng.choice(["a", "hé😀", "word "]))
            elif r < 0.4:
                del current[cuts[0] : cuts[1]]
            else:
                current.format(cuts[0], cuts[1], {"bold": rng.choice([True, None])})
        elif r < 0.6:
            fields[key] = random_value(rng)
        elif r < 0.7:
            fields.pop(key, None)
        elif r < 0.8:
            fields[key] = Text(rng.choice(["", "hello", "日本"]))
        elif r < 0.85:
            fields[key] = Array([random_value(rng, 1)])
        elif r < 0.88:
            fields[key] = b"\x00\x01"
        elif r < 0.9:
            fields[key] = Doc(guid=f"sub-{rng.randrange(9)}")
        elif r < 0.95:
            xml = doc.get("xml", type=XmlFragment)
            xml.children.append(XmlElement("p", {"a": "1"}, [XmlText(rng.choice(["", "hi"]))]))
        else:
            other = rng.choice(docs)
            other.apply_update(doc.get_update(other.get_state()))
    picked = [u for u in updates if rng.random() < 0.3][:4]
    merged = merge_updates(*[u for u in updates if rng.random() < 0.5]) if len(updates) > 1 else b"\x00\x00"
    return [*picked, merged, *(doc.get_update() for doc in docs)]


def run_oracle(request: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node is not on PATH"
    assert (ORACLE.parent / "node_modules" / "yjs").is_dir(), "run `npm ci` in tests/interop"
    done = subprocess.run(
        [node, str(ORACLE)], input=json.dumps(request), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def from_oracle(value: Any) -> Any:
    """The oracle's tagged JSON as the Python values the decoder returns (NaN as a comparable marker)."""
    if isinstance(value, list):
        return [from_oracle(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$object" in value:
        return {k: from_oracle(v) for k, v in value["$object"].items()}
    if "$undefined" in value:
        return UNDEFINED
    if "$bigint" in value:
        return int(value["$bigint"])
    if "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    number = float(value["$number"])
    return "NaN" if math.isnan(number) else number


def comparable(value: AnyValue) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


def js_doc_opts(raw: AnyValue) -> dict[str, Any]:
    """Yjs keeps a subdocument's options as it rebuilds them from the Doc (ContentDoc's constructor)."""
    opts = raw if isinstance(raw, dict) else {}
    out: dict[str, Any] = {}
    if opts.get("gc", True) in (False, None, 0):
        out["gc"] = False
    if opts.get("autoLoad") not in (None, False, 0, UNDEFINED):
        out["autoLoad"] = True
    if opts.get("meta", None) not in (None, UNDEFINED):
        out["meta"] = comparable(opts["meta"])
    return out


def shape(update: Update) -> dict[str, Any]:
    """The decoder's output in the oracle's shape."""

    def id_(i: ID | None) -> list[int] | None:
        return None if i is None else [i.client, i.clock]

    structs: list[dict[str, Any]] = []
    for s in update.structs:
        base = {"id": id_(s.id), "length": s.length}
        if isinstance(s, GC | Skip):
            structs.append({"kind": type(s).__name__, **base})
            continue
        c = s.content
        content: dict[str, Any]
        if isinstance(c, ContentDeleted):
            content = {"kind": "Deleted", "length": c.length}
        elif isinstance(c, ContentJSON | ContentAny):
            content = {
                "kind": "JSON" if isinstance(c, ContentJSON) else "Any",
                "values": comparable(list(c.values)),
            }
        elif isinstance(c, ContentBinary):
            content = {"kind": "Binary", "data": c.data}
        elif isinstance(c, ContentString):
            content = {"kind": "String", "text": c.text}
        elif isinstance(c, ContentEmbed):
            content = {"kind": "Embed", "value": comparable(c.value)}
        elif isinstance(c, ContentFormat):
            content = {"kind": "Format", "key": c.key, "value": comparable(c.value)}
        elif isinstance(c, ContentType):
            content = {"kind": "Type", "ref": int(c.ref), "name": c.name}
        else:
            content = {"kind": "Doc", "guid": c.guid, "opts": js_doc_opts(c.opts)}
        parent = s.parent if isinstance(s.parent, str) or s.parent is None else id_(s.parent)
        structs.append(
            {
                "kind": "Item",
                **base,
                "origin": id_(s.origin),
                "rightOrigin": id_(s.right_origin),
                "parent": parent,
                "parentSub": s.parent_sub,
                "content": content,
            }
        )
    ds = [[client, [list(r) for r in ranges]] for client, ranges in update.delete_set.clients.items()]
    return {"structs": structs, "ds": ds}
