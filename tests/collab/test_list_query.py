"""Reading a list request's parameters against the schema, and the keyset cursor's round trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from collab.errors import InvalidArgument
from collab.records.list_query import Cursor, Filter, decode_cursor, encode_cursor, parse
from collab.records.records import SAMPLE_COLLECTION
from collab.records.schema import specs_from_json

pytestmark = pytest.mark.unit

SPECS = specs_from_json(SAMPLE_COLLECTION["fields"])  # type: ignore[arg-type]


def test_defaults_are_newest_first() -> None:
    query = parse(SPECS, {})
    assert (query.sort, query.kind, query.descending, query.limit) == ("created_at", "time", True, 50)
    assert parse(SPECS, {"sort": "revenue"}).descending is False


def test_filters_are_typed_by_their_field() -> None:
    query = parse(
        SPECS,
        {
            "f.name.contains": "Ada",
            "f.revenue.gte": "1.10",
            "f.next_call.lte": "2024-02-29",
            "f.stage.in": "lead,customer",
            "f.active.is": "false",
            "f.email.empty": "1",
            "q": "  Mixed Case ",
        },
    )
    assert query.filters == (
        Filter("name", "text", "contains", "Ada"),
        Filter("revenue", "number", "gte", Decimal("1.10")),
        Filter("next_call", "date", "lte", dt.date(2024, 2, 29)),
        Filter("stage", "text", "in", ("lead", "customer")),
        Filter("active", "bool", "is", False),
        Filter("email", "text", "empty", True),
    )
    assert query.search == "mixed case"


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"sort": "nope"}, "nope"),
        ({"order": "up"}, "order"),
        ({"limit": "201"}, "limit"),
        ({"offset": "5"}, "cursor"),
        ({"f.nope.in": "a"}, "nope"),
        ({"f.revenue.contains": "1"}, "contains"),
        ({"f.revenue": "1"}, "operator"),
        ({"f.revenue.gte": "1e"}, "number"),
        ({"f.revenue.lte": "Infinity"}, "finite"),
        ({"f.revenue.lte": "1e999999999"}, "range"),
        ({"f.next_call.gte": "2023-02-29"}, "YYYY-MM-DD"),
        ({"f.name.contains": ""}, "text"),
        ({"f.name.contains": "a\x00b"}, "NUL"),
        ({"f.stage.in": ",".join("x" * 101)}, "1 to 100"),
        ({"updated_within_days": "0"}, "updated_within_days"),
    ],
)
def test_bad_parameters_are_invalid_arguments_that_say_which(params: dict[str, str], names: str) -> None:
    with pytest.raises(InvalidArgument, match=names):
        parse(SPECS, params)


@pytest.mark.parametrize(
    ("sort", "kind", "value"),
    [
        ("created_at", "time", dt.datetime(2024, 5, 1, 12, 30, 0, 12, tzinfo=dt.UTC)),
        ("name", "text", 'émile "quoted" ✓'),
        ("revenue", "number", Decimal("-12.50")),
        ("revenue", "number", 0.1),
        ("next_call", "date", dt.date(2024, 2, 29)),
        ("active", "bool", False),
    ],
)
def test_a_cursor_comes_back_as_the_position_it_names(sort: str, kind: str, value: object) -> None:
    query = parse(SPECS, {"sort": sort})
    token = encode_cursor(query, Cursor(False, value, "ab" * 16))
    back = decode_cursor(token, sort, "desc" if query.descending else "asc", kind)
    expected = Decimal(str(value)) if kind == "number" else value
    assert back == Cursor(False, expected, "ab" * 16)
    assert parse(SPECS, {"sort": sort, "cursor": token}).cursor == back
    empty = encode_cursor(query, Cursor(True, None, "cd" * 16))
    assert parse(SPECS, {"sort": sort, "cursor": empty}).cursor == Cursor(True, None, "cd" * 16)


def test_an_altered_or_foreign_cursor_is_refused() -> None:
    query = parse(SPECS, {"sort": "revenue"})
    token = encode_cursor(query, Cursor(False, Decimal(10), "ab" * 16))
    for position in range(len(token)):
        changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        with pytest.raises(InvalidArgument, match="cursor"):
            parse(SPECS, {"sort": "revenue", "cursor": changed})
    for params in ({"sort": "name"}, {"sort": "revenue", "order": "desc"}):
        with pytest.raises(InvalidArgument, match="another sort"):
            parse(SPECS, {**params, "cursor": token})
    for junk in ("", "=", "!!!!", token[:-3], token + "AAAA"):
        if junk:
            with pytest.raises(InvalidArgument, match="cursor"):
                parse(SPECS, {"sort": "revenue", "cursor": junk})
