"""One page of a collection's records, sorted and filtered in SQL, with the total and the next cursor.

Sorts and filters read the typed values stored with each commit (`record_values`: one row per field that
has a value, for live records only), never documents. A page is found by keyset: the rows after the
cursor's (sort value, id) in index order, so a deep page costs what the first does, and records added or
edited meanwhile never make a page repeat or skip a record whose position did not change.

- Sorting by `created_at`/`updated_at` walks the records' partial index of live records
  (`ix_records_live_*`) and tests each record's filters: on SQLite a lookup of its value row by primary
  key, on PostgreSQL membership in the ids read from the filter's value index (planned as a hash join).
  A search that matches few records reads the table and sorts them instead.
- Sorting by a field walks that field's value index (`ix_record_values_<kind>`), joined to each record;
  a filter on the same field bounds that walk. The records with no value for it come last in either
  order (by id, in the same direction): a page that reaches the end of the values continues with them.
- The total starts from the filter most likely to be selective (a range with both ends, a choice of
  values, a checkbox, a text, ...), read from its value index, and tests the others; with no field filter
  it counts the live records' index; one "must not" filter is counted as a difference of two counts.
  Every condition on value rows names the tenant as well as the collection: the tenant leads each value
  index, so PostgreSQL's row-level policy (tenant_id) is checked in the index, with no row read.

Measured with `bench/list.py` (100,000 records): bench/README.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, not_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from auth.principal import Principal
from collab.records.list_query import Cursor, Filter, ListQuery, encode_cursor
from persistence.models import Collection, Record, RecordValue, utcnow
from persistence.record_values import fold

_COLUMNS = {"text": "text_folded", "number": "number_value", "date": "date_value", "bool": "bool_value"}
_TIMES: dict[str, Any] = {"created_at": Record.created_at, "updated_at": Record.updated_at}
# Which positive filter a count starts from: the likeliest to be selective first.
_DRIVER_RANK = {"range": 0, "in": 1, "is": 2, "contains": 3, "bound": 4, "present": 5}
_FEW = 1000  # matches few enough to gather and sort rather than walk an index for
_RANKED = {"in": "in", "is": "is", "contains": "contains", "gte": "bound", "lte": "bound"}

Numbers = Callable[[Decimal], Any]
# A condition on a value row, made for the alias of record_values it is to test.
Condition = Callable[[Any], ColumnElement[bool]]
Found = list[tuple[Record, Cursor]]


@dataclass(frozen=True, slots=True)
class Page:
    records: list[Record]
    total: int
    next_cursor: str | None


@dataclass(slots=True)
class _Test:
    """What one field's value row must be (`present`) or must not be (not `present`): conditions on its
    columns, all on the same row."""

    key: str  # the field's
    present: bool
    tenant_id: str
    collection_id: str
    correlated: bool  # probe with a correlated EXISTS (SQLite), else with IN (PostgreSQL)
    conditions: list[Condition] = field(default_factory=list)
    ops: set[str] = field(default_factory=set)

    @property
    def rank(self) -> int:
        """How likely this test is to be selective (lower: more), to choose where a count starts."""
        if {"gte", "lte"} <= self.ops:
            return _DRIVER_RANK["range"]
        return min(
            (_DRIVER_RANK[_RANKED.get(op, "present")] for op in self.ops), default=_DRIVER_RANK["present"]
        )

    def on(self, value: Any) -> list[Any]:
        """The conditions on an alias `value` of record_values."""
        # The tenant leads every value index: PostgreSQL's row-level policy on it then reads no row.
        return [
            value.tenant_id == self.tenant_id,
            value.field == self.key,
            *(condition(value) for condition in self.conditions),
        ]

    def probe(self, record_id: Any) -> ColumnElement[bool]:
        """Whether the record `record_id` passes. SQLite looks its value row up by primary key, one search
        per record (measured on 100,000 records: 3x faster than building the set of ids of an IN);
        PostgreSQL reads the ids from the value index (index-only) and hashes them (a probe per record
        cost 30 us there)."""
        value = aliased(RecordValue)
        if self.present and not self.correlated:
            ids = select(value.record_id).where(value.collection_id == self.collection_id, *self.on(value))
            return record_id.in_(ids)
        found = exists().where(value.record_id == record_id, *self.on(value))
        return found if self.present else not_(found)


async def page(
    session: AsyncSession, dialect: str, principal: Principal, collection: Collection, query: ListQuery
) -> Page:
    """The records of `collection` that `query` asks for (the caller checked the role and that the
    collection is the tenant's). `dialect`: the database's, which decides how filters are tested."""
    numbers = _number_binder(dialect)
    if dialect == "postgresql":
        # asyncpg prepares each statement, and after five runs PostgreSQL may keep one plan for any
        # parameters, made with stock selectivities (a range: 0.5%): filtered pages then took 4-5x as long.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    live = [
        Record.tenant_id == principal.tenant_id,
        Record.collection_id == collection.id,
        Record.deleted_at.is_(None),
    ]
    own = _record_conditions(query)
    tests = _tests(query, numbers, collection, dialect == "sqlite")
    total = await _total(
        session, collection, live, own, tests, query.search is not None, query.updated_within_days is not None
    )
    if query.kind == "time":
        if query.search is not None and total <= _FEW:
            # Few records have the text: read the table and sort them, rather than walk the whole index
            # looking each row up (a search for something rare took 0.7 s on 100,000 records on SQLite).
            live = [func.coalesce(Record.tenant_id, "") == collection.tenant_id, *live[1:]]
        where = [*live, *own, *(test.probe(Record.id) for test in tests)]
        found, more = await _time_run(session, query, where)
    else:
        found, more = await _field_runs(session, collection, query, [*live, *own], tests, numbers)
    next_cursor = encode_cursor(query, found[-1][1]) if more and found else None
    return Page([record for record, _ in found], total, next_cursor)


async def _total(
    session: AsyncSession,
    collection: Collection,
    live: list[Any],
    own: list[Any],
    tests: list[_Test],
    scan: bool,
    recent: bool,
) -> int:
    """How many records pass. One "must not" test is counted as all the others pass less those that also
    pass its opposite: two counts read from indexes, instead of a probe per record of the collection."""
    negative = [test for test in tests if not test.present]
    if len(negative) == 1:
        rest = [test for test in tests if test is not negative[0]]
        opposite = replace(negative[0], present=True)
        every = await session.scalar(_count(collection, live, own, rest, scan, recent)) or 0
        opposed = await session.scalar(_count(collection, live, own, [*rest, opposite], scan, recent)) or 0
        return every - opposed
    return await session.scalar(_count(collection, live, own, tests, scan, recent)) or 0


def _count(
    collection: Collection, live: list[Any], own: list[Any], tests: list[_Test], scan: bool, recent: bool
) -> Select[Any]:
    """`scan`: a search; `recent`: a time range, read from the live records' index by time (start there:
    "changed this week" is a small part of a collection, where a value filter may not be)."""
    positive = sorted((test for test in tests if test.present), key=lambda test: test.rank)
    if not positive or recent:
        if scan:
            # A search reads every row's text anyway; SQLite would walk the index of live records and
            # look each row up (10x slower than reading the table) unless the index's first column is
            # hidden from it.
            live = [func.coalesce(Record.tenant_id, "") == collection.tenant_id, *live[1:]]
        statement = select(func.count()).select_from(Record).where(*live, *own)
        return statement.where(*(test.probe(Record.id) for test in tests))
    driver, others = positive[0], [test for test in tests if test is not positive[0]]
    value = aliased(RecordValue)
    statement = (
        select(func.count())
        .select_from(value)
        .where(value.collection_id == collection.id, *driver.on(value))
        .where(*(test.probe(value.record_id) for test in others))
    )
    if own:  # conditions on the record itself
        statement = statement.join(Record, Record.id == value.record_id).where(*live, *own)
    return statement


async def _time_run(session: AsyncSession, query: ListQuery, where: list[Any]) -> tuple[Found, bool]:
    column = _TIMES[query.sort]
    statement = select(Record).where(*where)
    if query.cursor is not None:
        position = (query.cursor.value, query.cursor.record_id)
        statement = statement.where(_after((column, Record.id), position, query))
    statement = _ordered(statement, (column, Record.id), query).limit(query.limit + 1)
    rows = list(await session.scalars(statement))
    found = [(row, Cursor(False, getattr(row, query.sort), row.id)) for row in rows[: query.limit]]
    return found, len(rows) > query.limit


async def _field_runs(
    session: AsyncSession,
    collection: Collection,
    query: ListQuery,
    where: list[Any],
    tests: list[_Test],
    numbers: Numbers,
) -> tuple[Found, bool]:
    column = getattr(RecordValue, _COLUMNS[query.kind])
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
            .where(column.is_not(None), *(sorted_by.on(RecordValue) if sorted_by else ()), *where, *probes)
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
    name = _COLUMNS[query.kind]
    empty = _Test(query.sort, False, collection.tenant_id, collection.id, True, [_not_null(name)])
    empties = select(Record).where(*where, *probes, empty.probe(Record.id))
    if cursor is not None and cursor.empty:
        empties = empties.where(_after((Record.id,), (cursor.record_id,), query))
    records = list(await session.scalars(_ordered(empties, (Record.id,), query).limit(room + 1)))
    found += [(record, Cursor(True, None, record.id)) for record in records[:room]]
    return found, len(records) > room


def _after(columns: Sequence[Any], values: Sequence[Any], query: ListQuery) -> ColumnElement[bool]:
    if len(columns) == 1:
        return columns[0] < values[0] if query.descending else columns[0] > values[0]
    key, position = tuple_(*columns), tuple_(*values)
    return key < position if query.descending else key > position


def _ordered(statement: Select[Any], columns: Sequence[Any], query: ListQuery) -> Select[Any]:
    return statement.order_by(*(column.desc() if query.descending else column.asc() for column in columns))


def _record_conditions(query: ListQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.search:
        conditions.append(Record.search_text.contains(query.search, autoescape=True))
    if query.updated_by:
        conditions.append(Record.updated_by == query.updated_by)
    if query.updated_within_days:
        conditions.append(Record.updated_at >= utcnow() - dt.timedelta(days=query.updated_within_days))
    return conditions


def _tests(query: ListQuery, numbers: Numbers, collection: Collection, sqlite: bool) -> list[_Test]:
    """The filters as tests of value rows: one per field for what its value must be (a range's two ends
    test the same row), one for each thing it must not be."""
    tests: list[_Test] = []
    present: dict[str, _Test] = {}
    tenant_id, collection_id = collection.tenant_id, collection.id
    for wanted in query.filters:
        name = _COLUMNS[wanted.kind]
        if wanted.op in ("empty", "is") and (wanted.value if wanted.op == "empty" else not wanted.value):
            # Empty: no value of its kind. Unchecked: false, or never set.
            condition = _not_null(name) if wanted.op == "empty" else _is_true(name)
            tests.append(_Test(wanted.field, False, tenant_id, collection_id, sqlite, [condition]))
            continue
        test = present.get(wanted.field)
        if test is None:
            test = present[wanted.field] = _Test(wanted.field, True, tenant_id, collection_id, sqlite)
            if sqlite:  # SQLite uses a partial index only when told "not NULL" (a LIKE does not imply it);
                # PostgreSQL infers it, and estimates the rows worse when told.
                test.conditions.append(_not_null(name))
            tests.append(test)
        test.conditions.append(_condition(wanted, name, numbers))
        test.ops.add(wanted.op)
    return tests


def _condition(wanted: Filter, name: str, numbers: Numbers) -> Condition:
    if wanted.op == "empty":  # not empty
        return _not_null(name)
    if wanted.op == "is":
        return _is_true(name)
    if wanted.op == "contains":
        folded = fold(wanted.value)
        return lambda value: getattr(value, name).contains(folded, autoescape=True)
    if wanted.op == "in":
        # Compared folded, like "contains": the index holds the folded text (the exact one would need
        # each row read, 3x the time on PostgreSQL).
        folds = sorted({fold(choice) for choice in wanted.value})
        return lambda value: getattr(value, name).in_(folds)
    bound = numbers(wanted.value) if wanted.kind == "number" else wanted.value
    if wanted.op == "gte":
        return lambda value: getattr(value, name) >= bound
    return lambda value: getattr(value, name) <= bound


def _not_null(name: str) -> Condition:
    return lambda value: getattr(value, name).is_not(None)


def _is_true(name: str) -> Condition:
    return lambda value: getattr(value, name) == True  # noqa: E712 (SQL "= true": an index condition)


def _number_binder(dialect: str) -> Numbers:
    """Numbers as the column compares them: doubles (persistence/models.py says why), on both databases."""
    return float


def _record(row: Any) -> Record:
    assert isinstance(row, Record)
    return row
