"""Many new records of one collection in the caller's transaction: what `records.create_record` does for
one record, done for a batch with one statement per table.

Each record gets what a single create gives it: its row (summary and search text), its first update (its
own Yjs document, written by the server under a client id of its own, claimed by the server), a change
row per value (the history shows who put it there), and its typed list values. Creating 500 records one
`create_record` at a time costs five statements each; here the batch costs six in all.

The values must have been checked against the schema (`schema.check_values`) by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pycrdt import Doc
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from collab.origin import OriginKind
from collab.records.document import summarize, write_fields
from collab.records.schema import FieldSpec
from collab.records.uniqueness import keys_of
from persistence import client_ids, record_values, unique_values, update_log
from persistence.models import ChangeRow, Collection, Record, UniqueValue, new_id, utcnow


@dataclass(frozen=True, slots=True)
class Created:
    record: Record  # as inserted (not attached to the session)
    fields: dict[str, Any]  # its values, as a read of its document gives them
    upto_change_id: int = 0  # its newest change row (its `record.created` event covers them)


async def create_records(
    session: AsyncSession,
    principal: Principal,
    collection: Collection,
    specs: list[FieldSpec],
    rows: Sequence[dict[str, Any]],
) -> list[Created]:
    """Insert a record per entry of `rows` (checked values; None means no value), attributed to the
    caller. The caller commits."""
    if not rows:
        return []
    made: list[Created] = []
    record_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    # The list's typed values, as the update writer writes them with each commit (one executemany of the
    # driver's statement): ORM objects of them cost most of a batch's time.
    sqlite = session.get_bind().dialect.name == "sqlite"
    parameters = record_values.sqlite_parameters if sqlite else record_values.postgres_parameters
    value_rows: list[tuple[Any, ...]] = []
    unique_rows: list[UniqueValue] = []
    updates: list[update_log.NewUpdate] = []
    claims: list[tuple[str, int, str | None]] = []
    for values in rows:
        present = {key: value for key, value in values.items() if value is not None}
        summary, search_text = summarize(present)
        now = utcnow()
        record = Record(
            id=new_id(),
            tenant_id=principal.tenant_id,
            collection_id=collection.id,
            created_at=now,
            created_by=principal.user_id,
            updated_at=now,
            updated_by=principal.user_id,
            deleted_at=None,
            summary=summary,
            search_text=search_text,
            epoch=new_id(),
        )
        record_rows.append(
            {
                "id": record.id,
                "tenant_id": record.tenant_id,
                "collection_id": record.collection_id,
                "created_at": now,
                "created_by": record.created_by,
                "updated_at": now,
                "updated_by": record.updated_by,
                "summary": summary,
                "search_text": search_text,
                "epoch": record.epoch,
            }
        )
        doc: Doc = Doc()
        data = write_fields(doc, specs, present)
        updates.append(
            update_log.NewUpdate(
                record_id=record.id,
                data=data,
                user_id=principal.user_id,
                session_id=principal.session_id,
                origin=OriginKind.CREATE.value,
            )
        )
        claims.append((record.id, doc.client_id, None))
        unique_rows += unique_values.orm_rows(record, keys_of(specs, present))
        change_rows += [
            {
                "record_id": record.id,
                "field": key,
                "before": None,
                "after": value,
                "user_id": principal.user_id,
                "session_id": principal.session_id,
                "origin": OriginKind.API.value,
                "at": now,
            }
            for key, value in present.items()
        ]
        value_rows += parameters(record.id, summary)
        made.append(Created(record, present))
    # Core inserts of the tables (one executemany each): the ORM's bulk insert sent a statement per row.
    await session.execute(_table(Record).insert(), record_rows)
    if change_rows:
        await session.execute(_table(ChangeRow).insert(), change_rows)
    if value_rows:
        connection = await session.connection()
        statement = record_values.INSERT_SQLITE if sqlite else record_values.INSERT_POSTGRES
        await connection.exec_driver_sql(statement, value_rows)
    await update_log.append(session, updates)
    await client_ids.claim(session, claims)
    # Unique values are claimed as a single create claims them: a value taken meanwhile fails the flush.
    session.add_all(unique_rows)
    await session.flush()
    found = await session.execute(
        select(ChangeRow.record_id, func.max(ChangeRow.id))
        .where(ChangeRow.record_id.in_([item.record.id for item in made]))
        .group_by(ChangeRow.record_id)
    )
    newest = {record_id: change_id for record_id, change_id in found}
    return [replace(item, upto_change_id=newest.get(item.record.id, 0)) for item in made]


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table
