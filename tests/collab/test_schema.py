"""Collection schemas and values checked against them (collab/records/schema.py): every problem is named,
and no value gets through that Yjs, a database or a client could not hold."""

from __future__ import annotations

from typing import Any

import pytest

from collab.records.schema import (
    MAX_SAFE_INTEGER,
    MAX_TEXT_CHARS,
    FieldSpec,
    check_values,
    is_date,
    parse_collection,
    specs_from_json,
    valid_unicode,
)

pytestmark = pytest.mark.unit

SPECS = [
    FieldSpec("name", "Name", "text"),
    FieldSpec("notes", "Notes", "richtext"),
    FieldSpec("revenue", "Revenue", "number"),
    FieldSpec("active", "Active", "boolean"),
    FieldSpec("next_call", "Next call", "date"),
    FieldSpec("stage", "Stage", "select", ("lead", "won")),
]


def problems(call: Any, *args: Any) -> dict[str, str]:
    """The `errors` of the SchemaError (a ValueError) that `call(*args)` raises."""
    with pytest.raises(ValueError) as raised:
        call(*args)
    found: dict[str, str] = raised.value.errors  # type: ignore[attr-defined]
    return found


def test_a_collection_definition_is_parsed() -> None:
    name, label, specs = parse_collection(
        {
            "name": "deals",
            "label": "Deals",
            "fields": [
                {"key": "title", "type": "text"},
                {"key": "stage", "label": "Stage", "type": "select", "options": ["a", "b"]},
            ],
        }
    )
    assert (name, label) == ("deals", "Deals")
    assert specs == [FieldSpec("title", "title", "text"), FieldSpec("stage", "Stage", "select", ("a", "b"))]
    assert [spec.as_json() for spec in specs] == [
        {"key": "title", "label": "title", "type": "text"},
        {"key": "stage", "label": "Stage", "type": "select", "options": ["a", "b"]},
    ]
    assert specs_from_json([spec.as_json() for spec in specs]) == specs


def test_every_problem_of_a_definition_is_listed() -> None:
    found = problems(
        parse_collection,
        {
            "name": "Not A Name",
            "label": "",
            "fields": [
                {"key": "ok", "type": "text"},
                {"key": "ok", "type": "text"},
                {"key": "9bad", "type": "text"},
                {"key": "kind", "type": "colour"},
                {"key": "pick", "type": "select", "options": []},
                "not an object",
            ],
        },
    )
    assert set(found) == {"name", "label", "fields[1]", "fields[2]", "fields[3]", "fields[4]", "fields[5]"}
    assert problems(parse_collection, ["a list"]) == {"body": "expected a JSON object"}
    assert "fields" in problems(parse_collection, {"name": "x", "fields": [{}] * 201})


def test_values_of_each_type() -> None:
    good = {
        "name": "Panda",
        "notes": "Met in Lyon",
        "revenue": 12.5,
        "active": False,
        "next_call": "2024-02-29",
        "stage": "won",
    }
    assert check_values(SPECS, good) == good
    assert check_values(SPECS, dict.fromkeys(good)) == dict.fromkeys(good)  # None clears a field


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", 5),
        ("name", "x" * (MAX_TEXT_CHARS + 1)),
        ("name", "lone \ud800 surrogate"),
        ("revenue", "5"),
        ("revenue", True),  # a bool is an int in Python, not a number in JSON
        ("revenue", float("nan")),
        ("revenue", float("inf")),
        ("revenue", MAX_SAFE_INTEGER + 1),
        ("active", 1),
        ("next_call", "2023-02-29"),
        ("next_call", "20240101"),
        ("stage", "lost"),
        ("unknown", "x"),
    ],
)
def test_values_that_do_not_fit_are_named(key: str, value: Any) -> None:
    assert set(problems(check_values, SPECS, {key: value})) == {key}


def test_values_must_be_an_object() -> None:
    assert problems(check_values, SPECS, ["name"]) == {"fields": "expected an object of field values"}


def test_the_largest_safe_integers_pass() -> None:
    assert check_values(SPECS, {"revenue": MAX_SAFE_INTEGER}) == {"revenue": MAX_SAFE_INTEGER}
    assert check_values(SPECS, {"revenue": -MAX_SAFE_INTEGER}) == {"revenue": -MAX_SAFE_INTEGER}


def test_dates_and_unicode() -> None:
    assert is_date("2024-12-31") and not is_date("2024-13-01") and not is_date("2024-W01-1")
    assert valid_unicode("emoji 🐼 pairs are fine") and not valid_unicode("\udc00")
