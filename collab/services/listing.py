"""One page of a collection's records, sorted and filtered in SQL, with the total and the next cursor.

Sorts and filters read the typed values stored with each commit (`record_values`: one row per field that
has a value, for live records only), never documents. A page is found by keyset: the rows after the
cursor's (sort value, id) in index order, so a deep page costs what the first does, and records added or
edited meanwhile never make a page repeat or skip a record whose position did not change.

- Sorting by `created_at`/`updated_at` walks the records' partial index of live records
  (`ix_records_live_*`) and tests each record's filters: on SQLite a lookup of its value row by primary
  key, on PostgreSQL membership in the ids read from the filter's value index (planned as a hash join).
  A search or a "contains" that matches few records (up to `_FEW`) reads their ids once, and the page
  is those records sorted (`_gather`).
- Sorting by a field walks that field's value index (`ix_record_values_<kind>`), joined to each record;
  a filter on the same field bounds that walk. The records with no value for it come last in either
  order (by id, in the same direction): a page that reaches the end of the values continues with them.
- The total (`_total`): with no filter, the collection's kept count (`record_counts`); else it starts
  from the filter most likely to be selective (a range with both ends, a choice of values, a checkbox, a
  text, ...), read from its value index, or from the live records, and tests the others, all of them up
  to `_BUDGET` candidates, beyond that a random sample, and the total is then an estimate
  (`Page.total_is_estimate`). One filter alone, and one "must not" filter (a difference of two counts),
  stay exact. Every condition on value rows names the tenant as well as the collection: the tenant leads
  each value index, so PostgreSQL's row-level policy (tenant_id) is checked in the index, with no row read.

Measured with `bench/list.py` (100,000 records): bench/README.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    not_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from auth.principal import Principal
from collab.records.decimals import bound_key
from collab.records.list_query import Cursor, Filter, ListQuery, encode_cursor
from persistence.models import Collection, Record, RecordCount, RecordValue, utcnow
from persistence.record_values import fold, item_fields

_COLUMNS = {
    "text": "text_folded",
    "number": "number_value",
    "date": "date_value",
    "bool": "bool_value",
    "decimal": "decimal_key",  # exact: collab/records/decimals.py
    "multi": "text_folded",  # one row per item, under `key#n` (persistence/record_values.py)
}
_TIMES: dict[str, Any] = {"created_at": Record.created_at, "updated_at": Record.updated_at}
# Which positive filter a count starts from: the likeliest to be selective first.
_DRIVER_RANK = {"range": 0, "in": 1, "is": 2, "contains": 3, "bound": 4, "present": 5}
_FEW = 1000  # matches few enough to gather and sort rather than walk an index for
_SCANNED = {"contains"}  # filters that test every value of their field
# A count tests each of up to this many candidates (2-5 us a probe); beyond, a random sample of them.
_BUDGET = 2000
_SAMPLE_MATCHES = 50  # matches a sample needs for an estimate (+-15% at worst); fewer: count them all
_PREFIXES = 16**3  # samples are record ids below a 3-hex-digit prefix
_POSTGRES_SETTINGS = (
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)
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
    # True when `total` was estimated from a random sample of the candidates (see `_total`).
    total_is_estimate: bool = False


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
    # A multi-valued field (multiselect, link): a record may have several matching rows, so it is only
    # ever probed (any row passes), never counted from.
    multi: bool = False
    # Probing a sample (`_Sample`) with IN: only the ids below this prefix are read (a range of the value
    # index under an equality, so a choice of values reads the sample's share of its ids, not all).
    below: str | None = None

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
            value.field.in_(item_fields(self.key)) if self.multi else value.field == self.key,
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
            return record_id.in_(ids if self.below is None else ids.where(value.record_id < self.below))
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
        # And no parallel workers: a list's queries are small, and starting workers cost more than they
        # saved (a page waited 87 ms for its Gather's workers on a busy machine).
        await session.execute(text(_POSTGRES_SETTINGS))
    live = [
        Record.tenant_id == principal.tenant_id,
        Record.collection_id == collection.id,
        Record.deleted_at.is_(None),
    ]
    own = _record_conditions(query)
    tests = _tests(query, numbers, collection, dialect == "sqlite")
    scan, recent = query.search is not None, query.updated_within_days is not None
    gathered = None
    if scan or any(test.ops & _SCANNED for test in tests):
        # A text search reads every text it tests, so a rare one costs a whole read to count: read the
        # ids of up to _FEW matches first instead. When that is all of them, the total is their number
        # and the page is those records sorted (a rare search took two whole reads before: 0.1-0.7 s).
        gathered = await _gather(session, collection, live, own, tests, scan, recent)
    if gathered is not None:
        total, estimate = len(gathered), False
        live, own, tests = [*live, Record.id.in_(gathered)], [], []
    else:
        total, estimate = await _total(session, collection, live, own, tests, scan, recent)
    if total == 0 and not estimate:
        return Page([], 0, None)
    if query.kind == "time":
        where = [*live, *own, *(test.probe(Record.id) for test in tests)]
        found, more = await _time_run(session, query, where)
    else:
        if recent and (estimate or total > _FEW) and gathered is None:
            # Many pass: walking the sort's index finds a page within a few thousand rows, where starting
            # from the time range would read, test and sort all of it (SQLite chose that: 4x the time).
            own = [*own[:-1], _recent(query, hidden=True)]
        found, more = await _field_runs(session, collection, query, [*live, *own], tests, numbers)
    next_cursor = encode_cursor(query, found[-1][1]) if more and found else None
    return Page([record for record, _ in found], total, next_cursor, estimate)


async def _gather(
    session: AsyncSession,
    collection: Collection,
    live: list[Any],
    own: list[Any],
    tests: list[_Test],
    scan: bool,
    recent: bool,
) -> list[str] | None:
    """The ids of all the records that pass, when they are at most `_FEW`; else None."""
    statement = _count(collection, live, own, tests, scan, recent, ids=True)
    found = list(await session.scalars(statement.limit(_FEW + 1)))
    return found if len(found) <= _FEW else None


async def _total(
    session: AsyncSession,
    collection: Collection,
    live: list[Any],
    own: list[Any],
    tests: list[_Test],
    scan: bool,
    recent: bool,
) -> tuple[int, bool]:
    """How many records pass, and whether that is an estimate.

    Exact whenever it is cheap: no filter at all reads the collection's kept count of live records; one
    filter alone is one count of its value index; a "must not" test is counted as all the others pass
    less those that also pass its opposite (two counts from indexes, not a probe per record). Otherwise
    a count starts from its driver (the likeliest selective filter's index, or the live records) and
    tests each candidate for the other conditions: up to `_BUDGET` candidates that is done for all of
    them; beyond, only for a random sample (record ids are random: those below a prefix), and the total
    is the candidates times the share that passed, marked as an estimate, unless the sample held too few
    matches to say (`_SAMPLE_MATCHES`): then all are tested after all."""
    negative = [test for test in tests if not test.present]
    if len(negative) == 1:
        rest = [test for test in tests if test is not negative[0]]
        opposite = replace(negative[0], present=True)
        every, estimated = await _total(session, collection, live, own, rest, scan, recent)
        if estimated:  # the others are many: estimate the whole at once (its opposite is a test too)
            return await _bounded(session, collection, live, own, tests, scan, recent)
        opposed, _ = await _total(session, collection, live, own, [*rest, opposite], scan, recent)
        return max(every - opposed, 0), False
    if not tests and not own:
        return await session.scalar(_kept(collection)) or 0, False
    return await _bounded(session, collection, live, own, tests, scan, recent)


async def _bounded(
    session: AsyncSession,
    collection: Collection,
    live: list[Any],
    own: list[Any],
    tests: list[_Test],
    scan: bool,
    recent: bool,
) -> tuple[int, bool]:
    """`_total` of a count with a driver and other conditions: exact up to `_BUDGET` candidates."""
    candidates = _count(collection, live, own, tests, scan, recent, driver_only=True)
    if candidates is None:  # the driver is all there is
        return await session.scalar(_count(collection, live, own, tests, scan, recent)) or 0, False
    drivers = await session.scalar(candidates) or 0
    if drivers > _BUDGET:
        below = _Sample(_sample_bound(_BUDGET / drivers), session.get_bind().dialect.name == "sqlite")
        sample = _count(collection, live, own, tests, scan, recent, below=below)
        sampled, passed = (await session.execute(sample)).one()
        if sampled and (passed or 0) >= _SAMPLE_MATCHES:
            return round(drivers * passed / sampled), True
    return await session.scalar(_count(collection, live, own, tests, scan, recent)) or 0, False


def _sample_bound(share: float) -> str:
    """The id prefix below which about `share` of random (uuid4 hex) record ids lie."""
    return f"{min(_PREFIXES - 1, max(1, math.ceil(share * _PREFIXES))):03x}"


def _kept(collection: Collection) -> Select[Any]:
    """The collection's count of live records, kept by the database (persistence/models.py)."""
    live = cast(func.coalesce(func.sum(RecordCount.live), 0), BigInteger)  # PostgreSQL sums to NUMERIC
    return select(live).where(
        RecordCount.tenant_id == collection.tenant_id, RecordCount.collection_id == collection.id
    )


def _passing(conditions: list[Any]) -> Any:
    """How many rows of a sample pass `conditions` (tested only for the sample's rows)."""
    return func.coalesce(func.sum(case((and_(true(), *conditions), 1), else_=0)), 0)


@dataclass(frozen=True, slots=True)
class _Sample:
    """The records whose id is below `prefix`: a random sample (ids are uuid4 hex)."""

    prefix: str
    sqlite: bool

    def of(self, record_id: Any, narrow: bool = True) -> ColumnElement[bool]:
        """Whether `record_id` is in the sample. `narrow`: tested within a driver's index (a filter's, or
        a time range's): SQLite must not read the sample through the index of ids instead and look up
        each row (4x slower), which the coalesce hides from it (on PostgreSQL it would only cost)."""
        if narrow and self.sqlite:
            return func.coalesce(record_id, "") < self.prefix
        return record_id < self.prefix

    def probing(self, test: _Test) -> _Test:
        """`test` as it probes this sample's records: SQLite looks each up (a few thousand: cheap);
        PostgreSQL hashes the ids of the sample that pass it (a correlated probe cost ~10 us a record)."""
        return replace(test, correlated=True) if self.sqlite else replace(test, below=self.prefix)


def _count(
    collection: Collection,
    live: list[Any],
    own: list[Any],
    tests: list[_Test],
    scan: bool,
    recent: bool,
    driver_only: bool = False,
    below: _Sample | None = None,
    ids: bool = False,
) -> Any:
    """`scan`: a search; `recent`: a time range (the last of `own`), read from the live records' index by
    time (start there: "changed this week" is a small part of a collection, where a value filter may
    not be).

    `driver_only`: count the driver's candidates alone (None when the driver is all there is to count).
    `below`: a random sample, the records whose id is below this prefix: select how many of the driver's
    candidates are in it and how many of those pass the rest (each probed, correlated: a sample is few).
    `ids`: select the ids that pass instead of counting them."""
    positive = sorted((test for test in tests if test.present and not test.multi), key=lambda test: test.rank)
    sample = [] if below is None else [below.probing(test) for test in tests]
    if not positive or recent:
        moment = own[-1:] if recent else []
        if driver_only:
            # The live records (changed in the time range): the kept count, or a count of an index range.
            if len(moment) == len(own) and not tests:
                return None
            if not moment:
                return _kept(collection)
            return select(func.count()).select_from(Record).where(*live, *moment)
        if below is not None:
            others = [*own[: len(own) - len(moment)], *(test.probe(Record.id) for test in sample)]
            sampled = select(func.count(), _passing(others)).select_from(Record)
            # All live records: the sample is a range of ids, read through their index.
            return sampled.where(*live, *moment, below.of(Record.id, narrow=bool(moment)))
        if scan:
            # A search reads every row's text anyway; SQLite would walk the index of live records and
            # look each row up (10x slower than reading the table) unless the index's first column is
            # hidden from it.
            live = [func.coalesce(Record.tenant_id, "") == collection.tenant_id, *live[1:]]
        counted: Select[Any] = select(Record.id if ids else func.count()).select_from(Record)
        return counted.where(*live, *own, *(test.probe(Record.id) for test in tests))
    value = aliased(RecordValue)
    driver = positive[0]
    others = [
        test for test in (tests if below is None else sample) if test.key != driver.key or not test.present
    ]
    if driver_only and not others and not own:
        return None
    statement: Select[Any]
    if below is not None:
        passing = _passing([*own, *(test.probe(value.record_id) for test in others)])
        statement = select(func.count(), passing).select_from(value)
        statement = statement.where(below.of(value.record_id))
    else:
        statement = select(value.record_id if ids else func.count()).select_from(value)
    statement = statement.where(value.collection_id == collection.id, *driver.on(value))
    if driver_only:
        return statement
    if below is None:
        statement = statement.where(*(test.probe(value.record_id) for test in others))
    if own:  # conditions on the record itself
        statement = statement.join(Record, Record.id == value.record_id).where(*live, *([] if below else own))
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
    if query.updated_within_days:  # last: a count may start from it (_count)
        conditions.append(_recent(query))
    return conditions


def _recent(query: ListQuery, hidden: bool = False) -> ColumnElement[bool]:
    """Changed within the query's days; `hidden`: from the index by time (a coalesce of a column that is
    never null: the same test, which the planner cannot read from an index)."""
    assert query.updated_within_days is not None
    since = utcnow() - dt.timedelta(days=query.updated_within_days)
    return (func.coalesce(Record.updated_at, Record.created_at) if hidden else Record.updated_at) >= since


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
            multi = wanted.kind == "multi"
            tests.append(
                _Test(wanted.field, False, tenant_id, collection_id, sqlite, [condition], multi=multi)
            )
            continue
        test = present.get(wanted.field)
        if test is None:
            test = present[wanted.field] = _Test(
                wanted.field, True, tenant_id, collection_id, sqlite, multi=wanted.kind == "multi"
            )
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
    if wanted.kind == "decimal":
        bound = bound_key(wanted.value, upper=wanted.op == "lte")
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
