"""Snapshots: a record's merged state up to a seq of its update log, and loading a record from them.

Writing a snapshot deletes no log rows: history still reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import SnapshotRow
from persistence.update_log import read_after


@dataclass(frozen=True)
class StoredSnapshot:
    id: int
    record_id: str
    upto_seq: int
    state: bytes
    state_vector: bytes
    reason: str
    created_at: datetime
    created_by: str | None


_COLUMNS = (
    SnapshotRow.id,
    SnapshotRow.record_id,
    SnapshotRow.upto_seq,
    SnapshotRow.state,
    SnapshotRow.state_vector,
    SnapshotRow.reason,
    SnapshotRow.created_at,
    SnapshotRow.created_by,
)


# A query of the `_COLUMNS` of at most one snapshot.
_SnapshotQuery = Select[int, str, int, bytes, bytes, str, datetime, str | None]


async def latest(session: AsyncSession, record_id: str) -> StoredSnapshot | None:
    """The record's snapshot covering the most of its log (the newer one on a tie), or None."""
    return await _one(
        session,
        select(*_COLUMNS)
        .where(SnapshotRow.record_id == record_id)
        .order_by(SnapshotRow.upto_seq.desc(), SnapshotRow.id.desc())
        .limit(1),
    )


async def find(session: AsyncSession, record_id: str, snapshot_id: int) -> StoredSnapshot | None:
    """One snapshot of the record by its id, or None (also when it belongs to another record)."""
    return await _one(
        session, select(*_COLUMNS).where(SnapshotRow.id == snapshot_id, SnapshotRow.record_id == record_id)
    )


async def _one(session: AsyncSession, query: _SnapshotQuery) -> StoredSnapshot | None:
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    snapshot_id, record, upto_seq, state, state_vector, reason, created_at, created_by = row
    return StoredSnapshot(
        id=snapshot_id,
        record_id=record,
        upto_seq=upto_seq,
        state=state,
        state_vector=state_vector,
        reason=reason,
        created_at=as_utc(created_at),
        created_by=created_by,
    )


async def write(
    session: AsyncSession,
    *,
    record_id: str,
    upto_seq: int,
    state: bytes,
    state_vector: bytes,
    reason: str,
    created_by: str | None = None,
) -> int:
    """Store a snapshot in the caller's transaction (the caller commits) and return its id.

    `state` must hold every update of the record with seq <= `upto_seq`, and `state_vector` be its vector.
    """
    if upto_seq < 0:
        raise ValueError(f"upto_seq must not be negative, got {upto_seq}")
    snapshot_id = await session.scalar(
        insert(SnapshotRow)
        .values(
            record_id=record_id,
            upto_seq=upto_seq,
            state=state,
            state_vector=state_vector,
            reason=reason,
            created_by=created_by,
        )
        .returning(SnapshotRow.id)
    )
    assert snapshot_id is not None  # RETURNING of an inserted row
    return snapshot_id


async def load_state(session: AsyncSession, record_id: str) -> tuple[list[bytes], int]:
    """Everything needed to rebuild the record: update blobs to apply in order, and the last seq covered.

    The newest snapshot's state comes first (when there is one), then the log rows after its `upto_seq`.
    Two queries, each reading one range of an index ((record_id, upto_seq), then (record_id, seq)), so the
    time taken does not grow with the length of the log. The last seq is 0 for a record with no rows.
    Correct under concurrent writers as long as log rows are not deleted: a snapshot written between the
    two queries only covers rows the second query still reads.
    """
    row = (
        await session.execute(
            select(SnapshotRow.state, SnapshotRow.upto_seq)
            .where(SnapshotRow.record_id == record_id)
            .order_by(SnapshotRow.upto_seq.desc(), SnapshotRow.id.desc())
            .limit(1)
        )
    ).one_or_none()
    blobs, covered = ([row.state], row.upto_seq) if row is not None else ([], 0)
    rows = await read_after(session, record_id, covered)
    blobs.extend(data for _, data in rows)
    return blobs, rows[-1][0] if rows else covered


def as_utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone: the stored value is UTC (models.utcnow) and comes back naive.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
