"""A lone "F is empty" filter's total (collab/records/list_totals.py), both databases: the live records
less the field's values of its type, both kept by the database (`record_counts`, `value_counts`), so it
reads no value row; with other filters it is counted as before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from auth.principal import Principal, Role
from collab.records import list_query
from collab.records.document import summarize
from collab.records.schema import specs_from_json
from collab.services import listing
from persistence import record_values
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, ValueCount

FIELDS: list[dict[str, Any]] = [
    {"key": "email", "label": "Email", "type": "text"},
    {"key": "revenue", "label": "Revenue", "type": "number"},
    {"key": "tags", "label": "Tags", "type": "multiselect", "options": ["a", "b"]},
]
TENANT, COLLECTION = "t" * 32, "c" * 32
COUNT = 40


def _fields(n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if n % 4:
        fields["email"] = f"{n}@example.com"
    if n % 5 == 0:
        fields["revenue"] = n
    elif n % 5 == 1:
        fields["revenue"] = "not a number"  # a text in a number field: empty to the list
    return fields


@pytest.fixture
async def listed(database_url: str) -> AsyncIterator[tuple[Database, Collection, Principal]]:
    async with Database(database_url) as database:
        await database.migrate()
        collection = Collection(id=COLLECTION, tenant_id=TENANT, name="customers", label="C", fields=FIELDS)
        async with database.session() as session, session.begin():
            session.add(Tenant(id=TENANT, slug="default", name="T"))
            await session.flush()
            session.add(collection)
            await session.flush()
            for n in range(COUNT):
                summary, search_text = summarize(_fields(n))
                record = Record(
                    id=f"{n:02x}" * 16,
                    tenant_id=TENANT,
                    collection_id=COLLECTION,
                    summary=summary,
                    search_text=search_text,
                )
                session.add(record)
                await session.flush()
                session.add_all(record_values.orm_rows(record, summary))
        principal = Principal("u" * 32, TENANT, "default", "a@example.com", "A", Role.ADMIN, "s")
        yield database, collection, principal


async def _total(listed: tuple[Database, Collection, Principal], params: Mapping[str, str]) -> int | None:
    database, collection, principal = listed
    query = list_query.parse(specs_from_json(collection.fields), params)
    async with database.session() as session, session.begin():
        page = await listing.page(session, database.dialect, principal, collection, query)
    assert not page.total_is_estimate
    return page.total


async def _miscount(database: Database, by: int) -> None:
    """Make the kept count of emails wrong (a stripe no writer uses), to see whether a total reads it."""
    async with database.session() as session, session.begin():
        counts = {"texts": by, "numbers": 0, "dates": 0, "bools": 0, "decimals": 0}
        session.add(
            ValueCount(collection_id=COLLECTION, field="email", stripe="zz", tenant_id=TENANT, **counts)
        )


async def test_a_lone_empty_filter_is_the_live_records_less_the_kept_values(
    listed: tuple[Database, Collection, Principal],
) -> None:
    emails = sum(1 for n in range(COUNT) if "email" in _fields(n))
    numbers = sum(1 for n in range(COUNT) if isinstance(_fields(n).get("revenue"), int))
    assert await _total(listed, {"f.email.empty": "1"}) == COUNT - emails
    assert await _total(listed, {"f.revenue.empty": "1"}) == COUNT - numbers
    assert await _total(listed, {"f.tags.empty": "1"}) == COUNT  # a multi-valued field: counted as before

    await _miscount(listed[0], 3)  # three too many
    assert await _total(listed, {"f.email.empty": "1"}) == COUNT - emails - 3
    # Not alone, or not "empty": counted from the value rows, as before.
    assert await _total(listed, {"f.email.empty": "0"}) == emails
    neither = sum(1 for n in range(COUNT) if "email" not in _fields(n) and n % 5 != 0)
    assert await _total(listed, {"f.email.empty": "1", "f.revenue.empty": "1"}) == neither
