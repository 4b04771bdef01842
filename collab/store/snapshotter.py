"""Loading a record's document from storage, and snapshots that keep loading short however long the log.

A load replays the newest snapshot and then the log rows after it, one by one in log order: exactly the
sequence the live room applied, so the loaded document is the one the room confirmed (`merge_updates` over
the rows is not equivalent: it keeps an item that was still waiting for a missing predecessor and drops the
later real items with the same ids). Every update the room accepts is fully integrated when applied (see
`collab/live/admission.py`), so encoding the replayed document drops nothing and is a faithful snapshot.

A room is loaded from one database session (`load_room`): the record's tenant, collection and fields, the
owners of its client ids, its newest snapshot and the log after it, and the authors of its fields. A
joining connection's own check of the record runs first in that session (issue 17: one session per join).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc
from sqlalchemy import bindparam, func, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from collab.errors import CollabError, RoomLoadFailed
from collab.records.document import read_fields
from collab.records.field_changes import FieldIndex
from collab.records.schema import FieldSpec, specs_from_json
from collab.records.unique_claims import claim_loaded
from collab.records.uniqueness import unique_specs
from collab.ycodec.boundary import apply_update_safely
from persistence import client_ids, snapshots, update_log
from persistence.database import Database
from persistence.models import ChangeRow, ClientIdRow, Collection, Record, SnapshotRow, UpdateRow
from persistence.tenant_scope import system_work
from persistence.unique_values import Taken

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


@system_work  # rooms load and snapshot any tenant's records (whoever asked was checked before)
async def load_document(database: Database, record_id: str, client_id: int | None = None) -> tuple[Doc, int]:
    """The record's stored document and the last log seq it holds; `RoomLoadFailed` rather than empty."""
    try:
        async with database.session() as session:
            blobs, upto_seq = await snapshots.load_state(session, record_id)
    except Exception as exc:
        raise RoomLoadFailed(f"could not read record {record_id}") from exc
    return _replayed(record_id, blobs, client_id), upto_seq


# A room load's reads (issue 17), built once as Core statements over the tables: building them per load (the
# authors' window query most of all) and running them through the ORM's compile step cost more CPU than
# SQLite spent running them; built once, a cold join took 13 % fewer instructions (bench/README.md). They
# read what `client_ids.owners`, `snapshots.load_state` and `changes.last_authors` read, the same way.
_records, _collections = Record.__table__, Collection.__table__
_RECORD_ROW = (
    select(_records.c.tenant_id, _records.c.collection_id, _collections.c.fields)
    .join(_collections, _collections.c.id == _records.c.collection_id)
    .where(_records.c.id == bindparam("record_id"))
)
_client_ids = ClientIdRow.__table__
_OWNERS = select(_client_ids.c.client_id, _client_ids.c.user_id).where(
    _client_ids.c.record_id == bindparam("record_id")
)
_snapshots = SnapshotRow.__table__
_NEWEST_SNAPSHOT = (
    select(_snapshots.c.state, _snapshots.c.upto_seq)
    .where(_snapshots.c.record_id == bindparam("record_id"))
    .order_by(_snapshots.c.upto_seq.desc(), _snapshots.c.id.desc())
    .limit(1)
)
_log = UpdateRow.__table__
# The newest snapshot's state, then the log rows after it, in one statement: each part reads one range of
# an index, like `snapshots.load_state`'s two queries, and both parts see the same database state (a
# snapshot written, and the rows it covers deleted, between two statements could not hide rows from it).
# One statement fewer per cold join (issue 17).
_newest = _NEWEST_SNAPSHOT.subquery()
_covered = _NEWEST_SNAPSHOT.with_only_columns(_snapshots.c.upto_seq).scalar_subquery()
_STORED_STATE = union_all(
    select(literal_column("0").label("part"), _newest.c.state.label("data"), _newest.c.upto_seq.label("seq")),
    select(literal_column("1"), _log.c.data, _log.c.seq).where(
        _log.c.record_id == bindparam("record_id"), _log.c.seq > func.coalesce(_covered, 0)
    ),
).order_by(literal_column("part"), literal_column("seq"))
_changes = ChangeRow.__table__
# The newest change of each field by time, not by id (see `changes.last_authors`).
_ranked = (
    select(
        _changes.c.field,
        _changes.c.user_id,
        func.row_number()
        .over(partition_by=_changes.c.field, order_by=(_changes.c.at.desc(), _changes.c.id.desc()))
        .label("rank"),
    )
    .where(_changes.c.record_id == bindparam("record_id"))
    .subquery()
)
_LAST_AUTHORS = select(_ranked.c.field, _ranked.c.user_id).where(_ranked.c.rank == 1)


@dataclass(frozen=True, slots=True)
class LoadedRoom:
    """What a room starts from."""

    tenant_id: str
    collection_id: str
    specs: list[FieldSpec]
    # Who owns each Yjs client id of the record (`client_ids.SERVER` for the server's).
    owners: dict[int, str]
    # The stored document, under a client id of its own for the server's edits.
    doc: Doc
    # The last author of each field, from the change log, for the history index (`field_index`); None when
    # it could not be read (no history for the room's lifetime, its content unaffected). The index itself
    # is built by the room after it answered its first sync (issue 17: 187 ms at 10,000 structs).
    authors: dict[str, str | None] | None
    # Unique values the stored document holds that another record holds too (a crash came between a
    # live duplicate's commit and its correction's): the room corrects them as it opens.
    taken: tuple[Taken, ...] = ()


# The record's tenant id, collection id and the collection's field definitions (JSON).
RecordRow = tuple[str, str, Any]
# A caller's own check of the record, run first in the load's session (see `load_room`).
RecordCheck = Callable[[AsyncSession], Awaitable[RecordRow]]


@system_work
async def load_room(database: Database, record_id: str, check: RecordCheck | None = None) -> LoadedRoom:
    """Everything a room of the record needs, read in one session; `RoomLoadFailed` rather than empty.

    `check`: the joining caller's check that the record is theirs (it filters by tenant itself: the load's
    session sees every tenant), run first; it reads the record and its collection, so the load does not
    read them again, and whatever typed error it raises (`CollabError`) comes out as it is."""
    try:
        async with database.session() as session:
            row: Any = await check(session) if check is not None else await _record_row(session, record_id)
            key = {"record_id": record_id}
            owners = {c: u or client_ids.SERVER for c, u in await session.execute(_OWNERS, key)}
            blobs = await _stored_state(session, record_id)
            authors = await _last_authors(session, record_id)
    except CollabError:  # `RoomLoadFailed`, or the check's refusal
        raise
    except Exception as exc:
        raise RoomLoadFailed(f"could not read record {record_id}") from exc
    doc = _replayed(record_id, blobs, fresh_client_id(owners))
    specs = _shared_specs(row[1], row[2])
    taken: list[Taken] = []
    if unique_specs(specs):
        try:
            async with database.session() as session:
                taken = await claim_loaded(session, record_id, row[1], row[0], specs, read_fields(doc))
                await session.commit()
        except Exception as exc:
            raise RoomLoadFailed(f"could not check the unique values of record {record_id}") from exc
    return LoadedRoom(row[0], row[1], specs, owners, doc, authors, tuple(taken))


# The parsed fields of each collection whose records were loaded, with the JSON they came from: the rooms
# of one collection share their `FieldSpec`s (frozen) instead of each keeping a parse of its own (issue 17:
# 2.6 KB per idle room). Checked by value at every load, so a changed collection is parsed afresh.
_SPECS_KEPT = 1024
_specs: dict[str, tuple[Any, list[FieldSpec]]] = {}


def _shared_specs(collection_id: str, fields: Any) -> list[FieldSpec]:
    """The collection's specs as `specs_from_json(fields)`, in a list of the room's own."""
    kept = _specs.get(collection_id)
    if kept is None or kept[0] != fields:
        if len(_specs) >= _SPECS_KEPT:
            _specs.clear()
        kept = _specs[collection_id] = (fields, specs_from_json(fields))
    return list(kept[1])


async def _record_row(session: AsyncSession, record_id: str) -> RecordRow:
    row = (await session.execute(_RECORD_ROW, {"record_id": record_id})).first()
    if row is None:
        raise RoomLoadFailed(f"record {record_id} does not exist")
    return row[0], row[1], row[2]


async def _stored_state(session: AsyncSession, record_id: str) -> list[bytes]:
    """The newest snapshot's state, then the log rows after it (what `snapshots.load_state` reads)."""
    return [row.data for row in await session.execute(_STORED_STATE, {"record_id": record_id})]


async def _last_authors(session: AsyncSession, record_id: str) -> dict[str, str | None] | None:
    # Read last: on PostgreSQL a failed statement ends the transaction, and the other reads are done.
    try:
        return {
            field: user_id
            for field, user_id in await session.execute(_LAST_AUTHORS, {"record_id": record_id})
        }
    except Exception:
        log.exception("the field authors of record %s could not be read", record_id)
        return None


def _replayed(record_id: str, blobs: list[bytes], client_id: int | None) -> Doc:
    try:
        return replay(blobs, client_id)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise RoomLoadFailed(f"stored state of record {record_id} does not decode") from exc


def field_index(record_id: str, doc: Doc, authors: dict[str, str | None] | None) -> FieldIndex | None:
    """The history index of `doc` as loaded, its fields attributed to `authors`; None when it cannot be
    built. Costs every struct of the document (decoded in Python): built off the join's path, before the
    document first changes (`Room.build_index`)."""
    if authors is None:
        return None
    try:
        index = FieldIndex.from_state(doc.get_update(), doc)
    except Exception:
        log.exception("history index of record %s could not be built", record_id)
        return None
    for field, user_id in authors.items():
        index.attribute(field, user_id)
    return index


@system_work
async def take_snapshot(
    database: Database, record_id: str, reason: str, created_by: str | None = None
) -> int | None:
    """Write a snapshot of everything committed for a record; None when the newest one already covers it."""
    async with database.session() as session:
        # The newest snapshot and the log rows after it (what `snapshots.load_state` reads, in two queries).
        latest = await snapshots.latest(session, record_id)
        rows = await update_log.read_after(session, record_id, latest.upto_seq if latest is not None else 0)
        if not rows and (latest is None or reason == "auto"):
            return None
        blobs = ([latest.state] if latest is not None else []) + [data for _, data in rows]
        upto_seq = rows[-1][0] if rows else latest.upto_seq if latest is not None else 0
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
