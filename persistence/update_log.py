"""The update log: every accepted Yjs update of a record, in arrival order.

Updates are opaque bytes here. Each row gets a `seq` from one sequence shared by all records, so a record's
rows are ordered by `seq` but its seqs have gaps. Rows are never deleted by this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import UpdateRow


@dataclass(frozen=True)
class NewUpdate:
    record_id: str
    data: bytes
    user_id: str | None
    session_id: str | None
    origin: str
    # Yjs client ids first written by this update, stored with `claimed_by` as their owner (None: the server).
    claims: tuple[int, ...] = ()
    claimed_by: str | None = None


async def append(session: AsyncSession, updates: Sequence[NewUpdate]) -> list[int]:
    """Insert `updates` in the caller's transaction and return their seqs, in the order given.

    The caller commits. One INSERT ... RETURNING for the whole batch (SQLAlchemy's "insertmanyvalues").
    """
    if not updates:
        return []
    # RETURNING gives rows in no promised order. PostgreSQL: SQLAlchemy's `sort_by_parameter_order` pairs
    # them up in the same single statement. SQLite: SQLAlchemy would fall back to one INSERT per row, so
    # sort instead: it inserts VALUES rows in order and AUTOINCREMENT makes every new seq the largest yet.
    in_sql_order = session.get_bind().dialect.name == "sqlite"
    statement = insert(UpdateRow).returning(UpdateRow.seq, sort_by_parameter_order=not in_sql_order)
    result = await session.execute(
        statement,
        [
            {
                "record_id": update.record_id,
                "data": update.data,
                "user_id": update.user_id,
                "session_id": update.session_id,
                "origin": update.origin,
            }
            for update in updates
        ],
    )
    seqs = list(result.scalars())
    return sorted(seqs) if in_sql_order else seqs


async def read_after(session: AsyncSession, record_id: str, after_seq: int) -> list[tuple[int, bytes]]:
    """`(seq, data)` of the record's rows with seq > `after_seq`, oldest first."""
    result = await session.execute(
        select(UpdateRow.seq, UpdateRow.data)
        .where(UpdateRow.record_id == record_id, UpdateRow.seq > after_seq)
        .order_by(UpdateRow.seq)
    )
    return [(seq, data) for seq, data in result]


async def last_seq(session: AsyncSession, record_id: str) -> int:
    """The record's highest seq, 0 when it has none."""
    # ORDER BY ... LIMIT 1 rather than max(): both backends then read one entry of (record_id, seq).
    seq = await session.scalar(
        select(UpdateRow.seq).where(UpdateRow.record_id == record_id).order_by(UpdateRow.seq.desc()).limit(1)
    )
    return seq or 0
