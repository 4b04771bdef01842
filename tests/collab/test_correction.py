"""`fits` (collab/records/correction.py): the room skips `correct` when it says every changed value fits,
so it must never say so when `correct` would write something or give a reason."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text

from collab.records.correction import correct, fits
from collab.records.document import fields_map, read_fields
from collab.records.schema import MAX_TEXT_CHARS, FieldSpec

pytestmark = pytest.mark.unit

ID_A = "a" * 32
SPECS = [
    FieldSpec("name", "Name", "text", required=True),
    FieldSpec("notes", "Notes", "richtext"),
    FieldSpec("brief", "Brief", "richtext", required=True),
    FieldSpec("revenue", "Revenue", "number"),
    FieldSpec("active", "Active", "boolean"),
    FieldSpec("due", "Due", "date"),
    FieldSpec("stage", "Stage", "select", ("lead", "customer")),
    FieldSpec("email", "Email", "email"),
    FieldSpec("site", "Site", "url"),
    FieldSpec("phone", "Phone", "phone"),
    FieldSpec("tags", "Tags", "multiselect", ("red", "green")),
    FieldSpec("rate", "Rate", "decimal", scale=2),
    FieldSpec("owner", "Owner", "person"),
    FieldSpec("project", "Project", "link", target="projects"),
    FieldSpec("team", "Team", "link", target="projects", many=True),
    FieldSpec("old", "Old", "text", required=True, archived=True),
]
KEYS = [spec.key for spec in SPECS] + ["unknown"]
PLAIN = [
    "", "  ", "Ada", " Ada ", "x" * (MAX_TEXT_CHARS + 1), "a@example.com", " a@example.com ", "https://x.org",
    "javascript:x", "+1 555 0100", "2024-01-31", "2024-02-30", "lead", "red", "12.50", "12.5", "1e3", ID_A,
    0, 5, 5.5, 2**54, -1.0, True, False, [], ["red"], ["red", "red"], ["blue"], [ID_A], [ID_A, ID_A], [1],
    {"a": 1},
]  # fmt: skip
SHARED = ["text", "long text", "map", "array"]


def _shared(kind: str) -> Any:
    if kind == "text":
        return Text("hello")
    if kind == "long text":
        return Text("é" * (MAX_TEXT_CHARS - 10) + "x" * 20)
    if kind == "map":
        return Map({"a": 1})
    return Array([1])


def _case(rng: random.Random) -> tuple[Doc, dict[str, Any]]:
    """A document whose changed keys were set (or deleted) by an edit; returns it and their values before."""
    doc: Doc = Doc()
    target = fields_map(doc)
    before: dict[str, Any] = {}
    for key in rng.sample(KEYS, rng.randint(1, 3)):
        before[key] = rng.choice([None, "Ada", "lead", 5, ["red"], "12.50", True])
        choice = rng.random()
        if choice < 0.15:
            continue  # absent after the edit
        target[key] = rng.choice(PLAIN) if choice < 0.75 else _shared(rng.choice(SHARED))
    return doc, before


def test_fits_only_when_correct_writes_nothing() -> None:
    rng = random.Random(17)
    by_key = {spec.key: spec for spec in SPECS}
    judged = {True: 0, False: 0}
    for _ in range(3000):
        doc, before = _case(rng)
        target = fields_map(doc)
        values = read_fields(doc)
        texts = {key for key in before if key in target and isinstance(target[key], Text)}
        nested = {key for key in before if key in target and isinstance(target[key], Map | Array)}
        verdict = fits(by_key, before, values, texts, nested)
        judged[verdict] += 1
        update, reasons = correct(doc, SPECS, before)
        if verdict:
            assert (update, reasons) == (None, {}), (before, values)
    assert judged[True] > 150 and judged[False] > 150  # both answers were exercised


def test_a_fitting_edit_of_each_kind_fits() -> None:
    by_key = {spec.key: spec for spec in SPECS}
    values = {"name": "Ada", "notes": "hello", "revenue": 5, "stage": "lead", "tags": ["red"], "rate": "1.50"}
    before = dict.fromkeys(values, None) | {"due": None, "unknown": None}
    assert fits(by_key, before, values, {"notes"})
    assert not fits(by_key, before, values, set())  # a rich-text field holding a plain string
    assert not fits(by_key, before, values, {"notes", "name"})  # a text field holding a Y.Text
    assert not fits(by_key, before, values | {"unknown": 1}, {"notes"})
    assert not fits(by_key, {"name": "Ada"}, {}, set())  # a required value deleted
    assert not fits(by_key, {"rate": None}, {"rate": "1.5"}, set())  # fits, but not in its stored form
