"""The rows of one list page, found by keyset: the rows after the cursor's (sort value, id) in index order.

A deep page costs what the first does, and records added or edited meanwhile never make a page repeat or
skip a record whose position did not change.

- Sorting by `created_at`/`updated_at` walks the records' partial index of live records
  (`ix_records_live_*`) and tests each record's filters: on SQLite a lookup of its value row by primary
  key, on PostgreSQL membership in the ids read from the filter's value index (planned as a hash join).
- Sorting by a field walks that field's value index (`ix_record_values_<kind>`), joined to each record;
  a filter on the same field bounds that walk. The records with no value for it come last in either
  order (by id, in the same direction): a page that reaches the end of the values continues with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from collab.records.list_filters import COLUMNS, Numbers, ValueTest, not_null
from collab.records.list_query import Cursor, ListQuery
from persistence.models import Collection, Record, RecordValue, utcnow

_TIMES: dict[str, Any] = {"created_at": Record.created_at, "updated_at": Record.updated_at}

Found = list[tuple[Record, Cursor]]


async def time_run(session: AsyncSession, query: ListQuery, where: list[Any]) -> tuple[Found, bool]:
    """The page of records sorted by a time of theirs, and whether more follow."""
    column = _TIMES[query.sort]
    statement = select(Record).where(*where)
    if query.cursor is not None:
        position = (query.cursor.value, query.cursor.record_id)
        statement = statement.where(_after((column, Record.id), position, query))
    statement = _ordered(statement, (column, Record.id), query).limit(query.limit + 1)
    rows = list(await session.scalars(statement))
    found = [(row, Cursor(False, getattr(row, query.sort), row.id)) for row in rows[: query.limit]]
    return found, len(rows) > query.limit


async def field_runs(
    session: AsyncSession,
    collection: Collection,
    query: ListQuery,
    where: list[Any],
    tests: list[ValueTest],
    numbers: Numbers,
) -> tuple[Found, bool]:
    """The page of records sorted by a field (those with a value, then those without), and whether more
    follow."""
    column = getattr(RecordValue, COLUMNS[query.kind])
    cursor = query.cursor
    found: Found = []
    # A filter of the sort field itself bounds the walk of its index (a range, say), instead of being
    # probed row by row; and no record without a value passes it.
    sorted_by = next((test for test in tests if test.present and test.key == query.sort), None)
    probes = [test.probe(Record.id) for test in tests if test is not sorted_by]
    if cursor is None or not cursor.empty:
        statement = (
            select(Record, column)
            .select_from(RecordValue)
            .join(Record, Record.id == RecordValue.record_id)
            .where(RecordValue.tenant_id == collection.tenant_id, RecordValue.collection_id == collection.id)
            .where(RecordValue.field == query.sort)
            .where(column.is_not(None), *(sorted_by.on(RecordValue) if sorted_by else ()), *where)
            # Probed by the value row's id, not the record's: the same record, but then the probe can run
            # before the record's row is read (a page of "email is empty": 2,788 rows read for 51 before).
            .where(*(test.probe(RecordValue.record_id) for test in tests if test is not sorted_by))
        )
        if cursor is not None:
            value = numbers(cursor.value) if query.kind == "number" else cursor.value
            position = (value, cursor.record_id)
            statement = statement.where(_after((column, RecordValue.record_id), position, query))
        statement = _ordered(statement, (column, RecordValue.record_id), query).limit(query.limit + 1)
        rows = (await session.execute(statement)).all()
        found = [(_record(row[0]), Cursor(False, row[1], row[0].id)) for row in rows[: query.limit]]
        if len(rows) > query.limit or sorted_by is not None:
            return found, len(rows) > query.limit
    room = query.limit - len(found)
    name = COLUMNS[query.kind]
    empty = ValueTest(query.sort, False, collection.tenant_id, collection.id, True, [not_null(name)])
    empties = select(Record).where(*where, *probes, empty.probe(Record.id))
    if cursor is not None and cursor.empty:
        empties = empties.where(_after((Record.id,), (cursor.record_id,), query))
    records = list(await session.scalars(_ordered(empties, (Record.id,), query).limit(room + 1)))
    found += [(record, Cursor(True, None, record.id)) for record in records[:room]]
    return found, len(records) > room


def record_conditions(query: ListQuery, searched: bool = False) -> list[ColumnElement[bool]]:
    """The query's conditions on the record row itself; a time range last (a count may start from it).
    `searched`: the search is already applied (list_matches.py)."""
    conditions: list[ColumnElement[bool]] = []
    if query.search and not searched:
        conditions.append(Record.search_text.contains(query.search, autoescape=True))
    if query.updated_by:
        conditions.append(Record.updated_by == query.updated_by)
    if query.updated_within_days:  # last: a count may start from it (list_totals)
        conditions.append(recent(query))
    return conditions


def recent(query: ListQuery, hidden: bool = False) -> ColumnElement[bool]:
    """Changed within the query's days; `hidden`: from the index by time (a coalesce of a column that is
    never null: the same test, which the planner cannot read from an index)."""
    assert query.updated_within_days is not None
    since = utcnow() - dt.timedelta(days=query.updated_within_days)
    return (func.coalesce(Record.updated_at, Record.created_at) if hidden else Record.updated_at) >= since


def _after(columns: Sequence[Any], values: Sequence[Any], query: ListQuery) -> ColumnElement[bool]:
    if len(columns) == 1:
        return columns[0] < values[0] if query.descending else columns[0] > values[0]
    key, position = tuple_(*columns), tuple_(*values)
    return key < position if query.descending else key > position


def _ordered(statement: Select[Any], columns: Sequence[Any], query: ListQuery) -> Select[Any]:
    return statement.order_by(*(column.desc() if query.descending else column.asc() for column in columns))


def _record(row: Any) -> Record:
    assert isinstance(row, Record)
    return row
