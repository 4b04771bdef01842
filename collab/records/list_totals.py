"""How many records a list's filters pass: exact where that is cheap, else an estimate marked as one.

No filter reads the collection's kept count (`record_counts`); "F is empty" alone, that less the kept
count of F's values of its type (`value_counts`). Otherwise a count starts from the filter
most likely to be selective (a range with both ends, a choice of values, a checkbox, a text, ...), read
from its value index, or from the live records, and tests the others, all of them up to `BUDGET`
candidates, beyond that a random sample (`Sample`: record ids are uuid4 hex, those below a prefix), and
the total is then an estimate. One filter alone stays exact up to `EXACT` matches; beyond, a choice of
values or a checkbox is estimated from its sample too (its index holds each value's ids in order, so the
sample is a range of it). One "must not" filter is a difference of two counts when both are exact (else
the whole is estimated at once).

A search or a "contains" tests every text it reads, so a rare one is read once (`gather`): the ids of up
to `FEW` matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from collab.records.list_filters import ValueTest
from persistence.models import Collection, Record, RecordCount, RecordValue, ValueCount

FEW = 1000  # matches few enough to gather and sort rather than walk an index for
# A count tests each of up to this many candidates (2-5 us a probe); beyond, a random sample of them.
BUDGET = 2000
# One filter alone is counted exactly up to this many matches (an index range counted entry by entry:
# 65,733 entries took 10-18 ms on PostgreSQL); beyond, a choice or a checkbox is estimated.
EXACT = 10_000
_SAMPLE_MATCHES = 50  # matches a sample needs for an estimate (+-15% at worst); fewer: count them all
_PREFIXES = 16**3  # samples are record ids below a 3-hex-digit prefix
# A choice's or a checkbox's sample: the ids below "100", 1/16 of them (over EXACT matches, at least 625
# in the sample: +-4%).
_TALLY_PREFIX, _TALLY_SHARE = "100", 16
# The alias of record_values a count starts from (its probes read another: list_filters.py says why one).
_DRIVER = aliased(RecordValue, name="driver")
# The kept count of each typed column of record_values (`ValueCount`).
_VALUE_COUNTS = {
    "text_folded": ValueCount.texts,
    "number_value": ValueCount.numbers,
    "date_value": ValueCount.dates,
    "bool_value": ValueCount.bools,
    "decimal_key": ValueCount.decimals,
}


@dataclass(frozen=True)
class Counted:
    """What a count is of: a collection's records that pass `live` and `own` (conditions on the record
    itself) and `tests` (on its values); `scan`: a search; `recent`: a time range (the last of `own`)."""

    collection: Collection
    live: list[Any]
    own: list[Any]
    tests: list[ValueTest]
    scan: bool
    recent: bool


async def gather(
    session: AsyncSession,
    counted: Counted,
) -> list[str] | None:
    """The ids of all the records that pass, when they are at most `FEW`; else None."""
    statement = _count(counted, ids=True)
    found = list(await session.scalars(statement.limit(FEW + 1)))
    return found if len(found) <= FEW else None


async def total(
    session: AsyncSession,
    counted: Counted,
) -> tuple[int, bool]:
    """How many records pass, and whether that is an estimate.

    Exact whenever it is cheap: no filter at all reads the collection's kept count of live records; one
    filter alone is one count of its value index (up to `EXACT`); "F is empty" alone is the kept count less
    F's kept count of values (`_kept_values`); a "must not" test is counted as all the
    others pass less those that also pass its opposite (two counts from indexes, not a probe per record).
    Otherwise a count starts from its driver (the likeliest selective filter's index, or the live records)
    and tests each candidate for the other conditions: up to `BUDGET` candidates that is done for all of
    them; beyond, only for a random sample (record ids are random: those below a prefix), and the total
    is the candidates times the share that passed, marked as an estimate, unless the sample held too few
    matches to say (`_SAMPLE_MATCHES`): then all are tested after all."""
    collection, own, tests = counted.collection, counted.own, counted.tests
    negative = [test for test in tests if not test.present]
    if len(negative) == 1:
        rest = [test for test in tests if test is not negative[0]]
        opposite = replace(negative[0], present=True)
        every, estimated = await total(session, replace(counted, tests=rest))
        if estimated:  # the others are many: estimate the whole at once (its opposite is a test too)
            return await _bounded(session, counted)
        if not rest and not own and negative[0].column is not None:  # "F is empty" alone: both are kept
            present = await session.scalar(_kept_values(collection, negative[0].key, negative[0].column))
            return max(every - (present or 0), 0), False
        # The opposite alone is no equality (`_tally`): its ops are none, so it is counted exactly.
        opposed, estimated = await total(session, replace(counted, tests=[*rest, opposite]))
        if estimated:  # a difference of estimates could be anything: estimate the whole at once
            return await _bounded(session, counted)
        return max(every - opposed, 0), False
    if not tests and not own:
        return await session.scalar(_kept(collection)) or 0, False
    return await _bounded(session, counted)


async def _bounded(
    session: AsyncSession,
    counted: Counted,
) -> tuple[int, bool]:
    """`total` of a count with a driver and other conditions: exact up to `BUDGET` candidates."""
    collection = counted.collection
    driver = None if counted.recent else next(iter(_positive(counted.tests)), None)
    tally = driver if driver is not None and driver.equality else None
    candidates = _count(counted, driver_only=True)
    if candidates is None:  # the driver is all there is
        if tally is not None:
            return await _tally(session, collection, tally)
        return await session.scalar(_count(counted)) or 0, False
    if tally is not None:  # how many candidates only sizes the sample: an estimate will do
        drivers, _ = await _tally(session, collection, tally)
    else:
        drivers = await session.scalar(candidates) or 0
    if drivers > BUDGET:
        below = Sample(_sample_bound(BUDGET / drivers), session.get_bind().dialect.name == "sqlite")
        sample = _count(counted, below=below)
        sampled, passed = (await session.execute(sample)).one()
        if sampled and (passed or 0) >= _SAMPLE_MATCHES:
            return round(drivers * passed / sampled), True
    return await session.scalar(_count(counted)) or 0, False


async def _tally(session: AsyncSession, collection: Collection, driver: ValueTest) -> tuple[int, bool]:
    """How many value rows pass `driver`, a choice of values or a checkbox: exact up to about `EXACT`,
    else estimated from the rows of the ids below `_TALLY_PREFIX` (within each value, a range of its
    index: a 16th of the rows read)."""
    value = _DRIVER
    counted = select(func.count()).select_from(value)
    counted = counted.where(value.collection_id == collection.id, *driver.on(value))
    sampled = await session.scalar(counted.where(value.record_id < _TALLY_PREFIX)) or 0
    if sampled * _TALLY_SHARE > EXACT:
        return sampled * _TALLY_SHARE, True
    return await session.scalar(counted) or 0, False


def _sample_bound(share: float) -> str:
    """The id prefix below which about `share` of random (uuid4 hex) record ids lie."""
    return f"{min(_PREFIXES - 1, max(1, math.ceil(share * _PREFIXES))):03x}"


def _kept(collection: Collection) -> Select[Any]:
    """The collection's count of live records, kept by the database (persistence/models.py)."""
    live = cast(func.coalesce(func.sum(RecordCount.live), 0), BigInteger)  # PostgreSQL sums to NUMERIC
    return select(live).where(
        RecordCount.tenant_id == collection.tenant_id, RecordCount.collection_id == collection.id
    )


def _kept_values(collection: Collection, key: str, column: str) -> Select[Any]:
    """How many of the collection's live records have a value in `column` for the field `key`, kept by
    the database (persistence/models.py: `ValueCount`)."""
    kept = cast(func.coalesce(func.sum(_VALUE_COUNTS[column]), 0), BigInteger)
    return select(kept).where(
        ValueCount.tenant_id == collection.tenant_id,
        ValueCount.collection_id == collection.id,
        ValueCount.field == key,
    )


def _passing(conditions: list[Any]) -> Any:
    """How many rows of a sample pass `conditions` (tested only for the sample's rows)."""
    return func.coalesce(func.sum(case((and_(true(), *conditions), 1), else_=0)), 0)


def _positive(tests: list[ValueTest]) -> list[ValueTest]:
    """The tests a count may start from, the likeliest selective first (a multi-valued field's may pass
    several rows of one record, so it is never counted from)."""
    return sorted((test for test in tests if test.present and not test.multi), key=lambda test: test.rank)


@dataclass(frozen=True, slots=True)
class Sample:
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

    def probing(self, test: ValueTest) -> ValueTest:
        """`test` as it probes this sample's records: SQLite looks each up (a few thousand: cheap);
        PostgreSQL hashes the ids of the sample that pass it (a correlated probe cost ~10 us a record)."""
        return replace(test, correlated=True) if self.sqlite else replace(test, below=self.prefix)


def _count(
    counted: Counted, driver_only: bool = False, below: Sample | None = None, ids: bool = False
) -> Any:
    """A time range (`recent`) is read from the live records' index by time (start there: "changed this
    week" is a small part of a collection, where a value filter may not be).

    `driver_only`: count the driver's candidates alone (None when the driver is all there is to count).
    `below`: a random sample, the records whose id is below this prefix: select how many of the driver's
    candidates are in it and how many of those pass the rest (each probed, correlated: a sample is few).
    `ids`: select the ids that pass instead of counting them."""
    collection, live, own, tests = counted.collection, counted.live, counted.own, counted.tests
    scan, recent = counted.scan, counted.recent
    positive = _positive(tests)
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
        records: Select[Any] = select(Record.id if ids else func.count()).select_from(Record)
        return records.where(*live, *own, *(test.probe(Record.id) for test in tests))
    value = _DRIVER
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
