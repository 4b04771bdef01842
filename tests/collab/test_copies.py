"""What a duplicate starts with (collab/records/copies.py) and a record's title (collab/records/title.py)."""

from __future__ import annotations

from typing import Any

import pytest

from collab.records.copies import copyable_values
from collab.records.schema import specs_from_json
from collab.records.title import title_of

pytestmark = pytest.mark.unit

FIELDS: list[dict[str, Any]] = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "code", "label": "Code", "type": "text", "unique": True},
    {"key": "revenue", "label": "Revenue", "type": "number"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "customer"]},
    {"key": "notes", "label": "Notes", "type": "richtext"},
]


def test_a_copy_takes_every_fitting_value_but_unique_ones() -> None:
    values = {"name": "Panda", "code": "P-1", "revenue": 5, "stage": "lead", "notes": "**bold**"}
    assert copyable_values(specs_from_json(FIELDS), values) == {
        "name": "Panda",
        "revenue": 5,
        "stage": "lead",
        "notes": "**bold**",
    }


def test_values_that_no_longer_fit_or_belong_are_left_out() -> None:
    values = {"name": "Panda", "revenue": "lots", "stage": "gone", "dropped": 1, "notes": None}
    assert copyable_values(specs_from_json(FIELDS), values) == {"name": "Panda"}


def test_the_title_is_the_first_text_field() -> None:
    assert title_of({"name": "Panda", "code": "P-1"}, FIELDS) == "Panda"
    assert title_of({"name": "  ", "code": "P-1"}, FIELDS) is None
    assert title_of({"revenue": 5}, FIELDS) is None
    assert title_of(None, FIELDS) is None
    assert title_of({"name": "Panda"}, [{"key": "n", "type": "number"}]) is None
