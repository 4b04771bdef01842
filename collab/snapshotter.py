"""Snapshots fold a record's stored log into one state, so loading a room stays short however long the log.

A snapshot is built from what is committed (the newest snapshot plus the log rows after it, merged with
`merge_updates`), never from the live document: `merge_updates` keeps updates still waiting for a missing
predecessor, which encoding a document would drop, and only committed rows can be covered.
"""

from __future__ import annotations

import asyncio
import logging

from pycrdt import Doc, get_state, merge_updates

from collab.errors import RoomLoadFailed
from collab.field_changes import FieldIndex
from collab.room import apply_update_safely
from persistence import changes, snapshots
from persistence.database import Database

log = logging.getLogger(__name__)


async def load_document(database: Database, record_id: str) -> tuple[Doc, int]:
    """The record's stored document and the last log seq it holds; `RoomLoadFailed` rather than empty."""
    try:
        async with database.session() as session:
            blobs, upto_seq = await snapshots.load_state(session, record_id)
    except Exception as exc:
        raise RoomLoadFailed(f"could not read record {record_id}") from exc
    doc: Doc = Doc()
    if blobs:
        try:
            merged = merge_updates(*blobs) if len(blobs) > 1 else blobs[0]
            apply_update_safely(doc, merged)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            raise RoomLoadFailed(f"stored state of record {record_id} does not decode") from exc
    return doc, upto_seq


async def load_field_index(database: Database, record_id: str, doc: Doc) -> FieldIndex | None:
    """The index the history is computed with, attributed from the change log. None (no history for
    this room's lifetime, content unaffected) if the stored state cannot be indexed."""
    try:
        index = FieldIndex.from_state(doc.get_update(), doc)
        async with database.session() as session:
            authors = await changes.last_authors(session, record_id)
    except Exception:
        log.exception("history index of record %s could not be built", record_id)
        return None
    for field, user_id in authors.items():
        index.attribute(field, user_id)
    return index


async def take_snapshot(
    database: Database, record_id: str, reason: str, created_by: str | None = None
) -> int | None:
    """Write a snapshot of everything committed for a record; None when the newest one already covers it."""
    async with database.session() as session:
        latest = await snapshots.latest(session, record_id)
        blobs, upto_seq = await snapshots.load_state(session, record_id)
        if not blobs or (latest is not None and latest.upto_seq >= upto_seq and reason == "auto"):
            return None
        merged = merge_updates(*blobs) if len(blobs) > 1 else blobs[0]
        snapshot_id = await snapshots.write(
            session,
            record_id=record_id,
            upto_seq=upto_seq,
            state=merged,
            state_vector=get_state(merged),
            reason=reason,
            created_by=created_by,
        )
        await session.commit()
    log.info("snapshot %s of record %s up to seq %s (%s)", snapshot_id, record_id, upto_seq, reason)
    return snapshot_id
