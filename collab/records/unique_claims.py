"""Unique values of HTTP writes: checked before a write, claimed by a create, re-checked after an edit.

A create claims its values in its own transaction (a savepoint, so a lost race is told as 409 and not as a
spent transaction); the unique constraint of `unique_values` decides between concurrent creates on both
databases. An edit goes through the record's live room like any other, and its commit indexes it (the
log appender): so it is checked before (the usual answer) and after it is stored, when a concurrent write
may have taken the value first (the room has then put the previous value back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from collab.errors import DuplicateValue, SchemaError
from collab.records.schema import FieldSpec
from collab.records.uniqueness import key_of, keys_of, title_of, unique_specs
from persistence import unique_values
from persistence.models import Record, UniqueValue
from persistence.unique_values import Taken


async def check_free(
    session: AsyncSession,
    record: Record | None,
    tenant_id: str,
    collection_id: str,
    specs: list[FieldSpec],
    values: Mapping[str, Any],
) -> None:
    """`DuplicateValue` naming the record that holds one of the unique values of `values` (the record
    being written, `record`, may hold its own values)."""
    for spec in unique_specs(specs):
        key = key_of(spec, values.get(spec.key))
        if key is None:
            continue
        holder = await unique_values.holder(session, tenant_id, collection_id, spec.key, key)
        if holder is not None and (record is None or holder.id != record.id):
            raise DuplicateValue(spec.key, holder.id, title_of(specs, holder.summary))


async def claim_loaded(
    session: AsyncSession,
    record_id: str,
    collection_id: str,
    tenant_id: str,
    specs: list[FieldSpec],
    fields: Mapping[str, Any],
) -> list[Taken]:
    """A record's unique values as its stored document holds them, when its room loads: each one not
    indexed yet is indexed now, and each one another record holds is returned (the room corrects it).
    That happens only after a crash between a live duplicate's commit and its correction's."""
    taken: list[Taken] = []
    for name, key in keys_of(specs, fields):
        row = await session.get(UniqueValue, (collection_id, name, key))
        if row is None:
            try:
                async with session.begin_nested():
                    session.add(
                        UniqueValue(
                            collection_id=collection_id,
                            field=name,
                            value_key=key,
                            tenant_id=tenant_id,
                            record_id=record_id,
                        )
                    )
                    await session.flush()
                continue
            except IntegrityError:
                row = await session.get(UniqueValue, (collection_id, name, key), populate_existing=True)
        if row is not None and row.record_id != record_id:
            holder = await session.get(Record, row.record_id)
            taken.append(Taken(name, key, row.record_id, holder.summary if holder is not None else None))
    return taken


async def index_field(
    session: AsyncSession, collection_id: str, tenant_id: str, specs: list[FieldSpec], spec: FieldSpec
) -> None:
    """A field becomes unique: index the values the collection's live records hold, from their stored
    summaries; `SchemaError` naming two records that hold the same value (one must change first)."""
    rows = await session.execute(
        select(Record.id, Record.summary).where(
            Record.tenant_id == tenant_id, Record.collection_id == collection_id, Record.deleted_at.is_(None)
        )
    )
    held: dict[str, tuple[str, Any]] = {}
    for record_id, summary in rows:
        key = key_of(spec, (summary or {}).get(spec.key))
        if key is None:
            continue
        if key in held:
            first = title_of(specs, held[key][1])
            second = title_of(specs, summary)
            raise SchemaError({spec.key: f"not unique yet: «{first}» and «{second}» hold the same value"})
        held[key] = (record_id, summary)
    session.add_all(
        UniqueValue(
            collection_id=collection_id, field=spec.key, value_key=key, tenant_id=tenant_id, record_id=rid
        )
        for key, (rid, _) in held.items()
    )
    await session.flush()


async def claim(
    session: AsyncSession, record: Record, specs: list[FieldSpec], values: Mapping[str, Any]
) -> None:
    """Index a new record's unique values in the caller's transaction; `DuplicateValue` when a concurrent
    write took one first (the caller's transaction stays usable: only the savepoint is rolled back)."""
    keys = keys_of(specs, values)
    if not keys:
        return
    try:
        async with session.begin_nested():
            session.add_all(unique_values.orm_rows(record, keys))
            await session.flush()
    except IntegrityError:
        await check_free(session, record, record.tenant_id, record.collection_id, specs, values)
        raise DuplicateValue(keys[0][0], "", "another record") from None
