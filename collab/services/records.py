"""Records: read one, list, create, duplicate, change (PATCH with If-Match), delete and undelete.

Each use-case is one method of `Records`, built once by the composition root: it checks the caller's role
(auth/access.py), reads and writes through one database session, publishes its feed event and acts on the
live room through the registry. A record's content is its open room's document when there is one, else the
stored one. A session is never held while the use-case waits for the client (its body) or for the writer
(a flush): its connection goes back to the pool meanwhile, so those use-cases read before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pycrdt import Doc
from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from auth import audit
from auth.access import Action, require
from auth.principal import Principal
from collab.changefeed.feed import Feed
from collab.errors import (
    DuplicateValue,
    PreconditionFailed,
    PreconditionRequired,
    RecordDeleted,
    RecordIdTaken,
    RoomBroken,
    RoomLoadFailed,
    close_frame,
)
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.records import list_query, records, unique_claims
from collab.records.copies import copyable_values
from collab.records.document import read_fields
from collab.records.schema import check_write, specs_from_json
from collab.records.title import title_of
from collab.services import listing
from collab.services.comments import comment_of, no_comment
from collab.services.deferred import Deferred
from collab.store.snapshotter import replay
from collab.ycodec.etag import etag_of, if_match_holds
from persistence import changes, conflicts, events, record_values, snapshots, unique_values
from persistence.database import Database
from persistence.models import Collection, Record, utcnow


@dataclass(frozen=True)
class RecordView:
    """A record as `GET` shows it, and the ETag of the same content (both read at one moment)."""

    body: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class NewRecord:
    collection: Any  # a collection name, checked by the use-case
    fields: Any
    id: Any = None  # chosen by the client (a device creating offline), else None: checked by the use-case


class Records:
    def __init__(self, database: Database, registry: RoomRegistry, feed: Feed) -> None:
        self._database = database
        self._registry = registry
        self._feed = feed

    async def get(self, principal: Principal, record_id: str) -> RecordView:
        require(principal, Action.READ)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            return await record_view(self._registry, session, principal, record, collection)

    async def presence(self, principal: Principal, record_id: str) -> list[dict[str, object]]:
        """Who is on the record now (nobody when its room is not open)."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
        room = self._registry.open_room(record.id)
        return room.presence() if room is not None else []

    async def newest(
        self, principal: Principal, collection_name: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """One page of the collection: `params` sort and filter it (collab/records/list_query.py; newest
        first by default), with the total and the cursor of the next page (collab/services/listing.py)."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, collection_name)
            query = list_query.parse(specs_from_json(collection.fields), params)
            found = await listing.page(session, self._database.dialect, principal, collection, query)
            rows = found.records
            users = await _authors(session, principal, rows)
            counts = await conflicts.open_counts(session, [row.id for row in rows])
            # Lists show the stored summaries (long texts shortened), so they never load documents.
            items = [
                records.record_json(
                    row,
                    collection,
                    row.summary
                    if row.summary is not None
                    else read_fields(await document_now(self._registry, session, row.id)),
                    users,
                )
                | {"open_conflicts": counts.get(row.id, 0)}
                for row in rows
            ]
            return {
                "records": items,
                "total": found.total,
                "total_is_estimate": found.total_is_estimate,
                "next_cursor": found.next_cursor,
            }

    async def create(self, principal: Principal, read: Deferred[NewRecord]) -> dict[str, Any]:
        """The new record (see `create_once`)."""
        body, _ = await self.create_once(principal, read)
        return body

    async def create_once(
        self, principal: Principal, read: Deferred[NewRecord]
    ) -> tuple[dict[str, Any], bool]:
        """The record row and its first update in one transaction, then its `record.created` event; and
        whether it was made now. A create naming its own id happens once however often it is sent: when
        the caller's earlier attempt made that record (its answer lost), the answer is that record, and
        False. Another holder of the id is `RecordIdTaken`."""
        require(principal, Action.EDIT)
        wanted = await read()
        record_id = records.chosen_id(wanted.id)
        try:
            async with self._database.session() as session:
                found = None
                if record_id is not None:
                    found = await records.created_before(session, principal, record_id, wanted.collection)
                if found is not None:
                    view = await record_view(self._registry, session, principal, *found)
                    return view.body, False
                record, collection = await records.create_record(
                    session, principal, wanted.collection, wanted.fields, record_id
                )
                upto_change_id = await changes.newest_id(session, record.id)
                await session.commit()
                created = await record_view(self._registry, session, principal, record, collection)
        except RecordIdTaken:
            if record_id is None:
                raise
            # A concurrent attempt of the same create won the race: answer as if it had come first.
            async with self._database.session() as session:
                found = await records.created_before(session, principal, record_id, wanted.collection)
                if found is None:
                    raise
                view = await record_view(self._registry, session, principal, *found)
                return view.body, False
        await self._feed.publish(
            _event(
                principal, record, "record.created", created.body["fields"], record.created_at, upto_change_id
            )
        )
        return created.body, True

    async def patch(
        self,
        principal: Principal,
        record_id: str,
        if_match: str | None,
        read_values: Deferred[Any],
        read_comment: Deferred[Any] = no_comment,
    ) -> RecordView:
        """Set field values through the live room, like any other edit: people on the record see it at once
        and it is logged with its author (and comment, when given: why). The ETag is checked and the edit
        applied with no await between, so no other update lands between the check and the write. Answers
        once the edit is stored."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
        if if_match is None:
            raise PreconditionRequired("send If-Match with the ETag of the record as you read it")
        specs = specs_from_json(collection.fields)
        values = check_write(specs, await read_values(), creating=False)
        async with self._database.session() as session:
            await records.check_edit(session, principal, record, collection, specs, values)
        comment = comment_of(await read_comment())
        origin = Origin(OriginKind.API, principal.user_id, principal.session_id, comment=comment)
        async with self._registry.use(record_id) as room:
            current = etag_of(room.doc)
            if not if_match_holds(if_match, current):
                raise PreconditionFailed(read_fields(room.doc), current)
            room.edit(specs, values, origin)
            # Stored before answering, so the record's updated_at/by already name this change.
            await self._registry.flush()
            if room.broken:  # the database refused the edit: the room is reloaded without it
                raise RoomBroken(record_id)
            async with self._database.session() as session:
                record, collection = await records.find_record(session, principal, record_id)
                # A concurrent write may have taken a unique value first: the room has put ours back,
                # and that is stored before the refusal is answered (a list read after the 409 never
                # shows the duplicate).
                try:
                    await unique_claims.check_free(
                        session, record, principal.tenant_id, collection.id, specs, values
                    )
                except DuplicateValue:
                    await self._registry.flush()
                    raise
                return await record_view(self._registry, session, principal, record, collection, room.doc)

    async def duplicate(self, principal: Principal, record_id: str) -> dict[str, Any]:
        """A new record of the same collection with the original's values as they are now (unique fields
        left empty: collab/records/copies.py), made by the caller, announced as `record.created`."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            _, collection = await records.find_record(session, principal, record_id)
            values = read_fields(await document_now(self._registry, session, record_id))
            copied = copyable_values(specs_from_json(collection.fields), values)
            record, collection = await records.create_record(session, principal, collection.name, copied)
            upto_change_id = await changes.newest_id(session, record.id)
            await session.commit()
            created = await record_view(self._registry, session, principal, record, collection)
        await self._feed.publish(
            _event(
                principal, record, "record.created", created.body["fields"], record.created_at, upto_change_id
            )
        )
        return created.body

    async def delete(self, principal: Principal, record_id: str, ip: str = "") -> None:
        """Soft delete into the trash (collab/services/trash.py): the record then answers like a missing
        one, and its open sockets close (4404, the reason naming who deleted it)."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            record.deleted_at = utcnow()
            record.deleted_by = principal.user_id
            await record_values.remove(session, record.id)  # lists leave it out
            await unique_values.remove(session, record.id)  # its unique values are free again
            entry = changes.lifecycle(record.id, changes.DELETED, principal.user_id, principal.session_id)
            session.add(entry)
            await _audit(session, principal, "record.delete", record, collection, ip)
            await session.flush()
            upto_change_id = entry.id
            await session.commit()
        code, reason = close_frame(RecordDeleted(record.id))
        # The open page says who (and offers Undo); a close reason holds at most 123 bytes.
        said = f"{reason} by {principal.name}".encode()[:123].decode(errors="ignore")
        self._registry.close_record(record.id, code, said)
        await self._feed.publish(
            _event(principal, record, "record.deleted", {}, upto_change_id=upto_change_id)
        )

    async def undelete(self, principal: Principal, record_id: str, ip: str = "") -> RecordView:
        """Bring a deleted record back from the trash (one that is not deleted is answered as it is). A
        purge of it at the same moment either finished first (then it is gone: 404) or finds it restored
        and leaves it alone (`_bring_back`)."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, collection = await records.find_record(
                session, principal, record_id, include_deleted=True
            )
            upto_change_id = 0
            if record.deleted_at is not None and not await _bring_back(session, record):
                # Restored meanwhile (answered as it is), or purged (RecordNotFound).
                session.expunge(record)
                record, collection = await records.find_record(
                    session, principal, record_id, include_deleted=True
                )
            elif record.deleted_at is not None:
                set_committed_value(record, "deleted_at", None)
                set_committed_value(record, "deleted_by", None)
                await record_values.restore(session, record)
                await _audit(session, principal, "record.restore", record, collection, ip)
                entry = changes.lifecycle(
                    record.id, changes.UNDELETED, principal.user_id, principal.session_id
                )
                session.add(entry)
                await session.flush()
                upto_change_id = entry.id
            await session.commit()
            restored = await record_view(self._registry, session, principal, record, collection)
        await self._feed.publish(
            _event(
                principal, record, "record.restored", restored.body["fields"], upto_change_id=upto_change_id
            )
        )
        return restored


async def record_view(
    registry: RoomRegistry,
    session: AsyncSession,
    principal: Principal,
    record: Record,
    collection: Collection,
    doc: Doc | None = None,
) -> RecordView:
    """The record as `GET` shows it, from `doc` or else its content now (`document_now`)."""
    users = await _authors(session, principal, [record])
    if doc is None:
        doc = await document_now(registry, session, record.id)
    fields, tag = read_fields(doc), etag_of(doc)  # one moment: no await between them
    body = records.record_json(record, collection, fields, users)
    body["epoch"] = record.epoch  # a browser keeps it with its copy: a restore changes it (4409)
    body["open_conflicts"] = (await conflicts.open_counts(session, [record.id])).get(record.id, 0)
    return RecordView(body, tag)


async def document_now(registry: RoomRegistry, session: AsyncSession, record_id: str) -> Doc:
    """The record's content now: its open room's document (read it before the next await), else the one
    stored, read in the caller's session. `RoomLoadFailed` (503) rather than an empty document."""
    room = registry.open_room(record_id)
    if room is not None:
        return room.doc
    stored = await stored_document(session, record_id)
    return stored[0] if stored is not None else Doc()


async def stored_document(session: AsyncSession, record_id: str) -> tuple[Doc, int] | None:
    """The record's stored document and the last log seq it holds, read in the caller's session; None when
    nothing is stored. `RoomLoadFailed` (503) when it cannot be read."""
    try:
        blobs, upto_seq = await snapshots.load_state(session, record_id)
    except Exception as exc:
        raise RoomLoadFailed(f"could not read record {record_id}") from exc
    if not blobs:
        return None
    try:
        return replay(blobs), upto_seq
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:  # pycrdt's panics are BaseExceptions
        raise RoomLoadFailed(f"stored state of record {record_id} does not decode") from exc


async def _authors(
    session: AsyncSession, principal: Principal, rows: Iterable[Record]
) -> dict[str, dict[str, str]]:
    ids = {user_id for row in rows for user_id in (row.created_by, row.updated_by) if user_id}
    return await records.user_refs(session, principal.tenant_id, ids)


async def _bring_back(session: AsyncSession, record: Record) -> bool:
    """Clear the record's deletion if it is still deleted, in one conditional UPDATE: it takes the row's
    lock (PostgreSQL) or the write lock (SQLite) before it looks, so the trash purge, which claims a row
    the same way (persistence/trash.py), either sees it restored or has removed it already."""
    result = await session.execute(
        update(Record)
        .where(Record.id == record.id, Record.deleted_at.is_not(None))
        .values(deleted_at=None, deleted_by=None)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def _audit(
    session: AsyncSession, principal: Principal, action: str, record: Record, collection: Collection, ip: str
) -> None:
    """An audit entry about a record (deleted, restored): its id, collection and title."""
    title = title_of(record.summary, collection.fields)
    detail = {"record": record.id, "collection": collection.name, "title": title}
    await audit.record(
        session,
        action=action,
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        ip=ip,
        detail=detail,
    )


def _event(
    principal: Principal,
    record: Record,
    kind: str,
    fields: dict[str, Any],
    at: datetime | None = None,
    upto_change_id: int = 0,
) -> events.NewEvent:
    return events.NewEvent(
        tenant_id=record.tenant_id,
        collection_id=record.collection_id,
        record_id=record.id,
        type=kind,
        at=at if at is not None else utcnow(),
        user_id=principal.user_id,
        fields=fields,
        upto_change_id=upto_change_id,
    )
