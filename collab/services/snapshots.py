"""A record's snapshots: take one, list, view, compare, and restore one (admins).

Every use-case first finds the record in the caller's tenant; a snapshot is then looked up by record and id
together, so another record's (or tenant's) snapshot id answers exactly like a missing one. Reading
snapshots is for the people who take and restore them; viewers too when the server says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.access import Action, require
from auth.principal import Principal
from collab.errors import InvalidArgument, RoomLoadFailed
from collab.live import restore
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.document import read_fields
from collab.records.records import iso
from collab.records.schema import specs_from_json
from collab.services.deferred import Deferred
from collab.services.records import RecordView, document_now, record_view, stored_document
from persistence import snapshots
from persistence.database import Database
from persistence.snapshots import StoredSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotPage:
    limit: int = 50
    before: int | None = None  # a snapshot id: the page holds older ones


class Snapshots:
    def __init__(self, database: Database, registry: RoomRegistry, viewers_read_snapshots: bool) -> None:
        self._database = database
        self._registry = registry
        self._reading = Action.READ if viewers_read_snapshots else Action.READ_SNAPSHOTS

    async def take(self, principal: Principal, record_id: str) -> dict[str, Any]:
        """A snapshot covering every update accepted so far (they are stored first), by the caller."""
        require(principal, Action.EDIT)
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            await session.commit()  # the read ends: no connection is held while the writer flushes
            await self._registry.flush()
            stored = await stored_document(session, record.id)
            if stored is None:  # every record is created with its first update, so this is corruption
                raise RoomLoadFailed(f"record {record.id} has no stored state")
            doc, upto_seq = stored
            snapshot_id = await snapshots.write(
                session,
                record_id=record.id,
                upto_seq=upto_seq,
                state=doc.get_update(),
                state_vector=doc.get_state(),
                reason="manual",
                created_by=principal.user_id,
            )
            await session.commit()
            snapshot = await restore.find_snapshot(session, record.id, snapshot_id)
        log.info("snapshot %s of record %s up to seq %s (manual)", snapshot_id, record.id, upto_seq)
        return _summary(_info(snapshot), {principal.user_id: principal.public()})

    async def page(
        self, principal: Principal, record_id: str, read_page: Deferred[SnapshotPage]
    ) -> dict[str, Any]:
        """Newest first; `next_before` (when the page is full) is the cursor for older ones."""
        require(principal, self._reading)
        page = await read_page()
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            found = await restore.list_snapshots(session, record.id, page.limit, page.before)
            users = await _creators(session, principal, found)
        return {
            "snapshots": [_summary(info, users) for info in found],
            "next_before": found[-1].id if len(found) == page.limit else None,
        }

    async def get(self, principal: Principal, record_id: str, snapshot_id: str) -> dict[str, Any]:
        """One snapshot with its fields."""
        require(principal, self._reading)
        async with self._database.session() as session:
            record, _ = await records.find_record(session, principal, record_id)
            snapshot = await restore.find_snapshot(session, record.id, restore.parse_snapshot_id(snapshot_id))
            info = _info(snapshot)
            users = await _creators(session, principal, [info])
        body = _summary(info, users)
        body["fields"] = read_fields(restore.snapshot_document(snapshot))
        return body

    async def compare(
        self, principal: Principal, record_id: str, snapshot_id: str, other: str
    ) -> dict[str, Any]:
        """Field by field: the snapshot against the record now (`other` = "now") or another snapshot."""
        require(principal, self._reading)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            snapshot = await restore.find_snapshot(session, record.id, restore.parse_snapshot_id(snapshot_id))
            if other == "now":
                other_fields = read_fields(await document_now(self._registry, session, record.id))
                stamp: dict[str, Any] = {"id": None, "at": datetime.now(UTC).isoformat()}
            elif other.isdigit():
                second = await restore.find_snapshot(session, record.id, restore.parse_snapshot_id(other))
                other_fields = read_fields(restore.snapshot_document(second))
                stamp = {"id": second.id, "at": iso(second.created_at)}
            else:
                raise InvalidArgument("with must be `now` or a snapshot id")
        fields = restore.compare_fields(
            specs_from_json(collection.fields), read_fields(restore.snapshot_document(snapshot)), other_fields
        )
        return {
            "snapshot": {"id": snapshot.id, "at": iso(snapshot.created_at)},
            "other": stamp,
            "fields": fields,
        }

    async def restore(self, principal: Principal, record_id: str, snapshot_id: str) -> RecordView:
        """Set every field to the snapshot's value, as a forward update attributed to the admin (the
        document is never reset: see collab/live/restore.py). Answers once it is stored."""
        require(principal, Action.RESTORE_SNAPSHOTS)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            snapshot = await restore.find_snapshot(session, record.id, restore.parse_snapshot_id(snapshot_id))
        old = restore.snapshot_document(snapshot)
        origin = Origin(OriginKind.RESTORE, principal.user_id, principal.session_id)
        async with self._registry.use(record.id) as room:
            restore.restore_into(room, specs_from_json(collection.fields), old, origin)
            await self._registry.flush()
            async with self._database.session() as session:
                record, collection = await records.find_record(session, principal, record.id)
                return await record_view(self._registry, session, principal, record, collection, room.doc)


def _info(snapshot: StoredSnapshot) -> restore.SnapshotInfo:
    return restore.SnapshotInfo(snapshot.id, snapshot.created_at, snapshot.reason, snapshot.created_by)


async def _creators(
    session: AsyncSession, principal: Principal, found: list[restore.SnapshotInfo]
) -> dict[str, dict[str, str]]:
    return await records.user_refs(
        session, principal.tenant_id, {s.created_by for s in found if s.created_by}
    )


def _summary(info: restore.SnapshotInfo, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "id": info.id,
        "at": iso(info.at),
        "reason": info.reason,
        "created_by": users.get(info.created_by or ""),
    }
