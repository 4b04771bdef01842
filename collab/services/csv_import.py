"""Importing a CSV file into a collection (editors): preview, then commit with progress.

The file is read whole (its size is bounded by the route, its rows by `MAX_ROWS`), each column mapped to a
field, each cell turned into a value (`collab/records/csv_values.py`) and every row checked with the
collection's schema, as an HTTP create is. A link cell may name records by id or by title
(`csv_values.link_ids`): the titles of a link column are looked up once per import (`_link_targets`), not
per row. A preview answers what a commit would do; a commit creates the
valid rows in batches of `BATCH_ROWS` records, each batch one transaction (`collab/records/bulk_create.py`)
followed by the batch's `record.created` events, and reports progress after each batch. With
`on_error=refuse` every row is checked before anything is written and the records are created in a single
transaction, so either all rows become records or none does.

Records are attributed to the importer, as if they had created each one: `created_by`, the first update's
author and the history's first values.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from auth.access import Action, require
from auth.principal import Principal
from collab.changefeed.feed import Feed
from collab.errors import CsvInvalid, SchemaError
from collab.records import records
from collab.records.bulk_create import Created, create_records
from collab.records.csv_values import CellError, LinkTargets, Table, link_ids, read_csv, to_value
from collab.records.row_checks import RowChecks
from collab.records.schema import FieldSpec, check_write, specs_from_json
from collab.services.deferred import Deferred
from persistence import events
from persistence.database import Database
from persistence.models import Collection, Record, RecordValue, User
from persistence.record_values import TEXT_CHARS, fold

MAX_ROWS = 10_000
MAX_BYTES = 20 * 1024 * 1024
BATCH_ROWS = 500
MAX_ERRORS = 200
SAMPLE_ROWS = 20
MODES = ("preview", "commit")
ON_ERROR = ("skip", "refuse")
_YIELD_EVERY = 500  # rows checked between two chances for the event loop to serve others
_LOOKUP_CHUNK = 4_000  # link cell items per query: two parameters each, within SQLite's and asyncpg's limits
_TAKEN = "a unique value was taken by another record meanwhile: the rows from there on were not imported"


@dataclass(frozen=True)
class ImportRequest:
    data: bytes  # the file
    mapping: Any  # {"CSV column": "field key"} as sent; None: columns matched to fields by label or key
    on_error: str = "skip"  # a commit's: "skip" invalid rows, or "refuse" to create any unless all are valid


@dataclass
class _Checked:
    headers: list[str]
    mapping: dict[str, str]
    total: int = 0
    valid: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, values)
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first MAX_ERRORS
    error_count: int = 0
    invalid_rows: int = 0

    def report(self) -> dict[str, Any]:
        return {
            "headers": self.headers,
            "mapping": self.mapping,
            "total_rows": self.total,
            "valid_rows": len(self.valid),
            "invalid_rows": self.invalid_rows,
            "errors": self.errors,
            "more_errors": self.error_count - len(self.errors),
        }


class Imports:
    def __init__(self, database: Database, feed: Feed) -> None:
        self._database = database
        self._feed = feed

    async def preview(
        self, principal: Principal, collection_name: str, read: Deferred[ImportRequest]
    ) -> dict[str, Any]:
        """What a commit would do: counts, the per-row errors and the first rows as they would be stored."""
        require(principal, Action.EDIT)
        collection, people = await self._collection(principal, collection_name)
        wanted = await read()
        checked = await _check(
            self._database, principal, collection, read_csv(wanted.data, MAX_ROWS), wanted.mapping, people
        )
        sample = [{"row": row, "fields": values} for row, values in checked.valid[:SAMPLE_ROWS]]
        return checked.report() | {"sample": sample}

    async def commit(
        self, principal: Principal, collection_name: str, read: Deferred[ImportRequest]
    ) -> AsyncIterator[dict[str, Any]]:
        """Check every row, then create the valid ones; an iterator of progress (`{"done", "total"}`) ending
        with the outcome (`{"created", "skipped", "errors", ...}`). Everything a caller can get wrong is
        raised before the first item."""
        require(principal, Action.EDIT)
        collection, people = await self._collection(principal, collection_name)
        wanted = await read()
        if wanted.on_error not in ON_ERROR:
            raise CsvInvalid(f"on_error must be {' or '.join(ON_ERROR)}")
        checked = await _check(
            self._database, principal, collection, read_csv(wanted.data, MAX_ROWS), wanted.mapping, people
        )
        return self._create(principal, collection, checked, refuse=wanted.on_error == "refuse")

    async def _create(
        self, principal: Principal, collection: Collection, checked: _Checked, *, refuse: bool
    ) -> AsyncIterator[dict[str, Any]]:
        outcome = checked.report() | {"created": 0, "skipped": checked.invalid_rows, "refused": False}
        if refuse and checked.errors:
            yield outcome | {"skipped": 0, "refused": True}
            return
        specs = specs_from_json(collection.fields)
        rows = [values for _, values in checked.valid]
        total = len(rows)
        yield {"done": 0, "total": total}
        created = 0
        try:
            if refuse:
                # One transaction: all of them or none. Progress counts rows written, committed at the end.
                async with self._database.session() as session:
                    made: list[Created] = []
                    for start in range(0, total, BATCH_ROWS):
                        made += await create_records(
                            session, principal, collection, specs, rows[start : start + BATCH_ROWS]
                        )
                        yield {"done": len(made), "total": total}
                    await session.commit()
                for start in range(0, total, BATCH_ROWS):
                    batch = made[start : start + BATCH_ROWS]
                    await self._feed.publish_many(_created_events(principal, batch))
                created = len(made)
            else:
                for start in range(0, total, BATCH_ROWS):
                    async with self._database.session() as session:
                        batch = await create_records(
                            session, principal, collection, specs, rows[start : start + BATCH_ROWS]
                        )
                        await session.commit()
                    await self._feed.publish_many(_created_events(principal, batch))
                    created += len(batch)
                    yield {"done": created, "total": total}
        except IntegrityError:
            # A unique value checked free was taken by a concurrent write: the batch is rolled back.
            yield outcome | {"created": created, "failed": _TAKEN}
            return
        yield outcome | {"created": created}

    async def _collection(self, principal: Principal, name: str) -> tuple[Collection, dict[str, str]]:
        """The collection, and the tenant's people by lower-cased email (a person cell may name one)."""
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, name)
            people: dict[str, str] = {}
            if any(spec.get("type") == "person" for spec in collection.fields):
                found = await session.execute(
                    select(User.email, User.id).where(User.tenant_id == principal.tenant_id)
                )
                people = {email.lower(): user_id for email, user_id in found}
        return collection, people


def mapping_of(raw: Any, headers: list[str], collection: Collection) -> dict[str, str]:
    """The mapping from CSV columns to field keys: as sent (checked), or else guessed, each column to the
    field whose label or key it names (ignoring case and spaces)."""
    usable = {spec["key"]: spec for spec in collection.fields if not spec.get("archived")}
    if raw is None:
        by_name: dict[str, str] = {}
        for key, spec in usable.items():
            by_name.setdefault(_folded(key), key)
            by_name.setdefault(_folded(str(spec.get("label", key))), key)
        guessed: dict[str, str] = {}
        for header in headers:
            key = by_name.get(_folded(header))
            if key is not None and key not in guessed.values():
                guessed[header] = key
        return guessed
    if not isinstance(raw, dict) or not all(isinstance(v, str | None) for v in raw.values()):
        raise CsvInvalid('mapping must be a JSON object {"CSV column": "field key"}')
    mapping = {header: key for header, key in raw.items() if key}  # null or "": the column is ignored
    unknown = [header for header in mapping if header not in headers]
    if unknown:
        raise CsvInvalid(f"mapping names columns the file does not have: {', '.join(unknown)}")
    strange = [key for key in mapping.values() if key not in usable]
    if strange:
        raise CsvInvalid(f"mapping names fields the collection does not have: {', '.join(strange)}")
    twice = sorted({key for key in mapping.values() if list(mapping.values()).count(key) > 1})
    if twice:
        raise CsvInvalid(f"each field takes one column; mapped more than once: {', '.join(twice)}")
    return mapping


def _folded(name: str) -> str:
    return "".join(name.split()).casefold()


async def _check(
    database: Database,
    principal: Principal,
    collection: Collection,
    table: Table,
    raw_mapping: Any,
    people: Mapping[str, str],
) -> _Checked:
    """Every row mapped and checked as an HTTP create checks its values: the schema (types, required,
    archived), then what needs the database (collab/records/row_checks.py)."""
    mapping = mapping_of(raw_mapping, table.headers, collection)
    if not mapping:
        raise CsvInvalid("no column is mapped to a field")
    specs = specs_from_json(collection.fields)
    by_key = {spec.key: spec for spec in specs}
    columns: list[tuple[int, FieldSpec]] = [
        (table.headers.index(header), by_key[key]) for header, key in mapping.items()
    ]
    rows: list[tuple[int, dict[str, Any], dict[str, str]]] = []
    for number, cells in enumerate(table.rows, start=1):
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        for index, spec in columns:
            try:
                value = to_value(spec, cells[index], people)
            except CellError as error:
                problems[spec.key] = str(error)
                continue
            if value is not None:
                values[spec.key] = value
        rows.append((number, values, problems))
        if number % _YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let rooms and streams run between slices of a large file
    await _name_links(database, principal.tenant_id, [spec for _, spec in columns], rows)
    for at, (number, values, problems) in enumerate(rows):
        try:
            rows[at] = (number, check_write(specs, values, creating=True), problems)
        except SchemaError as error:
            rows[at] = (number, values, error.errors | problems)
        if number % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
    more = RowChecks(principal.tenant_id, collection.id, specs, mapping.values())
    if more.needed:
        async with database.session() as session:
            for number, values, problems in rows:
                if not problems:
                    problems.update(await more.problems(session, number, values))
    checked = _Checked(table.headers, mapping, total=len(table.rows))
    for number, values, problems in rows:
        if problems:
            checked.invalid_rows += 1
            checked.error_count += len(problems)
            room = MAX_ERRORS - len(checked.errors)
            checked.errors += [
                {"row": number, "field": key, "message": message} for key, message in problems.items()
            ][:room]
        else:
            checked.valid.append((number, values))
    return checked


async def _name_links(
    database: Database,
    tenant_id: str,
    specs: list[FieldSpec],
    rows: list[tuple[int, dict[str, Any], dict[str, str]]],
) -> None:
    """Each link column's items as record ids (titles replaced), in place; a title several records have is
    the row's error for that field."""
    links = [spec for spec in specs if spec.type == "link" and spec.target]
    if not links:
        return
    async with database.session() as session:
        for spec in links:
            items = {item for _, values, _ in rows for item in values.get(spec.key) or ()}
            targets = await _link_targets(session, tenant_id, spec.target or "", items)
            for _, values, problems in rows:
                if values.get(spec.key):
                    try:
                        values[spec.key] = link_ids(values[spec.key], targets)
                    except CellError as error:
                        problems[spec.key] = str(error)
                        del values[spec.key]


async def _link_targets(session: AsyncSession, tenant_id: str, target: str, items: set[str]) -> LinkTargets:
    """Which `items` are ids of `target`'s records (deleted ones too, as the reference check allows), and
    which live records have each of their titles: one query per `_LOOKUP_CHUNK` items, from the stored list
    values (`record_values`: live records only), whatever the number of rows."""
    collection = await session.scalar(
        select(Collection).where(Collection.tenant_id == tenant_id, Collection.name == target)
    )
    if collection is None or not items:
        return LinkTargets(frozenset(), {})
    title_key = next((s["key"] for s in collection.fields if s.get("type") == "text"), None)
    ids: set[str] = set()
    titles: dict[str, list[str]] = {}
    ordered = sorted(items)
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        by_id = select(Record.id, literal(None).label("title")).where(
            Record.tenant_id == tenant_id, Record.collection_id == collection.id, Record.id.in_(chunk)
        )
        # Longer cells cannot be told apart from their first TEXT_CHARS characters: only ids for them.
        folded = {fold(item) for item in chunk if len(item) <= TEXT_CHARS}
        by_title = select(RecordValue.record_id, RecordValue.text_folded).where(
            RecordValue.tenant_id == tenant_id,
            RecordValue.collection_id == collection.id,
            RecordValue.field == (title_key or ""),
            RecordValue.text_folded.in_(folded),
        )
        query: Executable | Any = union_all(by_id, by_title) if title_key and folded else by_id
        for record_id, title in await session.execute(query):
            if title is None:
                ids.add(record_id)
            else:
                titles.setdefault(title, []).append(record_id)
    return LinkTargets(frozenset(ids), {title: tuple(sorted(found)) for title, found in titles.items()})


def _created_events(principal: Principal, made: list[Created]) -> list[events.NewEvent]:
    return [
        events.NewEvent(
            tenant_id=item.record.tenant_id,
            collection_id=item.record.collection_id,
            record_id=item.record.id,
            type="record.created",
            at=item.record.created_at,
            user_id=principal.user_id,
            fields=item.fields,
            upto_change_id=item.upto_change_id,
        )
        for item in made
    ]


def parse_mapping(text: str | None) -> Any:
    """The `mapping` query parameter: JSON, or absent (None)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise CsvInvalid('mapping must be JSON: {"CSV column": "field key"}') from None
