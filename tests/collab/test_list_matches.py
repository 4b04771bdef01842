"""A rare search or "contains" through trigram indexes (collab/records/list_matches.py, migration 0015), as
the application's role under row-level security: the same records as reading every text, only ever the
caller's tenant's, whatever the pattern."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from auth.principal import Principal, Role
from collab.records import list_query
from collab.records.schema import specs_from_json
from collab.services import listing
from persistence.database import Database
from persistence.models import Collection, Record, Tenant
from persistence.record_values import orm_rows
from persistence.tenant_scope import APP_ROLE, system_scope, tenant_scope

FIELDS = [{"key": "name", "label": "Name", "type": "text"}, {"key": "n", "label": "N", "type": "number"}]
# Each tenant's names: texts with LIKE's special characters, to be found literally.
NAMES = ["Rare one", "rare two", "Common", "50% off", "5x off", "a_b", "axb", "back/slash", "Other"]
TENANTS = ("a" * 32, "b" * 32)


@pytest.fixture
async def tenants(database_url: str) -> AsyncIterator[Database]:
    """Two tenants with a collection each, holding the same names (the second's ids are its own)."""
    async with Database(database_url) as owner:
        await owner.migrate()
        async with owner.session() as session, session.begin():
            session.add_all(
                Tenant(id=tenant_id, slug=tenant_id[:8], name=tenant_id[:8]) for tenant_id in TENANTS
            )
            await session.flush()
            session.add_all(_collection(tenant_id) for tenant_id in TENANTS)
            await session.flush()
            for tenant_id in TENANTS:
                for n, name in enumerate(NAMES):
                    record = Record(
                        id=f"{tenant_id[0]}{n:031x}",
                        tenant_id=tenant_id,
                        collection_id=_collection(tenant_id).id,
                        summary={"name": name, "n": n},
                        search_text=f"{name.lower()} {n}",
                    )
                    session.add(record)
                    await session.flush()
                    session.add_all(orm_rows(record, record.summary))
    async with Database(database_url, role=APP_ROLE if "postgresql" in database_url else None) as app:
        yield app


def _collection(tenant_id: str) -> Collection:
    return Collection(
        id=tenant_id[0] + "c" * 31, tenant_id=tenant_id, name="things", label="T", fields=FIELDS
    )


async def _names(database: Database, tenant_id: str, params: Mapping[str, str]) -> tuple[list[str], int]:
    collection = _collection(tenant_id)
    principal = Principal("u" * 32, tenant_id, "t", "a@example.com", "A", Role.ADMIN, "s")
    query = list_query.parse(specs_from_json(FIELDS), {"sort": "n", **params})
    with tenant_scope(tenant_id):
        async with database.session() as session, session.begin():
            page = await listing.page(session, database.dialect, principal, collection, query)
    assert all(record.tenant_id == tenant_id for record in page.records)
    return [str((record.summary or {})["name"]) for record in page.records], page.total


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "rare"}, ["Rare one", "rare two"]),
        ({"f.name.contains": "RARE"}, ["Rare one", "rare two"]),
        ({"f.name.contains": "rare", "f.n.gte": "1"}, ["rare two"]),
        ({"q": "rare", "f.name.contains": "two"}, ["rare two"]),
        ({"f.name.contains": "%"}, ["50% off"]),
        ({"q": "%"}, ["50% off"]),
        ({"f.name.contains": "_"}, ["a_b"]),
        ({"q": "/"}, ["back/slash"]),
        ({"q": "nowhere"}, []),
    ],
)
async def test_the_same_records_as_reading_every_text(
    tenants: Database, params: dict[str, str], expected: list[str]
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(tenants.engine.sync_engine, "before_cursor_execute", record)
    try:
        for tenant_id in TENANTS:
            assert await _names(tenants, tenant_id, params) == (expected, len(expected))
    finally:
        event.remove(tenants.engine.sync_engine, "before_cursor_execute", record)
    # On PostgreSQL through the functions, which (as the tables' owner) would see every tenant's rows.
    through = any("collab_search_records" in s or "collab_contains_values" in s for s in statements)
    assert through == (tenants.dialect == "postgresql")


async def test_a_function_reads_only_the_transactions_tenant(tenants: Database) -> None:
    if tenants.dialect != "postgresql":
        pytest.skip("the functions are PostgreSQL's")
    mine, theirs = TENANTS
    search = func.collab_search_records
    contains = func.collab_contains_values
    with tenant_scope(mine):
        async with tenants.session() as session, session.begin():
            # Patterns crafted to match everything still match only literally, and only this tenant's.
            for pattern in ("%", "_", "%%", "' OR true --", ""):
                for called in (
                    search(mine, _collection(mine).id, pattern, 100),
                    contains(mine, _collection(mine).id, "name", pattern, 100),
                ):
                    ids = set(await session.scalars(select(called)))
                    assert all(found[0] == mine[0] for found in ids), pattern
                    assert len(ids) <= 1 or pattern == "", pattern
            everything = set(await session.scalars(select(search(mine, _collection(mine).id, "", 100))))
            assert len(everything) == len(NAMES) and all(found[0] == mine[0] for found in everything)
        # Another tenant's rows, asked for by name: refused, not read.
        for called in (
            search(theirs, _collection(theirs).id, "", 100),
            contains(theirs, _collection(theirs).id, "name", "", 100),
        ):
            async with tenants.session() as session, session.begin():
                with pytest.raises(DBAPIError, match="is not this transaction's"):
                    await session.scalars(select(called))
    # With no scope at all, nothing is read either.
    async with tenants.session() as session, session.begin():
        with pytest.raises(DBAPIError, match="is not this transaction's"):
            await session.scalars(select(search(mine, _collection(mine).id, "", 100)))
    with system_scope():  # system work may read any tenant's, as the policies let it
        async with tenants.session() as session, session.begin():
            ids = set(
                await session.scalars(select(contains(theirs, _collection(theirs).id, "name", "r", 100)))
            )
            assert ids and all(found[0] == theirs[0] for found in ids)
