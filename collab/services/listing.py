"""One page of a collection's records, sorted and filtered in SQL, with the total and the next cursor.

Sorts and filters read the typed values stored with each commit (`record_values`: one row per field that
has a value, for live records only), never documents. The parts, one concept each:

- collab/records/list_query.py: what a request asks for, and the cursor;
- collab/records/list_filters.py: the filters as tests of value rows;
- collab/records/list_totals.py: the total, exact where that is cheap, else an estimate marked as one;
- collab/records/list_pages.py: the page, found by keyset in an index's order;
- collab/records/list_matches.py: a rare text's matches, through trigram indexes (PostgreSQL).

Measured with `bench/list.py` (100,000 records): bench/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from collab.records import list_matches, list_pages, list_totals
from collab.records.list_filters import SCANNED, number_binder, value_tests
from collab.records.list_query import ListQuery, encode_cursor
from persistence.models import Collection, Record

_POSTGRES_SETTINGS = (
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)


@dataclass(frozen=True, slots=True)
class Page:
    records: list[Record]
    total: int
    next_cursor: str | None
    # True when `total` was estimated from a random sample (collab/records/list_totals.py).
    total_is_estimate: bool = False


async def page(
    session: AsyncSession, dialect: str, principal: Principal, collection: Collection, query: ListQuery
) -> Page:
    """The records of `collection` that `query` asks for (the caller checked the role and that the
    collection is the tenant's). `dialect`: the database's, which decides how filters are tested."""
    numbers = number_binder(dialect)
    if dialect == "postgresql":
        # asyncpg prepares each statement, and after five runs PostgreSQL may keep one plan for any
        # parameters, made with stock selectivities (a range: 0.5%): filtered pages then took 4-5x as long.
        # And no parallel workers: a list's queries are small, and starting workers cost more than they
        # saved (a page waited 87 ms for its Gather's workers on a busy machine).
        await session.execute(text(_POSTGRES_SETTINGS))
    live = [
        Record.tenant_id == principal.tenant_id,
        Record.collection_id == collection.id,
        Record.deleted_at.is_(None),
    ]
    own = list_pages.record_conditions(query)
    tests = value_tests(query, numbers, collection, dialect == "sqlite")
    scan, recent = query.search is not None, query.updated_within_days is not None
    gathered = None
    carried = query.cursor.total if query.cursor is not None else None
    if carried is not None:
        # The first page's estimate, for these filters: shown again rather than estimated anew (which
        # would cost what the first page's did, for a number of the same precision).
        total, estimate = carried, True
    else:
        if scan or any(test.ops & SCANNED for test in tests):
            # A text search reads every text it tests, so a rare one costs a whole read to count: read
            # the ids of up to FEW matches first instead. When that is all of them, the total is their
            # number and the page is those records sorted (a rare search took two whole reads: 0.1-0.7 s).
            # On PostgreSQL, trigram indexes find a rare text's matches without reading the others.
            if dialect == "postgresql":
                gathered = await list_matches.gather(session, collection, query, live, tests)
            if gathered is None:
                counted = list_totals.Counted(collection, live, own, tests, scan, recent)
                gathered = await list_totals.gather(session, counted)
        if gathered is not None:
            total, estimate = len(gathered), False
            live, own, tests = [*live, Record.id.in_(gathered)], [], []
        else:
            counted = list_totals.Counted(collection, live, own, tests, scan, recent)
            total, estimate = await list_totals.total(session, counted)
    if total == 0 and not estimate:
        return Page([], 0, None)
    if query.kind == "time":
        where = [*live, *own, *(test.probe(Record.id) for test in tests)]
        found, more = await list_pages.time_run(session, query, where)
    else:
        if recent and (estimate or total > list_totals.FEW) and gathered is None:
            # Many pass: walking the sort's index finds a page within a few thousand rows, where starting
            # from the time range would read, test and sort all of it (SQLite chose that: 4x the time).
            own = [*own[:-1], list_pages.recent(query, hidden=True)]
        found, more = await list_pages.field_runs(session, collection, query, [*live, *own], tests, numbers)
    last = replace(found[-1][1], total=total if estimate else None) if more and found else None
    next_cursor = None if last is None else encode_cursor(query, last)
    return Page([record for record, _ in found], total, next_cursor, estimate)
