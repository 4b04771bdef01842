"""The update decoder and the history index against Yjs itself: one Node process
(tests/interop/yjs_oracle.mjs) generates documents with Yjs and decodes updates with `Y.decodeUpdate`,
ours must read them alike (hand-made encodings and fuzz: tests/collab/test_yupdate.py)."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from pycrdt import Doc, Map

from collab.records.field_changes import FieldIndex
from collab.ycodec.yupdate import UpdateDecodeError, decode_update
from tests.collab.test_field_changes import plain
from tests.collab.test_yupdate import (
    NODE_CASES,
    ORACLE_MUTANTS,
    PYCRDT_CASES,
    comparable,
    from_oracle,
    mutate,
    random_pycrdt_updates,
    run_oracle,
    shape,
)


def oracle_shape(result: dict[str, Any]) -> dict[str, Any]:
    structs = []
    for s in result["structs"]:
        if s["kind"] == "Item":
            content = dict(s["content"])
            for field in ("values", "value", "opts"):
                if field in content:
                    content[field] = comparable(from_oracle(content[field]))
            if "data" in content:
                content["data"] = base64.b64decode(content["data"])
            s = {**s, "content": content}
        structs.append(s)
    return {"structs": structs, "ds": result["ds"]}


@pytest.fixture(scope="module")
def oracle_run() -> tuple[list[bytes], list[bytes], dict[str, Any]]:
    """One Node process: Yjs generates and decodes its own documents and decodes pycrdt's and mutants."""
    rng = random.Random(99)
    pycrdt_updates = [u for _ in range(PYCRDT_CASES) for u in random_pycrdt_updates(rng)]
    mutants = [mutate(rng, rng.choice(pycrdt_updates)) for _ in range(ORACLE_MUTANTS)]
    request = {
        "generate": {"seed": 7, "cases": NODE_CASES},
        "decode": [base64.b64encode(u).decode() for u in pycrdt_updates + mutants],
    }
    return pycrdt_updates, mutants, run_oracle(request)


def test_decoder_matches_yjs_on_yjs_documents(
    oracle_run: tuple[list[bytes], list[bytes], dict[str, Any]],
) -> None:
    generated = oracle_run[2]["generated"]
    assert len(generated) >= NODE_CASES * 4
    kinds: set[str] = set()
    for case in generated:
        assert case["decoded"]["ok"], case
        mine = shape(decode_update(base64.b64decode(case["update"])))
        assert mine == oracle_shape(case["decoded"]), case["update"]
        kinds.update(s["content"]["kind"] if s["kind"] == "Item" else s["kind"] for s in mine["structs"])
    assert kinds >= {"Any", "Binary", "Deleted", "Doc", "Embed", "Format", "GC", "Skip", "String", "Type"}


def test_decoder_matches_yjs_on_pycrdt_documents(
    oracle_run: tuple[list[bytes], list[bytes], dict[str, Any]],
) -> None:
    updates, _, result = oracle_run
    for update, decoded in zip(updates, result["decoded"], strict=False):
        assert decoded["ok"], decoded
        assert shape(decode_update(update)) == oracle_shape(decoded), base64.b64encode(update)


def test_mutants_agree_with_yjs_when_both_decode(
    oracle_run: tuple[list[bytes], list[bytes], dict[str, Any]],
) -> None:
    updates, mutants, result = oracle_run
    both = 0
    for mutant, decoded in zip(mutants, result["decoded"][len(updates) :], strict=True):
        try:
            mine = decode_update(mutant)
        except UpdateDecodeError:
            continue
        if decoded["ok"]:
            both += 1
            assert shape(mine) == oracle_shape(decoded), base64.b64encode(mutant)
    assert both > ORACLE_MUTANTS // 10


def test_index_of_yjs_documents_matches_pycrdt() -> None:
    """Full states written by Yjs (integers as var-ints, merged runs of overwritten entries, subdocs,
    nested types) indexed after pycrdt loads them: the index holds the values pycrdt shows."""
    generated = run_oracle({"generate": {"seed": 11, "cases": 60}})["generated"]
    compared = refused = 0
    for case in generated:
        state = base64.b64decode(case["update"])
        doc: Doc[Any] = Doc()
        try:
            doc.apply_update(state)
        except ValueError:  # yrs 0.28 cannot read the Y.XmlHook that Yjs writes
            refused += 1
            continue
        fields = doc.get("fields", type=Map)
        shown = {k: plain(v) for k, v in fields.items() if not isinstance(v, Doc)}
        index = FieldIndex.from_state(state, doc)
        assert {k: plain(v) for k, v in index.values().items() if k in shown} == shown
        compared += len(shown)
    assert compared > 100 and refused < len(generated) // 20
