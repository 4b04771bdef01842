"""Records' field values as lists sort and filter them: one typed row per field that has a value.

The rows are derived from a record's `summary` (the field values a list shows, long texts shortened), and
written wherever the summary is: by the log appender with each commit, in the same transaction and from
the same values, and by the create use-case. So they never need a document loaded, and the migration that
added them (0008) filled them from the summaries already stored. A record whose summary is still NULL
(written before summaries existed and never edited since) has no rows until its next edit.

Only live records have rows: deleting a record removes them and bringing it back restores them, so a
filter or a count over these rows never has to read `records` to leave deleted ones out.

Each value fills the columns its JSON type fits: a string `text_value` (its first `TEXT_CHARS` characters
as stored) and `text_folded` (case-folded, for sorting and "contains"), and `date_value` too when it is a
`YYYY-MM-DD` day, and `decimal_key` when it is a canonical decimal (persistence/decimal_keys.py); a
number `number_value`; a boolean `bool_value`. Each distinct string of a list (a multiselect's options, a
link's record ids) is a text row of its own, under `key#n` (`item_field`). An empty text, null, and
other values (objects, other lists) have no row: to a list they are empty.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.decimal_keys import decimal_key
from persistence.models import Record, RecordValue
from persistence.stored_json import derived_text

# The summary keeps the first 200 characters of a text (plus "…"), so no more can be derived from it; and
# an index entry must stay under PostgreSQL's limit of 2,704 bytes (200 characters are at most 800).
TEXT_CHARS = 200
FIELD_CHARS = 64
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# (field, text_value, text_folded, number_value, date_value, bool_value)
Values = tuple[str, str | None, str | None, float | int | None, dt.date | None, bool | None]


def fold(text: str) -> str:
    """The form `text_folded` holds, and a "contains" filter or a cursor compares with."""
    return derived_text(text.replace("\x00", "")).casefold()[:TEXT_CHARS]


def values_of(summary: Mapping[str, Any] | None) -> Iterator[Values]:
    """The typed rows of a record with this summary (field key, then the typed columns)."""
    for key, value in (summary or {}).items():
        field = key.replace("\x00", "")[:FIELD_CHARS]
        if isinstance(value, bool):
            yield field, None, None, None, None, value
        elif isinstance(value, int | float):
            if isinstance(value, int) or math.isfinite(value):
                yield field, None, None, value, None, None
        elif isinstance(value, str) and value:
            stored = derived_text(value.replace("\x00", ""))[:TEXT_CHARS]
            yield field, stored, fold(value), None, _day(value), None


# A row as written: the typed columns of `Values`, then the decimal sort key (persistence/decimal_keys.py).
Row = tuple[str, str | None, str | None, float | int | None, dt.date | None, bool | None, str | None]
# A multi-valued field (multiselect, link) lists each item as a row of its own, under `key#n`.
MAX_ITEMS = 100


def item_field(key: str, index: int) -> str:
    """The `field` of the `index`-th item of a multi-valued field `key`: within the column's 64 characters
    whatever key a client wrote (the keys of such fields have at most 60)."""
    return f"{key[: FIELD_CHARS - 4]}#{index}"


def item_fields(key: str) -> list[str]:
    """Every `field` a multi-valued field's items may be listed under."""
    return [item_field(key, index) for index in range(MAX_ITEMS)]


def rows_of(summary: Mapping[str, Any] | None) -> Iterator[Row]:
    """The rows a record with this summary has: `values_of`, with the decimal sort key of texts that are
    decimals, and one row per item of a list of strings."""
    for field, text_value, text_folded, number, day, flag in values_of(summary):
        key = decimal_key(text_value) if text_value is not None else None
        yield field, text_value, text_folded, number, day, flag, key
    for key, value in (summary or {}).items():
        if isinstance(value, list):
            items = dict.fromkeys(item for item in value if isinstance(item, str) and item)
            for index, item in enumerate(list(items)[:MAX_ITEMS]):
                stored = derived_text(item.replace("\x00", ""))[:TEXT_CHARS]
                field = item_field(key.replace("\x00", ""), index)
                yield field, stored, fold(item), None, None, None, None


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


async def remove(session: AsyncSession, record_id: str) -> None:
    """A record is deleted: lists no longer see its values (nor need to check it is live)."""
    await session.execute(delete(RecordValue).where(RecordValue.record_id == record_id))


async def restore(session: AsyncSession, record: Record) -> None:
    """A record is brought back: its values again, from its summary (kept up to date while deleted)."""
    await remove(session, record.id)
    session.add_all(orm_rows(record, record.summary))


def orm_rows(record: Record, summary: Mapping[str, Any] | None) -> list[RecordValue]:
    """The rows of a record being created in an ORM session (flush the record first: it needs its id)."""
    return [
        RecordValue(
            record_id=record.id,
            tenant_id=record.tenant_id,
            collection_id=record.collection_id,
            field=field,
            text_value=text_value,
            text_folded=text_folded,
            number_value=number,
            date_value=day,
            bool_value=flag,
            decimal_key=key,
        )
        for field, text_value, text_folded, number, day, flag, key in rows_of(summary)
    ]


# For the log appender, which speaks to the driver (and bulk creation). A row's tenant and collection come
# from its record's row, so a write needs to carry neither; a write committed after the record was deleted
# leaves it none.
_COLUMNS = (
    "record_id, tenant_id, collection_id, field, text_value, text_folded, number_value, date_value,"
    " bool_value, decimal_key"
)
INSERT_SQLITE = (
    f"INSERT INTO record_values ({_COLUMNS}) SELECT id, tenant_id, collection_id, ?, ?, ?, ?, ?, ?, ?"
    " FROM records WHERE id = ? AND deleted_at IS NULL"
)
INSERT_POSTGRES = (
    f"INSERT INTO record_values ({_COLUMNS}) SELECT id, tenant_id, collection_id, $1, $2, $3, $4, $5, $6,"
    " $7 FROM records WHERE id = $8 AND deleted_at IS NULL"
)


def sqlite_parameters(record_id: str, summary: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
    """Parameters of `INSERT_SQLITE` for the record's rows (dates as SQLAlchemy writes them: ISO text)."""
    return [
        (field, text_value, text_folded, number, _iso(day), flag, key, record_id)
        for field, text_value, text_folded, number, day, flag, key in rows_of(summary)
    ]


def postgres_parameters(record_id: str, summary: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
    """Parameters of `INSERT_POSTGRES` (asyncpg wants a float for a double precision column)."""
    return [
        (
            field,
            text_value,
            text_folded,
            None if number is None else float(number),
            day,
            flag,
            key,
            record_id,
        )
        for field, text_value, text_folded, number, day, flag, key in rows_of(summary)
    ]


# A commit rewrites only what changed: the record's rows are read (one indexed read, and exact whatever
# else wrote them: create, import, trash, another node) and compared with the new ones; a changed value is
# updated in place, a new one inserted, one no longer there deleted. Replacing all of a record's rows cost
# a delete and an insert per row, each with its trigger's upsert of `value_counts` (0017): on SQLite ~60 %
# of the writer thread's time for a commit that changed one field of seven. The triggers count an update
# as the old row gone and the new one come, so the counts stay exact.
_TYPED = "text_value, text_folded, number_value, date_value, bool_value, decimal_key"
SELECT_SQLITE = f"SELECT field, {_TYPED} FROM record_values WHERE record_id = ?"
UPDATE_SQLITE = (
    "UPDATE record_values SET text_value = ?, text_folded = ?, number_value = ?, date_value = ?,"
    " bool_value = ?, decimal_key = ? WHERE field = ? AND record_id = ?"
)
DELETE_FIELD_SQLITE = "DELETE FROM record_values WHERE field = ? AND record_id = ?"
SELECT_POSTGRES = f"SELECT record_id, field, {_TYPED} FROM record_values WHERE record_id = ANY($1::varchar[])"
UPDATE_POSTGRES = (
    "UPDATE record_values SET text_value = $1, text_folded = $2, number_value = $3, date_value = $4,"
    " bool_value = $5, decimal_key = $6 WHERE field = $7 AND record_id = $8"
)
DELETE_FIELD_POSTGRES = "DELETE FROM record_values WHERE field = $1 AND record_id = $2"


class Rewrite:
    """The statements' parameters that turn stored rows into new ones: `insert` for `INSERT_*`, `update`
    for `UPDATE_*`, `delete` for `DELETE_FIELD_*`, over any number of records."""

    __slots__ = ("delete", "insert", "update")

    def __init__(self) -> None:
        self.insert: list[tuple[Any, ...]] = []
        self.update: list[tuple[Any, ...]] = []
        self.delete: list[tuple[str, str]] = []

    def add(self, record_id: str, stored: Iterable[Sequence[Any]], new: list[tuple[Any, ...]]) -> None:
        """Compare a record's `stored` rows ((field, typed columns...) as read) with its `new` parameters
        (`sqlite_parameters` / `postgres_parameters`: (field, typed columns..., record_id))."""
        old = {row[0]: tuple(row[1:]) for row in stored}
        for row in new:
            field, typed = row[0], row[1:-1]
            if field not in old:
                self.insert.append(row)
            elif old.pop(field) != typed:
                self.update.append((*typed, field, record_id))
        self.delete.extend((field, record_id) for field in old)
