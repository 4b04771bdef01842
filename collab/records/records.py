"""Collections and records of a tenant: every query is scoped by the caller's tenant.

A record of another tenant is reported exactly like a missing one (`RecordNotFound`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from collab.errors import (
    CollectionExists,
    CollectionNotFound,
    RecordIdTaken,
    RecordNotFound,
    SchemaError,
)
from collab.origin import OriginKind
from collab.records import unique_claims
from collab.records.document import summarize, write_fields
from collab.records.references import check_references, missing_targets
from collab.records.schema import (
    FieldSpec,
    check_write,
    parse_collection,
    specs_from_json,
)
from persistence import client_ids, record_values, update_log
from persistence.models import ChangeRow, Collection, Record, User, is_id, new_id

SAMPLE_COLLECTION = {
    "name": "customers",
    "label": "Customers",
    "fields": [
        {"key": "name", "label": "Name", "type": "text"},
        {"key": "email", "label": "Email", "type": "text"},
        {"key": "revenue", "label": "Revenue", "type": "number"},
        {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "prospect", "customer"]},
        {"key": "active", "label": "Active", "type": "boolean"},
        {"key": "next_call", "label": "Next call", "type": "date"},
        {"key": "notes", "label": "Notes", "type": "richtext"},
    ],
}


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC; SQLite hands datetimes back without their zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def collection_json(collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.id,
        "name": collection.name,
        "label": collection.label,
        "fields": collection.fields,
        "created_at": iso(collection.created_at),
    }


async def create_collection(session: AsyncSession, tenant_id: str, payload: Any) -> Collection:
    name, label, specs = parse_collection(payload)
    exists = await session.scalar(
        select(Collection).where(Collection.tenant_id == tenant_id, Collection.name == name)
    )
    if exists is not None:
        raise CollectionExists(f"collection {name!r} already exists")
    # A link needs its target to exist (or to be this very collection: people linking to people).
    missing = await missing_targets(session, tenant_id, [s for s in specs if s.target != name])
    if missing:
        raise SchemaError(missing)
    collection = Collection(
        tenant_id=tenant_id, name=name, label=label, fields=[spec.as_json() for spec in specs]
    )
    session.add(collection)
    await session.flush()
    return collection


async def list_collections(session: AsyncSession, principal: Principal) -> list[Collection]:
    rows = await session.scalars(
        select(Collection).where(Collection.tenant_id == principal.tenant_id).order_by(Collection.name)
    )
    return list(rows)


async def find_collection(session: AsyncSession, principal: Principal, name: str) -> Collection:
    collection = await session.scalar(
        select(Collection).where(Collection.tenant_id == principal.tenant_id, Collection.name == name)
    )
    if collection is None:
        raise CollectionNotFound(f"no collection {name!r}")
    return collection


async def find_record(
    session: AsyncSession, principal: Principal, record_id: str, *, include_deleted: bool = False
) -> tuple[Record, Collection]:
    """The caller's record; deleted ones only with `include_deleted` (to undelete them)."""
    if not is_id(record_id):
        raise RecordNotFound(record_id)
    query = (
        select(Record, Collection)
        .join(Collection, Collection.id == Record.collection_id)
        .where(Record.id == record_id, Record.tenant_id == principal.tenant_id)
    )
    if not include_deleted:
        query = query.where(Record.deleted_at.is_(None))
    row = (await session.execute(query)).first()
    if row is None:
        raise RecordNotFound(record_id)
    return row[0], row[1]


# `find_record`'s rule for a live join (issue 17), built once over the tables: the columns a join needs
# (tenant, collection, epoch, the collection's fields), without building a statement and loading two ORM
# objects per join.
_records, _collections = Record.__table__, Collection.__table__
_JOIN_ROW = (
    select(_records.c.tenant_id, _records.c.collection_id, _records.c.epoch, _collections.c.fields)
    .join(_collections, _collections.c.id == _records.c.collection_id)
    .where(
        _records.c.id == bindparam("record_id"),
        _records.c.tenant_id == bindparam("tenant_id"),
        _records.c.deleted_at.is_(None),
    )
)


async def find_join_row(
    session: AsyncSession, principal: Principal, record_id: str
) -> tuple[str, str, str, Any]:
    """The caller's live record as a join needs it: (tenant id, collection id, epoch, the collection's field
    definitions as stored); `RecordNotFound` exactly when `find_record` raises it."""
    if not is_id(record_id):
        raise RecordNotFound(record_id)
    row = (
        await session.execute(_JOIN_ROW, {"record_id": record_id, "tenant_id": principal.tenant_id})
    ).first()
    if row is None:
        raise RecordNotFound(record_id)
    return row[0], row[1], row[2], row[3]


def chosen_id(record_id: Any) -> str | None:
    """The id a client chose for a new record (a device makes one offline), or None: the server picks."""
    if record_id is None:
        return None
    if not isinstance(record_id, str) or not is_id(record_id):
        raise SchemaError({"id": "expected 32 lowercase hexadecimal digits"})
    return record_id


async def created_before(
    session: AsyncSession, principal: Principal, record_id: str, collection_name: Any
) -> tuple[Record, Collection] | None:
    """The record an earlier attempt of this very create made (its answer may have been lost): the caller's
    own, in that collection, not deleted. None when the id is free. Any other holder of the id is
    `RecordIdTaken`, told the same whoever it is (another tenant's record is never described)."""
    row = (
        await session.execute(
            select(Record, Collection)
            .join(Collection, Collection.id == Record.collection_id)
            .where(Record.id == record_id)
        )
    ).first()
    if row is None:
        return None
    record, collection = row[0], row[1]
    if (
        record.tenant_id != principal.tenant_id
        or record.created_by != principal.user_id
        or collection.name != collection_name
        or record.deleted_at is not None
    ):
        raise RecordIdTaken()
    return record, collection


async def create_record(
    session: AsyncSession,
    principal: Principal,
    collection_name: Any,
    values: Any,
    record_id: str | None = None,
) -> tuple[Record, Collection]:
    """The record row and its first update, in the caller's transaction (a new record has no room yet).
    `record_id`: the id the client chose (`chosen_id`); taken meanwhile by a concurrent create, it is
    `RecordIdTaken` and the transaction is spent."""
    if not isinstance(collection_name, str):
        raise SchemaError({"collection": "expected a collection name"})
    collection = await find_collection(session, principal, collection_name)
    specs = specs_from_json(collection.fields)
    checked = check_write(specs, values if values is not None else {}, creating=True)
    await check_references(session, principal.tenant_id, specs, checked)
    await unique_claims.check_free(session, None, principal.tenant_id, collection.id, specs, checked)
    summary, search_text = summarize({key: value for key, value in checked.items() if value is not None})
    record = Record(
        id=record_id if record_id is not None else new_id(),
        tenant_id=principal.tenant_id,
        collection_id=collection.id,
        created_by=principal.user_id,
        updated_by=principal.user_id,
        summary=summary,
        search_text=search_text,
    )
    session.add(record)
    try:
        await session.flush()
    except IntegrityError as error:
        if record_id is None:
            raise
        raise RecordIdTaken() from error
    present = {key: value for key, value in checked.items() if value is not None}
    await unique_claims.claim(session, record, specs, present)
    server_doc: Doc = Doc()
    update = write_fields(server_doc, specs, present)
    # The first values are history too: who put them there, and from where.
    first_changes = [
        ChangeRow(
            record_id=record.id,
            field=key,
            before=None,
            after=value,
            user_id=principal.user_id,
            session_id=principal.session_id,
            origin=OriginKind.API.value,
        )
        for key, value in checked.items()
        if value is not None
    ]
    session.add_all(first_changes)
    # The typed values lists sort and filter by, from the same summary (persistence/record_values.py).
    session.add_all(record_values.orm_rows(record, summary))
    await update_log.append(
        session,
        [
            update_log.NewUpdate(
                record_id=record.id,
                data=update,
                user_id=principal.user_id,
                session_id=principal.session_id,
                origin=OriginKind.CREATE.value,
            )
        ],
    )
    # The client id the first values were written under is the server's: nobody may add to it.
    await client_ids.claim(session, [(record.id, server_doc.client_id, None)])
    await session.flush()
    return record, collection


async def check_edit(
    session: AsyncSession,
    principal: Principal,
    record: Record,
    collection: Collection,
    specs: list[FieldSpec],
    values: dict[str, Any],
) -> None:
    """What an HTTP edit's values (`check_write`) must also be: persons and links that exist, unique
    values nobody else holds (`DuplicateValue`)."""
    await check_references(session, principal.tenant_id, specs, values)
    await unique_claims.check_free(session, record, principal.tenant_id, collection.id, specs, values)


async def user_refs(session: AsyncSession, tenant_id: str, user_ids: set[str]) -> dict[str, dict[str, str]]:
    if not user_ids:
        return {}
    users = await session.scalars(select(User).where(User.tenant_id == tenant_id, User.id.in_(user_ids)))
    return {user.id: {"id": user.id, "name": user.name, "email": user.email} for user in users}


def record_json(
    record: Record, collection: Collection, fields: dict[str, Any], users: dict[str, dict[str, str]]
) -> dict[str, Any]:
    return {
        "id": record.id,
        "collection": collection.name,
        "fields": fields,
        "created_at": iso(record.created_at),
        "created_by": users.get(record.created_by or ""),
        "updated_at": iso(record.updated_at),
        "updated_by": users.get(record.updated_by or ""),
    }
