"""Totals and pages of the list (collab/services/listing.py) on a few thousand records, both databases:
exact totals where they are cheap (no filter: the kept count; one filter; a "must not"; few candidates),
an estimate marked as one when more than the count's budget of candidates must each be tested, and pages
that are exact either way (a rare match is gathered, a search that matches nothing reads no page)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from sqlalchemy import event, insert

from auth.principal import Principal, Role
from collab.records import list_query
from collab.records.document import summarize
from collab.records.schema import specs_from_json
from collab.services import listing
from persistence.database import Database
from persistence.models import Collection, Record, RecordValue, Tenant
from persistence.record_values import values_of

COUNT = 3000
STAGES = ("lead", "prospect", "customer")
FIELDS = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "revenue", "label": "Revenue", "type": "number"},
    {"key": "stage", "label": "Stage", "type": "select", "options": list(STAGES)},
    {"key": "active", "label": "Active", "type": "boolean"},
]


def _fields(n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"revenue": n, "stage": STAGES[n % 3], "active": n % 4 == 0}
    if n % 10:  # every tenth has no name
        fields["name"] = f"Firm {n}" + (" rare" if n in (7, 1234, 2999) else "")
    return fields


@pytest.fixture
async def listed(database_url: str) -> AsyncIterator[tuple[Database, Collection, Principal]]:
    """COUNT records straight through SQL (ids random but fixed, so samples are too), created a minute
    apart: record n is the n-th newest."""
    rng = random.Random(16)
    tenant = Tenant(id="t" * 32, slug="default", name="T")
    collection = Collection(id="c" * 32, tenant_id=tenant.id, name="customers", label="C", fields=FIELDS)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    records, values = [], []
    for n in range(COUNT):
        record_id = f"{rng.getrandbits(128):032x}"
        summary, search_text = summarize(_fields(n))
        moment = start - dt.timedelta(minutes=n)
        records.append(
            {
                "id": record_id,
                "tenant_id": tenant.id,
                "collection_id": collection.id,
                "created_at": moment,
                "updated_at": moment,
                "summary": summary,
                "search_text": search_text,
            }
        )
        values += [
            {
                "record_id": record_id,
                "tenant_id": tenant.id,
                "collection_id": collection.id,
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
        principal = Principal("u" * 32, tenant.id, "default", "a@example.com", "A", Role.ADMIN, "s")
        yield database, collection, principal


async def _page(listed: tuple[Database, Collection, Principal], params: Mapping[str, str]) -> listing.Page:
    database, collection, principal = listed
    query = list_query.parse(specs_from_json(collection.fields), params)
    async with database.session() as session, session.begin():
        return await listing.page(session, database.dialect, principal, collection, query)


def _names(page: listing.Page) -> list[int]:
    return [int(record.summary["revenue"]) for record in page.records if record.summary]


def _expected(keep: Any) -> list[int]:
    return [n for n in range(COUNT) if keep(_fields(n))]  # newest first: n ascending


async def test_exact_totals_where_they_are_cheap(listed: tuple[Database, Collection, Principal]) -> None:
    cases: list[tuple[dict[str, str], Any]] = [
        ({}, lambda f: True),
        ({"f.revenue.gte": "1000"}, lambda f: f["revenue"] >= 1000),
        ({"f.name.empty": "1"}, lambda f: "name" not in f),
        (
            {"f.active.is": "false", "f.revenue.gte": "2500"},
            lambda f: not f["active"] and f["revenue"] >= 2500,
        ),
        (
            {"f.revenue.lte": "499", "f.stage.in": "Lead"},
            lambda f: f["revenue"] <= 499 and f["stage"] == "lead",
        ),
        ({"f.name.contains": "RARE"}, lambda f: "rare" in f.get("name", "")),
        ({"q": "rare"}, lambda f: "rare" in f.get("name", "")),
        ({"q": "nowhere at all"}, lambda f: False),
    ]
    for params, keep in cases:
        page = await _page(listed, {"limit": "50", **params})
        expected = _expected(keep)
        assert (page.total, page.total_is_estimate) == (len(expected), False), params
        assert _names(page) == expected[:50], params
        assert (page.next_cursor is None) == (len(expected) <= 50), params


async def test_many_candidates_to_test_give_an_estimate_and_exact_pages(
    listed: tuple[Database, Collection, Principal],
) -> None:
    # The range (the likeliest selective filter) holds all 3,000: each would need its stage tested.
    params = {"f.revenue.gte": "0", "f.revenue.lte": "2999", "f.stage.in": "lead", "limit": "200"}
    expected = _expected(lambda f: f["stage"] == "lead")
    page = await _page(listed, params)
    assert page.total_is_estimate
    assert abs(page.total - len(expected)) <= len(expected) * 0.1, page.total
    seen = _names(page)
    while page.next_cursor is not None:
        page = await _page(listed, {**params, "cursor": page.next_cursor})
        seen += _names(page)
    assert seen == expected
    # Many changed lately, sorted by a field: the page walks the field's index (not the time range).
    recent = await _page(listed, {"updated_within_days": "36500", "f.active.is": "true", "sort": "name"})
    active = sorted(
        (f["name"].casefold(), f["revenue"])
        for f in map(_fields, range(COUNT))
        if f["active"] and "name" in f
    )
    assert recent.total_is_estimate and _names(recent) == [n for _, n in active[:50]]
    # A search over many records is estimated too.
    searched = await _page(listed, {"q": "firm"})
    named = _expected(lambda f: "name" in f)
    assert searched.total_is_estimate and abs(searched.total - len(named)) <= len(named) * 0.15
    assert _names(searched) == named[:50]


async def test_a_rare_text_is_read_once(listed: tuple[Database, Collection, Principal]) -> None:
    """A rare search or "contains" reads its matches' ids once: the total is their number, the page is
    them sorted, and nothing is counted (a search with no match reads no page at all)."""
    database = listed[0]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("SELECT set_config"):  # PostgreSQL's per-list settings
            statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        nothing = await _page(listed, {"q": "nowhere at all"})
        assert (nothing.total, nothing.records, len(statements)) == (0, [], 1)
        statements.clear()
        rare = await _page(listed, {"f.name.contains": "rare"})
        assert (rare.total, _names(rare), len(statements)) == (3, [7, 1234, 2999], 2)
        assert not any("count(" in statement for statement in statements)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
