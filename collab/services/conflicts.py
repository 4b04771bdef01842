"""Open conflicts: list a record's or a collection's, keep the winner, or put the lost value back.

A scalar field is last-writer-wins: when two people set it concurrently, one value is replaced. Nobody's
value is lost silently: the replaced person is told (a notice on the field), and the record carries an
open-conflict marker in lists until someone settles it. Whenever a record's open conflicts change, the
people on it hear message 101 `{"kind": "conflicts"}` (their pages fetch them again) and the collection's
feed gets a `record.conflicts` event with the record's count, so lists update their marker.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pycrdt import Doc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.access import Action, require
from auth.principal import Principal
from collab.changefeed.feed import Feed
from collab.errors import ChangeNotFound, ConflictSettled, RoomBroken, SchemaError
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.document import read_fields
from collab.records.records import iso
from collab.records.schema import specs_from_json
from collab.services.records import document_now, record_view
from collab.store.writer import UpdateWriter
from collab.store.writes import Committed, PendingWrite, WriteOutcome
from persistence import changes, conflicts
from persistence.database import Database
from persistence.events import NewEvent
from persistence.models import ChangeRow, Record, utcnow
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

FEED_EVENT = "record.conflicts"


class Conflicts:
    def __init__(self, database: Database, registry: RoomRegistry, feed: Feed, writer: UpdateWriter) -> None:
        self._database = database
        self._registry = registry
        self._feed = feed
        self._announcing: set[asyncio.Task[None]] = set()
        writer.subscribe(self._committed)

    async def of_record(self, principal: Principal, record_id: str) -> dict[str, Any]:
        """The record's open conflicts, newest first: one per field and person who lost a value."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            rows = await conflicts.of_record(session, record.id)
            current = await document_now(self._registry, session, record.id) if rows else None
            values = _fields_of(current)
            users = await _users(session, principal, rows)
        return {"conflicts": [conflict_json(row, values.get(row.field), users) for row in rows]}

    async def of_collection(
        self, principal: Principal, collection_name: str, before_id: int | None, limit: int
    ) -> dict[str, Any]:
        """One page of the collection's open conflicts, newest first; `next_before` is the cursor for the
        next when the page is full. The winner's value is the record's stored summary (long texts are
        shortened there), so a page never loads documents."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, collection_name)
            rows = await conflicts.of_collection(
                session, principal.tenant_id, collection.id, before_id, limit
            )
            summaries = await _summaries(session, {row.record_id for row in rows})
            users = await _users(session, principal, rows)
        items = [
            {
                "record": row.record_id,
                **conflict_json(row, summaries.get(row.record_id, {}).get(row.field), users),
            }
            for row in rows
        ]
        body: dict[str, Any] = {"conflicts": items}
        if len(rows) == limit:
            body["next_before"] = rows[-1].id
        return body

    async def keep(self, principal: Principal, record_id: str, change_id: str) -> dict[str, Any]:
        """Keep the value that won: every open conflict of the record's field is settled by the caller."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            row = await _open_conflict(session, record.id, change_id)
            await conflicts.settle(session, record.id, row.field, principal.user_id, utcnow())
            count = (await conflicts.open_counts(session, [record.id])).get(record.id, 0)
            await session.commit()
        await self._settled(principal, record, row.field, count)
        return {"open_conflicts": count}

    async def put_back(self, principal: Principal, record_id: str, change_id: str) -> dict[str, Any]:
        """Put the lost value back as the caller's edit (origin `restore`) and settle the field's open
        conflicts; answers with the record once the edit is stored."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            row = await _open_conflict(session, record.id, change_id)
        if row.lost_value is None:
            raise SchemaError({row.field: "the lost value of a rich-text conflict cannot be put back"})
        origin = Origin(OriginKind.RESTORE, principal.user_id, principal.session_id)
        # Putting the same value back twice (two tabs) changes nothing the second time: no claim needed.
        async with self._registry.use(record.id) as room:
            room.edit(specs_from_json(collection.fields), {row.field: row.lost_value}, origin)
            await self._registry.flush()
            if room.broken:  # the database refused the edit: the room is reloaded without it
                raise RoomBroken(record.id)
        await self.settle_field(principal, record.id, row.field)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record.id)
            return (await record_view(self._registry, session, principal, record, collection)).body

    async def settle_field(self, principal: Principal, record_id: str, field: str) -> None:
        """Settle the field's open conflicts after the caller put a value back (also from the history)."""
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            settled = await conflicts.settle(session, record.id, field, principal.user_id, utcnow())
            count = (await conflicts.open_counts(session, [record.id])).get(record.id, 0)
            await session.commit()
        if settled:
            await self._settled(principal, record, field, count)

    async def _settled(self, principal: Principal, record: Record, field: str, count: int) -> None:
        room = self._registry.open_room(record.id)
        if room is not None:
            room.conflicts_changed([field])
        await self._feed.publish(
            _event(record.tenant_id, record.collection_id, record.id, principal.user_id, count)
        )

    # -- conflicts the writer stored: the lists hear of them ----------------------------------------------

    def _committed(self, outcome: WriteOutcome) -> None:
        """The writer's consumer: records whose stored writes hold a conflict get a `record.conflicts`
        event with their count (read after the commit; the people on the record were told by the room)."""
        if not isinstance(outcome, Committed):
            return
        touched = {
            write.record_id: write
            for write in outcome.writes
            if any(change.conflict for change in write.changes)
        }
        if not touched:
            return
        task = asyncio.get_running_loop().create_task(self._announce(list(touched.values())))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    @system_work  # a batch of the writer's: any tenants' records
    async def _announce(self, writes: list[PendingWrite]) -> None:
        try:
            async with self._database.session() as session:
                counts = await conflicts.open_counts(session, [write.record_id for write in writes])
            for write in writes:
                await self._feed.publish(
                    _event(
                        write.tenant_id,
                        write.collection_id,
                        write.record_id,
                        write.origin.user_id,
                        counts.get(write.record_id, 0),
                    )
                )
        except Exception:
            log.exception(
                "open conflicts of records %s could not be announced to the feed",
                ", ".join(write.record_id for write in writes),
            )


async def _open_conflict(session: AsyncSession, record_id: str, change_id: str) -> ChangeRow:
    """The record's conflict `change_id`: `ChangeNotFound` (404) when there is none, `ConflictSettled`
    (409) when it is settled already."""
    number = changes.change_number(change_id)
    if number is None:
        raise ChangeNotFound("no such conflict")
    row = await conflicts.find_conflict(session, record_id, number)
    if row is None:
        raise ChangeNotFound("no such conflict")
    if row.settled_at is not None:
        raise ConflictSettled("this conflict was settled already")
    return row


def conflict_json(row: ChangeRow, winner_value: Any, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    """One open conflict: whose value won (and the field's value now) and whose value was lost."""
    return {
        "id": row.id,
        "field": row.field,
        "at": iso(row.at),
        "winner": {"user": users.get(row.winner_user_id or ""), "value": winner_value},
        "lost": {"user": users.get(row.lost_user_id or ""), "value": row.lost_value},
    }


def _fields_of(doc: Doc | None) -> dict[str, Any]:
    return read_fields(doc) if doc is not None else {}


async def _users(
    session: AsyncSession, principal: Principal, rows: list[ChangeRow]
) -> dict[str, dict[str, str]]:
    ids = {user for row in rows for user in (row.winner_user_id, row.lost_user_id) if user}
    return await records.user_refs(session, principal.tenant_id, ids)


async def _summaries(session: AsyncSession, record_ids: set[str]) -> dict[str, dict[str, Any]]:
    if not record_ids:
        return {}
    rows = await session.execute(select(Record.id, Record.summary).where(Record.id.in_(record_ids)))
    return {record_id: summary or {} for record_id, summary in rows}


def _event(tenant_id: str, collection_id: str, record_id: str, user_id: str | None, count: int) -> NewEvent:
    return NewEvent(
        tenant_id=tenant_id,
        collection_id=collection_id,
        record_id=record_id,
        type=FEED_EVENT,
        at=utcnow(),
        user_id=user_id,
        fields={"open_conflicts": count},
    )
