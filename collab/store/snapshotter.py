"""Loading a record's document from storage, and snapshots that keep loading short however long the log.

A load replays the newest snapshot and then the log rows after it, one by one in log order: exactly the
sequence the live room applied, so the loaded document is the one the room confirmed (`merge_updates` over
the rows is not equivalent: it keeps an item that was still waiting for a missing predecessor and drops the
later real items with the same ids). Every update the room accepts is fully integrated when applied (see
`collab/live/admission.py`), so encoding the replayed document drops nothing and is a faithful snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from pycrdt import Doc

from collab.errors import RoomLoadFailed
from collab.records.field_changes import FieldIndex
from collab.ycodec.boundary import apply_update_safely
from persistence import changes, client_ids, snapshots
from persistence.database import Database

log = logging.getLogger(__name__)

_MAX_CLIENT_ID = 2**53 - 1


def fresh_client_id(taken: dict[int, str] | set[int]) -> int:
    """A Yjs client id no writer of the record has used: the server's own edits go under it."""
    while True:
        client_id = secrets.randbelow(_MAX_CLIENT_ID) + 1
        if client_id not in taken:
            return client_id


def replay(blobs: list[bytes], client_id: int | None = None) -> Doc:
    """A document holding `blobs` applied one by one, in order; `MalformedMessage` if one is refused."""
    doc: Doc = Doc(client_id=client_id)
    for blob in blobs:
        apply_update_safely(doc, blob)
    return doc


async def load_document(database: Database, record_id: str, client_id: int | None = None) -> tuple[Doc, int]:
    """The record's stored document and the last log seq it holds; `RoomLoadFailed` rather than empty."""
    try:
        async with database.session() as session:
            blobs, upto_seq = await snapshots.load_state(session, record_id)
    except Exception as exc:
        raise RoomLoadFailed(f"could not read record {record_id}") from exc
    try:
        doc = replay(blobs, client_id)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise RoomLoadFailed(f"stored state of record {record_id} does not decode") from exc
    return doc, upto_seq


async def load_owners(database: Database, record_id: str) -> dict[int, str]:
    """Who owns each Yjs client id of the record (`client_ids.SERVER` for the server's)."""
    try:
        async with database.session() as session:
            return await client_ids.owners(session, record_id)
    except Exception as exc:
        raise RoomLoadFailed(f"could not read the writers of record {record_id}") from exc


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
        doc = replay(blobs)
        snapshot_id = await snapshots.write(
            session,
            record_id=record_id,
            upto_seq=upto_seq,
            state=doc.get_update(),
            state_vector=doc.get_state(),
            reason=reason,
            created_by=created_by,
        )
        await session.commit()
    log.info("snapshot %s of record %s up to seq %s (%s)", snapshot_id, record_id, upto_seq, reason)
    return snapshot_id
