"""Exporting a collection's current view (the list's sort and filters, chosen columns) as CSV or JSON.

The records are read the way the list reads them (`collab/services/listing.py`, keyset pages of
`BATCH_ROWS`) and written out batch by batch: each batch is read in a database session of its own, closed
before its bytes are handed to the client, so a slow reader holds no connection and the server never
holds more than one batch. Values are the stored ones: a record's summary, except where it shortened a
long text (or a record has none yet): then its document. Lists stay lists in JSON and are joined with
`; ` in CSV; rich text is its text; decimals are their strings. CSV cells that a spreadsheet would run
as formulas are escaped (`collab/records/csv_values.py`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.access import Action, require
from auth.principal import Principal
from collab.errors import InvalidArgument
from collab.live.registry import RoomRegistry
from collab.records import list_query, records
from collab.records.csv_values import csv_line, to_cell
from collab.records.document import SUMMARY_TEXT_CHARS, read_fields, tidy
from collab.records.schema import FieldSpec, specs_from_json
from collab.services import listing
from collab.services.records import document_now
from persistence.database import Database
from persistence.models import Collection, Record

BATCH_ROWS = list_query.MAX_LIMIT
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
_NOT_QUERY = ("format", "columns", "limit", "cursor")
_BOM = "\ufeff"  # so that spreadsheets read the file as UTF-8


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    chunks: AsyncIterator[bytes]


class Exports:
    def __init__(self, database: Database, registry: RoomRegistry) -> None:
        self._database = database
        self._registry = registry

    async def export(self, principal: Principal, collection_name: str, params: Mapping[str, str]) -> Export:
        """The file for `params` (the list's parameters, `format`, `columns`). Everything the caller can get
        wrong is raised here, before the first byte."""
        require(principal, Action.READ)
        kind = params.get("format") or "csv"
        if kind not in FORMATS:
            raise InvalidArgument(f"format must be {' or '.join(FORMATS)}")
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, collection_name)
        specs = specs_from_json(collection.fields)
        columns = _columns(specs, collection, params.get("columns"))
        query = list_query.parse(specs, {k: v for k, v in params.items() if k not in _NOT_QUERY})
        query = replace(query, limit=BATCH_ROWS)
        rows = self._rows(principal, collection, query, columns)
        chunks = _csv(rows, columns) if kind == "csv" else _json(rows, columns)
        day = dt.datetime.now(dt.UTC).date().isoformat()
        return Export(f"{collection.name}-{day}.{kind}", FORMATS[kind], chunks)

    async def _rows(
        self,
        principal: Principal,
        collection: Collection,
        query: list_query.ListQuery,
        columns: list[FieldSpec],
    ) -> AsyncIterator[list[tuple[str, dict[str, Any]]]]:
        """The view's records, a batch at a time: (id, values)."""
        order = "desc" if query.descending else "asc"
        while True:
            async with self._database.session() as session:
                found = await listing.page(session, self._database.dialect, principal, collection, query)
                batch = [(record.id, await self._values(session, record)) for record in found.records]
            yield batch
            if found.next_cursor is None:
                return
            cursor = list_query.decode_cursor(found.next_cursor, query.sort, order, query.kind)
            query = replace(query, cursor=cursor)

    async def _values(self, session: AsyncSession, record: Record) -> dict[str, Any]:
        if record.summary is not None and not any(_shortened(value) for value in record.summary.values()):
            return {key: tidy(value) for key, value in record.summary.items()}  # as GET shows them
        return read_fields(await document_now(self._registry, session, record.id))


def _shortened(value: Any) -> bool:
    """A text the summary cut short (it may also be a text that happens to look so: then the document is
    read for nothing)."""
    return isinstance(value, str) and len(value) == SUMMARY_TEXT_CHARS + 1 and value.endswith("…")


def _columns(specs: list[FieldSpec], collection: Collection, wanted: str | None) -> list[FieldSpec]:
    """The fields asked for, in that order; by default every field that is not archived."""
    if not wanted:
        archived = {spec["key"] for spec in collection.fields if spec.get("archived")}
        return [spec for spec in specs if spec.key not in archived]
    by_key = {spec.key: spec for spec in specs}
    keys = [key.strip() for key in wanted.split(",") if key.strip()]
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise InvalidArgument(f"columns: not fields of this collection: {', '.join(unknown[:10])}")
    if len(set(keys)) != len(keys):
        raise InvalidArgument("columns: a field is named twice")
    return [by_key[key] for key in keys]


async def _csv(
    rows: AsyncIterator[list[tuple[str, dict[str, Any]]]], columns: list[FieldSpec]
) -> AsyncIterator[bytes]:
    yield (_BOM + csv_line(["id", *(spec.label for spec in columns)])).encode()
    async for batch in rows:
        lines = (
            csv_line([record_id, *(to_cell(values.get(spec.key)) for spec in columns)])
            for record_id, values in batch
        )
        yield "".join(lines).encode()


async def _json(
    rows: AsyncIterator[list[tuple[str, dict[str, Any]]]], columns: list[FieldSpec]
) -> AsyncIterator[bytes]:
    first = True
    yield b"["
    async for batch in rows:
        parts = []
        for record_id, values in batch:
            item = {"id": record_id, "fields": {spec.key: values.get(spec.key) for spec in columns}}
            parts.append(("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False, allow_nan=False))
            first = False
        yield "".join(parts).encode()
    yield b"\n]\n"
