"""Bringing a record back: reading, comparing and restoring its snapshots.

Restoring never resets a document. Rebuilding it from old state would make a stale client that reconnects
re-send the items the rebuild dropped (duplicated or resurrected content), so a restore is a forward
update on the live room (`Room.edit`): every field is set to the snapshot's value, fields the snapshot lacks
are cleared, rich text is replaced in place. Every live and offline client merges it like any other edit.

Callers (collab/services/snapshots.py) check that the record is in the caller's tenant first
(`records.find_record`); snapshots are then looked up by record and id together, so another record's
snapshot id is `SnapshotNotFound`, which is answered exactly like a missing record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pycrdt import Doc, Text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collab.errors import MalformedMessage, RoomLoadFailed, SnapshotNotFound
from collab.live.room import Room
from collab.origin import Origin
from collab.records.document import fields_map, read_fields
from collab.records.schema import FieldSpec
from collab.ycodec.boundary import apply_update_safely
from persistence import snapshots
from persistence.models import SnapshotRow
from persistence.snapshots import StoredSnapshot

# Snapshot ids are BIGINT on PostgreSQL: a larger number would be a database error, not "no such snapshot".
MAX_SNAPSHOT_ID = 2**63 - 1


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    at: datetime
    reason: str
    created_by: str | None


def parse_snapshot_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 0 < int(raw) <= MAX_SNAPSHOT_ID:
        raise SnapshotNotFound(raw)
    return int(raw)


async def list_snapshots(
    session: AsyncSession, record_id: str, limit: int, before: int | None = None
) -> list[SnapshotInfo]:
    """The record's snapshots, newest first; `before` (an id) pages on from the last one seen."""
    query = select(SnapshotRow.id, SnapshotRow.created_at, SnapshotRow.reason, SnapshotRow.created_by).where(
        SnapshotRow.record_id == record_id
    )
    if before is not None:
        query = query.where(SnapshotRow.id < before)
    rows = await session.execute(query.order_by(SnapshotRow.id.desc()).limit(limit))
    return [
        SnapshotInfo(row.id, snapshots.as_utc(row.created_at), row.reason, row.created_by) for row in rows
    ]


async def find_snapshot(session: AsyncSession, record_id: str, snapshot_id: int) -> StoredSnapshot:
    found = await snapshots.find(session, record_id, snapshot_id)
    if found is None:
        raise SnapshotNotFound(str(snapshot_id))
    return found


def snapshot_document(snapshot: StoredSnapshot) -> Doc:
    """The snapshot's state in a fresh document (read-only use: it is never put into a room)."""
    doc: Doc = Doc()
    try:
        apply_update_safely(doc, snapshot.state)
    except MalformedMessage as exc:
        message = f"snapshot {snapshot.id} of record {snapshot.record_id} does not decode"
        raise RoomLoadFailed(message) from exc
    return doc


# -- comparing -----------------------------------------------------------------------------------------


def compare_fields(
    specs: list[FieldSpec], snapshot: dict[str, Any], other: dict[str, Any]
) -> list[dict[str, Any]]:
    """One entry per field of the collection (in schema order), then any other key either side holds.

    A field absent on a side is `None` there; `changed` is strict (`true` differs from `1`).
    """
    keys = [spec.key for spec in specs]
    known = set(keys)
    keys += sorted((snapshot.keys() | other.keys()) - known)
    return [
        {
            "field": key,
            "snapshot": snapshot.get(key),
            "other": other.get(key),
            "changed": _canonical(snapshot.get(key)) != _canonical(other.get(key)),
        }
        for key in keys
    ]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# -- restoring -----------------------------------------------------------------------------------------


def restore_into(room: Room, specs: list[FieldSpec], snapshot: Doc, origin: Origin) -> bytes:
    """Set every field of the live room to its value in `snapshot`, as one forward update; returns it.

    Runs without awaiting, so the fields to clear are read from the same state the update is made on.
    """
    wanted = read_fields(snapshot)
    present = read_fields(room.doc)
    by_key = {spec.key: spec for spec in specs}
    # A key outside the schema that the snapshot holds as text stays text (clients may add keys).
    for key, value in fields_map(snapshot).items():
        if isinstance(value, Text) and key not in by_key:
            by_key[key] = FieldSpec(key, key, "richtext")
    values = {key: wanted.get(key) for key in [*by_key, *present, *wanted]}
    return room.edit(list(by_key.values()), values, origin)
