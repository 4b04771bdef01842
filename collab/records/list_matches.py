"""A rare text search or "contains" filter on PostgreSQL, found through trigram indexes (migration 0015).

Without them a search reads every text of the collection (14-23 ms of SQL on 100,000 records). Under
row-level security PostgreSQL never tests a `LIKE` in an index for the application's role (it is not
leakproof), so the ids come from the migration's SECURITY DEFINER functions, which apply the tenant wall
themselves (they refuse any tenant but the transaction's). Each returns up to `FEW + 1` ids: when a
condition has at most `FEW` matches, they are all of them, and the list tests the rest of its filters on
those records alone (by primary key) instead of reading every text.

When the indexes are missing (pg_trgm could not be made: migration 0015 says why) or every condition
matches more than `FEW`, the list goes on as before (list_totals.gather reads the texts).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from collab.records.list_filters import ValueTest
from collab.records.list_pages import record_conditions
from collab.records.list_query import ListQuery
from collab.records.list_totals import FEW
from persistence import tenant_scope
from persistence.models import Collection, Record
from persistence.record_values import fold

# Whether each database has the indexes: asked once per engine (the catalog changes only by migration, or
# by an administrator adding them later: then servers use them once started again).
_AVAILABLE: WeakKeyDictionary[Engine, bool] = WeakKeyDictionary()
_CATALOG = text(
    "SELECT to_regclass('ix_records_search_trigram') IS NOT NULL"
    " AND to_regclass('ix_record_values_text_trigram') IS NOT NULL"
    " AND to_regprocedure('collab_search_records(text, text, text, integer)') IS NOT NULL"
    " AND to_regprocedure('collab_contains_values(text, text, text, text, integer)') IS NOT NULL"
)


async def available(session: AsyncSession) -> bool:
    """Whether this PostgreSQL database has the trigram indexes and their functions."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    found = _AVAILABLE.get(engine)
    if found is None:
        found = _AVAILABLE[engine] = bool(await session.scalar(_CATALOG))
    return found


async def gather(
    session: AsyncSession, collection: Collection, query: ListQuery, live: list[Any], tests: list[ValueTest]
) -> list[str] | None:
    """The ids of all the records that pass (`live`, the query's conditions on records, `tests`), when a
    text condition has at most `FEW` matches; else None (then the texts are read as before).

    Only in the collection's tenant's scope (or system work), the one the functions admit: a transaction
    with none (a role that bypasses the policies: tests, tools) reads the texts as before."""
    scope = tenant_scope.current()
    if scope is None or not (scope.system or scope.tenant_id == collection.tenant_id):
        return None
    if not await available(session):
        return None
    tenant, found, searched = collection.tenant_id, None, False
    contained: set[str] = set()
    if query.search:
        ids = await _ids(session, func.collab_search_records(tenant, collection.id, query.search, FEW + 1))
        if ids is not None:
            found, searched = ids, True
    for wanted in query.filters:
        if wanted.op != "contains":
            continue
        called = func.collab_contains_values(tenant, collection.id, wanted.field, fold(wanted.value), FEW + 1)
        ids = await _ids(session, called)
        if ids is not None:
            found = ids if found is None else found & ids
            contained.add(wanted.field)
    if found is None:
        return None
    # A test the function applied whole is dropped; the others are probed per record (a few: cheap).
    rest = [
        replace(test, correlated=True)
        for test in tests
        if not (test.present and test.key in contained and test.ops == {"contains"})
    ]
    own = record_conditions(query, searched=searched)
    if not found or (not own and not rest):
        # Nothing else to test: the functions read only live records of the collection (value rows are
        # only ever a live record's), so their ids are the answer.
        return sorted(found)
    statement = select(Record.id).where(*live, Record.id.in_(sorted(found)), *own)
    return list(await session.scalars(statement.where(*(test.probe(Record.id) for test in rest))))


async def _ids(session: AsyncSession, called: Any) -> set[str] | None:
    """The ids a function returned, when they are at most `FEW` (so all of its matches)."""
    ids = set(await session.scalars(select(called)))
    return ids if len(ids) <= FEW else None
