"""JSON as both databases store it (persistence/stored_json.py): a write of what no database or reader can
hold is refused, derived values are repaired, and old rows read back whatever they hold."""

from __future__ import annotations

import math

import pytest

from persistence.errors import UnstorableValue
from persistence.stored_json import derived_text, dumps, dumps_derived, loads

pytestmark = pytest.mark.unit


def test_plain_values_are_compact_and_readable() -> None:
    assert dumps({"a": [1, 2.5, "é"], "b": None}) == '{"a":[1,2.5,"é"],"b":null}'
    assert dumps("nul \x00 stays escaped") == '"nul \\u0000 stays escaped"'
    assert loads(dumps({"x": ["y"]})) == {"x": ["y"]}


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, {"a": [math.nan]}, "\ud800", {"\udc00": 1}, ["ok", "x\udbffy"]]
)
def test_what_no_database_can_hold_is_refused(value: object) -> None:
    with pytest.raises(UnstorableValue):
        dumps(value)


def test_a_value_nested_too_deeply_is_refused() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(UnstorableValue):
        dumps(deep)


def test_derived_values_are_repaired_instead() -> None:
    assert dumps_derived({"n": math.inf, "s": "a\ud800b", "ok": 1}) == '{"n":null,"s":"a\ufffdb","ok":1}'
    assert derived_text("x\udfffy") == "x\ufffdy"


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ('{"n": NaN}', {"n": None}),
        ("[Infinity, -Infinity]", [None, None]),
        ('{"n": 1e999}', {"n": None}),
        ('"\\ud800"', "\ufffd"),
        ('{"\\udc00": "\\ud83d\\udc3c"}', {"\ufffd": "🐼"}),  # a valid pair stays one character
        (b'{"a": 1}', {"a": 1}),
    ],
)
def test_rows_written_before_the_rules_are_read(stored: str | bytes, read: object) -> None:
    assert loads(stored) == read


def test_long_text_that_is_not_all_ascii_is_checked_for_lone_surrogates_too() -> None:
    # The check skips what is all ASCII and only then looks further: text past that must still be checked.
    valid = "é🐼" * 10_000
    assert dumps(valid) == f'"{valid}"'
    assert derived_text(valid) == valid
    with pytest.raises(UnstorableValue):
        dumps(valid + "\ud800")
    assert derived_text("é\udc00") == "é\ufffd"
