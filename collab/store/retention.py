"""Update-log retention: log rows older than `log_retention_days` are folded into snapshots and deleted.

Every `check_seconds`, the oldest rows of the log are read in seq order (the primary key, so rows already
folded cost nothing and the scan stops at the first young batch). For each record that has old rows:

1. If no snapshot covers them yet, one is taken (reason `retention`); `take_snapshot` commits it.
2. Rows that are older than the retention *and* covered by a snapshot written at least `check_seconds`
   ago are deleted.

The delay in step 2 is for readers: loading a record reads its newest snapshot and then the rows after
it, in two queries. A loader that read the previous snapshot just before a new one was written still needs
the rows the new one covers; deleting only under a snapshot older than one check interval leaves it that
long to read them. Snapshots are kept. History older than the retention goes with the rows.

Several nodes: a record is folded only by its owner, or by a node that takes its lock for the fold when no
node owns it (`hold`), so that a fold never runs twice at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

from collab.periodic import Periodic
from collab.store.snapshotter import take_snapshot
from persistence import snapshots
from persistence.database import Database
from persistence.models import SnapshotRow, UpdateRow, utcnow
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

# Log rows read per query while looking for old ones.
_SCAN_BATCH = 1000

Hold = Callable[[str], AbstractAsyncContextManager[bool]]


@contextlib.asynccontextmanager
async def always_mine(record_id: str) -> AsyncIterator[bool]:
    yield True  # one node: every record is this node's


class Retention:
    """A background task (entered in the lifespan); does nothing when `retention_days` is 0 or less."""

    def __init__(
        self, database: Database, retention_days: float, check_seconds: float, hold: Hold = always_mine
    ) -> None:
        """`hold(record_id)`: whether this node may fold the record now (several nodes: no other node owns
        it; collab/cluster/ownership.py), held for the fold."""
        self._database = database
        self._hold = hold
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None
        self._every = check_seconds
        self._loop = Periodic(
            "collab-retention",
            check_seconds,
            self.check_once,
            "update-log retention failed; rows stay for now",
        )

    async def __aenter__(self) -> Retention:
        if self._retention is not None:
            self._loop.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()

    @system_work  # the whole log, every tenant's
    async def check_once(self) -> int:
        """Fold and delete what is due now; returns the number of log rows deleted."""
        assert self._retention is not None
        now = utcnow()
        cutoff = now - self._retention
        settled = now - timedelta(seconds=self._every)
        deleted = 0
        for record_id, newest_old_seq in (await self._records_with_old_rows(cutoff)).items():
            try:
                async with self._hold(record_id) as mine:
                    if mine:  # else its owner's retention folds it
                        deleted += await self._fold(record_id, newest_old_seq, cutoff, settled)
            except Exception:
                log.exception("retention of record %s failed; its rows stay until the next check", record_id)
        return deleted

    async def _records_with_old_rows(self, cutoff: datetime) -> dict[str, int]:
        """Record id → its newest seq older than the cutoff, from the head of the log.

        Rows are committed in seq order with the commit time, so the old ones form the head of the log
        (up to the few milliseconds by which transactions overlap); the scan stops at a batch with none.
        """
        found: dict[str, int] = {}
        after = 0
        async with self._database.session() as session:
            while True:
                rows = (
                    await session.execute(
                        select(UpdateRow.seq, UpdateRow.record_id, UpdateRow.created_at)
                        .where(UpdateRow.seq > after)
                        .order_by(UpdateRow.seq)
                        .limit(_SCAN_BATCH)
                    )
                ).all()
                old = [(seq, record_id) for seq, record_id, created_at in rows if _before(created_at, cutoff)]
                for seq, record_id in old:
                    found[record_id] = max(seq, found.get(record_id, 0))
                if not old or len(rows) < _SCAN_BATCH:
                    return found
                after = rows[-1][0]

    async def _fold(self, record_id: str, newest_old_seq: int, cutoff: datetime, settled: datetime) -> int:
        async with self._database.session() as session:
            latest = await snapshots.latest(session, record_id)
        if latest is None or latest.upto_seq < newest_old_seq:
            # Deleted at a later check, once this snapshot has settled (see the module docstring).
            await take_snapshot(self._database, record_id, "retention")
        async with self._database.session() as session:
            covered = await session.scalar(
                select(func.max(SnapshotRow.upto_seq)).where(
                    SnapshotRow.record_id == record_id, SnapshotRow.created_at <= settled
                )
            )
            if covered is None:
                return 0
            statement = delete(UpdateRow).where(
                UpdateRow.record_id == record_id, UpdateRow.seq <= covered, UpdateRow.created_at < cutoff
            )
            # A DELETE gives a cursor result; `execute` is typed for the general case.
            result = cast(CursorResult[Any], await session.execute(statement))
            await session.commit()
        count = result.rowcount
        if count:
            log.info("retention: deleted %d log rows of record %s (up to seq %d)", count, record_id, covered)
        return count


def _before(moment: datetime, cutoff: datetime) -> bool:
    # SQLite hands datetimes back without their zone; they are stored in UTC.
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=cutoff.tzinfo)) < cutoff
