"""The list's totals beyond `EXACT` matches (collab/records/list_totals.py), both databases: one choice
of values or one checkbox alone is exact up to `EXACT` matches and estimated from a sample beyond, marked
as an estimate, while its page stays exact; a "must not" checkbox is never a difference of estimates. The
next pages of an estimate show it again, from their cursor, without counting; other filters count anew."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from sqlalchemy import event, insert

from auth.principal import Principal, Role
from collab.records import list_query
from collab.records.document import summarize
from collab.records.list_filters import value_tests
from collab.records.list_query import Cursor, encode_cursor
from collab.records.list_totals import EXACT
from collab.records.schema import specs_from_json
from collab.services import listing
from persistence.database import Database
from persistence.models import Collection, Record, RecordValue, Tenant
from persistence.record_values import values_of

COUNT = 13_000  # over EXACT
STAGES = ("lead", "prospect", "customer")
FIELDS: list[dict[str, Any]] = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "stage", "label": "Stage", "type": "select", "options": list(STAGES)},
    {"key": "active", "label": "Active", "type": "boolean"},
    {"key": "tags", "label": "Tags", "type": "multiselect", "options": ["a", "b"]},
]
TENANT, COLLECTION = "t" * 32, "c" * 32


def _fields(n: int) -> dict[str, Any]:
    return {"name": f"Firm {n:05}", "stage": STAGES[n % 3], "active": n % 20 != 0}


@pytest.fixture
async def listed(database_url: str) -> AsyncIterator[tuple[Database, Collection, Principal]]:
    """COUNT records straight through SQL (ids random but fixed, so the samples are too)."""
    rng = random.Random(1616)
    tenant = Tenant(id=TENANT, slug="default", name="T")
    collection = Collection(id=COLLECTION, tenant_id=TENANT, name="customers", label="C", fields=FIELDS)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    records, values = [], []
    for n in range(COUNT):
        record_id = f"{rng.getrandbits(128):032x}"
        summary, search_text = summarize(_fields(n))
        moment = start - dt.timedelta(minutes=n)
        records.append(
            {
                "id": record_id,
                "tenant_id": TENANT,
                "collection_id": COLLECTION,
                "created_at": moment,
                "updated_at": moment,
                "summary": summary,
                "search_text": search_text,
            }
        )
        values += [
            {
                "record_id": record_id,
                "tenant_id": TENANT,
                "collection_id": COLLECTION,
                "field": field,
                "text_value": text_value,
                "text_folded": folded,
                "number_value": number,
                "date_value": day,
                "bool_value": flag,
            }
            for field, text_value, folded, number, day, flag in values_of(summary)
        ]
    async with Database(database_url) as database:
        await database.migrate()
        async with database.session() as session, session.begin():
            session.add(tenant)
            await session.flush()
            session.add(collection)
        async with database.engine.begin() as connection:
            await connection.execute(insert(Record), records)
            await connection.execute(insert(RecordValue), values)
        principal = Principal("u" * 32, TENANT, "default", "a@example.com", "A", Role.ADMIN, "s")
        yield database, collection, principal


async def _page(listed: tuple[Database, Collection, Principal], params: Mapping[str, str]) -> listing.Page:
    database, collection, principal = listed
    query = list_query.parse(specs_from_json(collection.fields), params)
    async with database.session() as session, session.begin():
        return await listing.page(session, database.dialect, principal, collection, query)


def _numbers(page: listing.Page) -> list[int]:
    return [int(record.summary["name"].split()[-1]) for record in page.records if record.summary]


async def test_one_choice_or_checkbox_is_exact_up_to_its_bound_and_estimated_beyond(
    listed: tuple[Database, Collection, Principal],
) -> None:
    assert COUNT > EXACT
    exact: list[tuple[dict[str, str], Any]] = [
        ({"f.stage.in": "Lead,prospect"}, lambda f: f["stage"] != "customer"),  # 8,667
        ({"f.active.is": "false"}, lambda f: not f["active"]),  # 650: all less the 12,350 checked, counted
    ]
    for params, keep in exact:
        expected = [n for n in range(COUNT) if keep(_fields(n))]
        page = await _page(listed, {"sort": "name", **params})
        assert (page.total, page.total_is_estimate) == (len(expected), False), params
        assert _numbers(page) == expected[:50], params
    estimated: list[tuple[dict[str, str], Any]] = [
        ({"f.stage.in": ",".join(STAGES)}, lambda f: True),  # 13,000
        ({"f.active.is": "true"}, lambda f: f["active"]),  # 12,350
    ]
    for params, keep in estimated:
        expected = [n for n in range(COUNT) if keep(_fields(n))]
        page = await _page(listed, {"sort": "name", **params})
        assert page.total_is_estimate, params
        assert abs(page.total - len(expected)) <= len(expected) * 0.1, (params, page.total)
        seen = _numbers(page)
        assert seen == expected[:50], params
        following = await _page(listed, {"sort": "name", **params, "cursor": page.next_cursor or ""})
        assert _numbers(following) == expected[50:100], params


@pytest.mark.unit
def test_only_a_choice_or_a_checked_box_is_an_equality() -> None:
    collection = Collection(id=COLLECTION, tenant_id=TENANT, name="customers", label="C", fields=FIELDS)
    specs = specs_from_json(FIELDS)
    cases = {
        "f.stage.in": ("lead", True),
        "f.active.is": ("true", True),
        "f.name.contains": ("firm", False),
        "f.name.empty": ("0", False),  # not empty: every value
        "f.tags.in": ("a", False),  # a multiselect: several rows per record
    }
    for name, (raw, equality) in cases.items():
        query = list_query.parse(specs, {name: raw})
        (test,) = value_tests(query, float, collection, sqlite=False)
        assert test.equality is equality, name
    both = list_query.parse(specs, {"f.stage.in": "lead", "f.stage.empty": "0"})
    assert [test.equality for test in value_tests(both, float, collection, sqlite=True)] == [False]
    unchecked = list_query.parse(specs, {"f.active.is": "false"})
    assert [test.equality for test in value_tests(unchecked, float, collection, sqlite=False)] == [False]


async def test_the_next_pages_of_an_estimate_show_it_again_without_counting(
    listed: tuple[Database, Collection, Principal],
) -> None:
    database = listed[0]
    params = {"sort": "name", "f.active.is": "true", "limit": "200"}
    first = await _page(listed, params)
    assert first.total_is_estimate and first.next_cursor is not None
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        second = await _page(listed, {**params, "cursor": first.next_cursor})
        counted = [statement for statement in statements if "count(" in statement]
        assert (second.total, second.total_is_estimate, counted) == (first.total, True, [])
        # The same cursor with other filters: its estimate was not made for them, so they are counted.
        statements.clear()
        other = await _page(listed, {**params, "f.stage.in": "lead", "cursor": first.next_cursor})
        assert [statement for statement in statements if "count(" in statement]
        assert other.total != first.total
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    expected = [n for n in range(COUNT) if _fields(n)["active"]]
    assert _numbers(first) + _numbers(second) == expected[:400]
    # An exact total is counted on every page (it may have changed since; a count is cheap there).
    lead = {"sort": "name", "f.stage.in": "lead"}
    exact = await _page(listed, lead)
    assert not exact.total_is_estimate and exact.next_cursor is not None
    following = list_query.parse(specs_from_json(FIELDS), {**lead, "cursor": exact.next_cursor})
    assert following.cursor is not None and following.cursor.total is None


@pytest.mark.unit
def test_a_cursor_carries_its_estimate_only_to_the_same_filters() -> None:
    specs = specs_from_json(FIELDS)
    query = list_query.parse(specs, {"sort": "name", "f.active.is": "true", "q": "firm"})
    token = encode_cursor(query, Cursor(False, "firm 00042", "ab" * 16, 12_345))
    again = list_query.parse(specs, {"sort": "name", "q": "Firm ", "f.active.is": "true", "cursor": token})
    assert again.cursor == Cursor(False, "firm 00042", "ab" * 16, 12_345)
    position = Cursor(False, "firm 00042", "ab" * 16)  # the same, without the estimate
    for others in (
        {"f.active.is": "false", "q": "firm"},
        {"f.active.is": "true", "q": "firms"},
        {"f.active.is": "true", "q": "firm", "updated_within_days": "7"},
        {"f.active.is": "true"},
    ):
        assert list_query.parse(specs, {"sort": "name", **others, "cursor": token}).cursor == position
    # A cursor of the version before (no estimate) is still read, as a position alone.
    payload = json.dumps([1, "name", False, False, "firm 00042", "ab" * 16], separators=(",", ":")).encode()
    old = base64.urlsafe_b64encode(list_query._check(payload) + payload).decode().rstrip("=")
    assert list_query.parse(specs, {"sort": "name", "cursor": old}).cursor == position
