"""A list's filters as tests of `record_values` rows: what one field's value row must be, or must not be.

Every condition on value rows names the tenant as well as the collection: the tenant leads each value index,
so PostgreSQL's row-level policy (tenant_id) is checked in the index, with no row read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, not_, select
from sqlalchemy.orm import aliased

from collab.records.decimals import bound_key
from collab.records.list_query import Filter, ListQuery
from persistence.models import Collection, RecordValue
from persistence.record_values import fold, item_fields

# The column of record_values each kind of field sorts and filters by.
COLUMNS = {
    "text": "text_folded",
    "number": "number_value",
    "date": "date_value",
    "bool": "bool_value",
    "decimal": "decimal_key",  # exact: collab/records/decimals.py
    "multi": "text_folded",  # one row per item, under `key#n` (persistence/record_values.py)
}
# Which positive filter a count starts from: the likeliest to be selective first.
_DRIVER_RANK = {"range": 0, "in": 1, "is": 2, "contains": 3, "bound": 4, "present": 5}
_RANKED = {"in": "in", "is": "is", "contains": "contains", "gte": "bound", "lte": "bound"}
# Operators that compare the value for equality: their index rows are ordered by record id within each
# value, so a range of ids (a random sample) is a range of the index (collab/records/list_totals.py).
_EQUALITIES = {"in", "is"}
SCANNED = {"contains"}  # filters that test every value of their field
# The alias of record_values that probes read: one for all (making an alias and its columns anew cost
# ~0.3 ms of CPU each, several per page). Probes are never nested in one another, only side by side.
_PROBED = aliased(RecordValue, name="probed")

Numbers = Callable[[Decimal], Any]
# A condition on a value row, made for the alias of record_values it is to test.
Condition = Callable[[Any], ColumnElement[bool]]


@dataclass(slots=True)
class ValueTest:
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
    # Probing a sample (`list_totals.Sample`) with IN: only the ids below this prefix are read (a range of
    # the value index under an equality, so a choice of values reads the sample's share of its ids, not all).
    below: str | None = None
    # The typed column when all this test asks is whether the field has a value of it (an "empty" filter,
    # not multi-valued): the database keeps how many do (`value_counts`, collab/records/list_totals.py).
    column: str | None = None

    @property
    def rank(self) -> int:
        """How likely this test is to be selective (lower: more), to choose where a count starts."""
        if {"gte", "lte"} <= self.ops:
            return _DRIVER_RANK["range"]
        return min(
            (_DRIVER_RANK[_RANKED.get(op, "present")] for op in self.ops), default=_DRIVER_RANK["present"]
        )

    @property
    def equality(self) -> bool:
        """Whether every row that passes has one of a few values (a choice, a checked box): its index rows
        are then in record id order within each value."""
        return self.present and not self.multi and bool(self.ops) and self.ops <= _EQUALITIES

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
        value = _PROBED
        if self.present and not self.correlated:
            ids = select(value.record_id).where(value.collection_id == self.collection_id, *self.on(value))
            return record_id.in_(ids if self.below is None else ids.where(value.record_id < self.below))
        found = exists().where(value.record_id == record_id, *self.on(value))
        return found if self.present else not_(found)


def value_tests(query: ListQuery, numbers: Numbers, collection: Collection, sqlite: bool) -> list[ValueTest]:
    """The filters as tests of value rows: one per field for what its value must be (a range's two ends
    test the same row), one for each thing it must not be."""
    tests: list[ValueTest] = []
    present: dict[str, ValueTest] = {}
    tenant_id, collection_id = collection.tenant_id, collection.id
    for wanted in query.filters:
        name = COLUMNS[wanted.kind]
        if wanted.op in ("empty", "is") and (wanted.value if wanted.op == "empty" else not wanted.value):
            # Empty: no value of its kind. Unchecked: false, or never set.
            condition = not_null(name) if wanted.op == "empty" else _is_true(name)
            multi = wanted.kind == "multi"
            empty = ValueTest(wanted.field, False, tenant_id, collection_id, sqlite, [condition], multi=multi)
            empty.column = name if wanted.op == "empty" and not multi else None
            tests.append(empty)
            continue
        test = present.get(wanted.field)
        if test is None:
            test = present[wanted.field] = ValueTest(
                wanted.field, True, tenant_id, collection_id, sqlite, multi=wanted.kind == "multi"
            )
            if sqlite:  # SQLite uses a partial index only when told "not NULL" (a LIKE does not imply it);
                # PostgreSQL infers it, and estimates the rows worse when told.
                test.conditions.append(not_null(name))
            tests.append(test)
        test.conditions.append(_condition(wanted, name, numbers))
        test.ops.add(wanted.op)
    return tests


def _condition(wanted: Filter, name: str, numbers: Numbers) -> Condition:
    if wanted.op == "empty":  # not empty
        return not_null(name)
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


def not_null(name: str) -> Condition:
    return lambda value: getattr(value, name).is_not(None)


def _is_true(name: str) -> Condition:
    return lambda value: getattr(value, name) == True  # noqa: E712 (SQL "= true": an index condition)


def number_binder(dialect: str) -> Numbers:
    """Numbers as the column compares them: doubles (persistence/models.py says why), on both databases."""
    return float
