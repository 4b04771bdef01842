"""A record's values in its Yjs document (collab/records/document.py): written in one transaction,
unchanged values left alone, read back as JSON, summarised for lists and search."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Text

from collab.records.document import (
    SEARCH_TEXT_CHARS,
    SUMMARY_TEXT_CHARS,
    fields_map,
    read_fields,
    summarize,
    tidy,
    write_fields,
)
from collab.records.schema import FieldSpec

pytestmark = pytest.mark.unit

SPECS = [FieldSpec("name", "Name", "text"), FieldSpec("notes", "Notes", "richtext")]


def test_written_values_read_back_and_travel_as_one_update() -> None:
    doc = Doc()
    update = write_fields(doc, SPECS, {"name": "Panda", "notes": "Met in Lyon", "revenue": 3})
    assert read_fields(doc) == {"name": "Panda", "notes": "Met in Lyon", "revenue": 3}
    assert isinstance(fields_map(doc)["notes"], Text)
    elsewhere = Doc()
    elsewhere.apply_update(update)
    assert read_fields(elsewhere) == read_fields(doc)


def test_an_unchanged_value_is_not_written_again() -> None:
    doc = Doc()
    write_fields(doc, SPECS, {"name": "Panda", "revenue": 3})
    before = doc.get_state()
    write_fields(doc, SPECS, {"name": "Panda", "revenue": 3.0})  # Yjs numbers are doubles: 3 == 3.0
    assert doc.get_state() == before


def test_rich_text_is_replaced_in_place_and_none_clears() -> None:
    doc = Doc()
    write_fields(doc, SPECS, {"notes": "first"})
    text = fields_map(doc)["notes"]
    write_fields(doc, SPECS, {"notes": "second"})
    assert str(text) == "second"  # the same Y.Text, so cursors in it stay
    write_fields(doc, SPECS, {"notes": None})
    assert "notes" not in read_fields(doc)


def test_tidy_makes_values_json_ready() -> None:
    assert tidy(3.0) == 3 and isinstance(tidy(3.0), int)
    assert tidy(2.5) == 2.5
    assert tidy(float("inf")) is None and tidy(float("nan")) is None
    assert tidy(2.0**60) == 2.0**60  # beyond 2^53 a double stays a double
    assert tidy(b"\x00\x01") == "AAE="
    assert tidy({"a": [1.0, {"b": b"x"}]}) == {"a": [1, {"b": "eA=="}]}
    assert tidy(True) is True


def test_summaries_shorten_long_texts_and_search_text_is_lower_case() -> None:
    summary, words = summarize({"name": "Panda LTD", "notes": "n" * 500, "revenue": 3})
    assert summary["name"] == "Panda LTD" and summary["revenue"] == 3
    assert summary["notes"] == "n" * SUMMARY_TEXT_CHARS + "…"
    assert words.startswith("panda ltd ")
    _, long_words = summarize({"notes": "a\x00b" * SEARCH_TEXT_CHARS})
    assert len(long_words) == SEARCH_TEXT_CHARS and "\x00" not in long_words
