"""CSV cells and field values, both ways (collab/records/csv_values.py): pure, no server."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from collab.errors import CsvInvalid
from collab.records.csv_values import (
    CellError,
    LinkTargets,
    csv_line,
    escape_cell,
    link_ids,
    read_csv,
    to_cell,
    to_value,
    unescape_cell,
)
from collab.records.schema import FieldSpec

pytestmark = pytest.mark.unit


def spec(kind: str, options: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(key="k", label="K", type=kind, options=options)


@pytest.mark.parametrize(
    ("kind", "cell", "value"),
    [
        ("text", "  Ada  ", "  Ada  "),
        ("text", "", None),
        ("text", "   ", None),
        ("richtext", "**bold**\nline", "**bold**\nline"),
        ("number", "42", 42),
        ("number", "-4", -4),
        ("number", " 12.5 ", 12.5),
        ("number", "1e3", 1000),
        ("number", "0.25", 0.25),
        ("boolean", "TRUE", True),
        ("boolean", "yes", True),
        ("boolean", "1", True),
        ("boolean", "No", False),
        ("boolean", "0", False),
        ("boolean", "false", False),
        ("date", "2024-02-29", "2024-02-29"),
        ("decimal", " 6000.5 ", "6000.5"),
        ("email", "a@b.example", "a@b.example"),
        ("link", "abc; def ;;", ["abc", "def"]),
        ("person", "u1", "u1"),
        ("text", "'=SUM(A1)", "=SUM(A1)"),  # an exported, escaped formula comes back as it was
        ("text", "''x", "'x"),
        ("text", "'plain", "'plain"),
    ],
)
def test_cells_become_values_of_their_type(kind: str, cell: str, value: Any) -> None:
    assert to_value(spec(kind), cell) == value


def test_choices_match_their_option_ignoring_case_and_lists_split_on_semicolons() -> None:
    choice = spec("select", ("Lead", "Customer"))
    assert to_value(choice, "lead") == "Lead"
    assert to_value(choice, "stranger") == "stranger"  # the schema check names it
    many = spec("multiselect", ("Red", "Blue"))
    assert to_value(many, "red; BLUE") == ["Red", "Blue"]


def test_people_are_named_by_id_or_email() -> None:
    people = {"ann@example.com": "u-ann"}
    assert to_value(spec("person"), "Ann@Example.com", people) == "u-ann"
    assert to_value(spec("person"), "u-bob", people) == "u-bob"
    assert to_value(spec("person"), "nobody@example.com", people) == "nobody@example.com"


@pytest.mark.parametrize(
    ("kind", "cell"),
    [
        ("number", "ten"),
        ("number", "1,5"),
        ("number", "nan"),
        ("number", "inf"),
        ("number", "1e999"),
        ("number", str(2**53)),
        ("boolean", "maybe"),
        ("date", "2024-02-30"),
        ("date", "20240101"),
        ("date", "01/02/2024"),
    ],
)
def test_cells_that_cannot_be_of_the_type_say_why(kind: str, cell: str) -> None:
    with pytest.raises(CellError):
        to_value(spec(kind), cell)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (5000, "5000"),
        (5000.0, "5000"),
        (12.5, "12.5"),
        (-5, "-5"),
        ("6000.00", "6000.00"),
        (["a", "b"], "a; b"),
        ("=HYPERLINK(x)", "'=HYPERLINK(x)"),
        ("+1 555", "'+1 555"),
        ("-x", "'-x"),
        ("@here", "'@here"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-5", "-5"),  # a plain number runs nothing
        ("'=x", "''=x"),
        ("'a", "'a"),
        (["=a", "b"], "'=a; b"),
    ],
)
def test_values_become_cells_and_formulas_are_escaped(value: Any, cell: str) -> None:
    assert to_cell(value) == cell


@pytest.mark.parametrize(
    "text", ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "'", "''", "'=", "'''=x", "'a", "a", "-5", "", "x'=y"]
)
def test_escaping_round_trips(text: str) -> None:
    assert unescape_cell(escape_cell(text)) == text
    assert not escape_cell(text).startswith(("=", "+", "@", "\t", "\r")) or not text


def test_files_with_a_bom_semicolons_quotes_and_blank_lines() -> None:
    data = '\ufeffName;Notes\r\nAda;"one; two\r\nthree"\r\n\r\nBob\r\n'.encode()
    table = read_csv(data, max_rows=10)
    assert table.headers == ["Name", "Notes"]
    assert table.rows == [["Ada", "one; two\r\nthree"], ["Bob", ""]]
    commas = read_csv(b'a,b\n1,"x,y"\n', max_rows=10)
    assert commas.rows == [["1", "x,y"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        ("Name\n\xe9\n".encode("latin-1"), "UTF-8"),
        (b"Name\n\x00\n", "NUL"),
        (b"a,a\n1,2\n", "twice"),
        (b"a\n1,2\n", "cells"),
        (b"a\n1\n2\n3\n", "at most 2"),
    ],
)
def test_unreadable_files_are_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(CsvInvalid, match=message):
        read_csv(data, max_rows=2)


def test_a_written_line_reads_back() -> None:
    cells = ["a,b", 'say "x"', "two\nlines", "", "'=1"]
    line = csv_line(cells)
    assert line.endswith("\r\n")
    assert next(csv.reader(io.StringIO(line, newline=""))) == cells


APOLLO, GEMINI, GEMINI_TOO, LIKE_AN_ID = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
TARGETS = LinkTargets(
    ids=frozenset({APOLLO, GEMINI}),
    titles={"apollo": (APOLLO,), "gemini": (GEMINI, GEMINI_TOO), APOLLO: (LIKE_AN_ID,)},
)


@pytest.mark.parametrize(
    ("items", "ids"),
    [
        (["Apollo"], [APOLLO]),  # a title, in any case
        (["APOLLO", GEMINI], [APOLLO, GEMINI]),  # titles and ids mixed, in order
        ([APOLLO], [APOLLO]),  # an id wins over a title that is the same text
        (["e" * 32], ["e" * 32]),  # an unknown id: left for the reference check
    ],
)
def test_link_items_are_ids_or_titles(items: list[str], ids: list[str]) -> None:
    assert link_ids(items, TARGETS) == ids


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["Gemini"], "2 records are titled «Gemini»"),
        (["Apollo", "Mercury"], "no record has the id or title «Mercury»"),
    ],
)
def test_a_title_of_several_records_or_of_none_is_an_error(items: list[str], message: str) -> None:
    with pytest.raises(CellError, match=message):
        link_ids(items, TARGETS)
