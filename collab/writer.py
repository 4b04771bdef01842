"""The group-commit writer: every accepted update reaches the update log before anyone hears "saved".

Updates are queued in arrival order; one task commits everything that queued up meanwhile in one
transaction, then tells each room which state is now durable. A failed commit keeps the batch and retries:
nothing accepted is ever dropped, and `flush()` (eviction, shutdown) waits until all of it is stored.

The change feed's events ride along (`store_events`): they go into the next transaction, after the updates
they describe, and each caller hears their ids in commit order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from collab.document import summarize
from collab.field_changes import FieldChange
from collab.origin import Origin
from persistence import update_log
from persistence.changes import NewChange
from persistence.database import Database
from persistence.events import NewEvent
from persistence.log_appender import Appended, LogAppender, RecordTouch
from persistence.models import utcnow

log = logging.getLogger(__name__)

_RETRY_SECONDS = (0.05, 0.2, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class PendingWrite:
    record_id: str
    update: bytes
    origin: Origin
    # The room's state vector right after this update was applied: once the update is committed, everything
    # this vector covers is stored, because the log is committed in the order the room applied it.
    state_vector_after: bytes
    on_durable: Callable[[PendingWrite], None]
    # What the update did to each field, for the history; stored in the same transaction.
    changes: tuple[FieldChange, ...] = ()
    # The record's field values now, read at commit time for its list summary and search text.
    read_fields: Callable[[], dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class _EventJob:
    events: list[NewEvent]
    on_stored: Callable[[list[int]], None]
    done: asyncio.Future[None]


class UpdateWriter(Protocol):
    def submit(self, write: PendingWrite) -> None: ...

    async def flush(self) -> None:
        """Return once every update submitted before the call is committed."""


class SqlUpdateWriter:
    def __init__(self, database: Database, batch_max: int = 500, burst_seconds: float = 3.0) -> None:
        self._appender = LogAppender(database, burst_seconds)
        self._batch_max = batch_max
        self._queue: list[PendingWrite] = []
        self._event_jobs: list[_EventJob] = []
        self._wakeup = asyncio.Event()
        self._submitted = 0
        self._committed = 0
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Told of every committed batch, with the newest change id per record (the change feed).
        self.committed_listeners: list[Callable[[list[PendingWrite], dict[str, int]], None]] = []

    async def __aenter__(self) -> SqlUpdateWriter:
        self._task = asyncio.create_task(self._run(), name="collab-writer")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.flush()
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        await self._appender.__aexit__(None, None, None)

    def submit(self, write: PendingWrite) -> None:
        if self._stopping:
            raise RuntimeError("the update writer is stopped")
        self._queue.append(write)
        self._submitted += 1
        self._wakeup.set()

    def store_events(
        self, events: list[NewEvent], on_stored: Callable[[list[int]], None]
    ) -> asyncio.Future[None]:
        """Commit `events` with the next batch; `on_stored` gets their ids right after the commit, called in
        commit order across callers (so what it publishes goes out in id order). The future is done then."""
        if self._stopping:
            raise RuntimeError("the update writer is stopped")
        job = _EventJob(events, on_stored, asyncio.get_running_loop().create_future())
        self._event_jobs.append(job)
        self._wakeup.set()
        return job.done

    @property
    def backlog(self) -> int:
        return self._submitted - self._committed

    async def flush(self) -> None:
        target = self._submitted
        async with self._progress:
            await self._progress.wait_for(lambda: self._committed >= target)

    async def _run(self) -> None:
        while True:
            if not self._queue and not self._event_jobs:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._queue[: self._batch_max]
            jobs, self._event_jobs = self._event_jobs, []
            appended = await self._commit_with_retry(batch, jobs)
            del self._queue[: len(batch)]
            self._committed += len(batch)
            for write in batch:
                try:
                    write.on_durable(write)
                except Exception:
                    log.exception("durable callback failed for record %s", write.record_id)
            for listener in self.committed_listeners:
                try:
                    listener(batch, appended.newest_changes)
                except Exception:
                    log.exception("a listener of committed updates failed")
            self._stored(jobs, appended.event_ids)
            async with self._progress:
                self._progress.notify_all()

    @staticmethod
    def _stored(jobs: list[_EventJob], event_ids: list[int]) -> None:
        start = 0
        for job in jobs:
            ids = event_ids[start : start + len(job.events)]
            start += len(job.events)
            try:
                job.on_stored(ids)
            except Exception:
                log.exception("a listener of stored events failed")
            if not job.done.done():
                job.done.set_result(None)

    async def _commit_with_retry(self, batch: list[PendingWrite], jobs: list[_EventJob]) -> Appended:
        attempt = 0
        while True:
            try:
                return await self._commit(batch, [event for job in jobs for event in job.events])
            except Exception:
                delay = _RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)]
                log.exception("commit of %d updates failed; retrying in %.2fs", len(batch), delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _commit(self, batch: list[PendingWrite], events: list[NewEvent]) -> Appended:
        rows = [
            update_log.NewUpdate(
                record_id=write.record_id,
                data=write.update,
                user_id=write.origin.user_id,
                session_id=write.origin.session_id,
                origin=write.origin.kind.value,
            )
            for write in batch
        ]
        now = utcnow()
        touched = {}
        for write in reversed(batch):  # the newest write of each record names its last author
            if write.record_id not in touched and write.read_fields is not None:
                summary, search_text = summarize(write.read_fields())
                touched[write.record_id] = RecordTouch(write.origin.user_id, summary, search_text)
        changes = [
            NewChange(
                record_id=write.record_id,
                field=change.field,
                before=change.before,
                after=change.after,
                user_id=write.origin.user_id,
                session_id=write.origin.session_id,
                origin=write.origin.kind.value,
                conflict=change.conflict,
                lost_value=change.lost_value,
                lost_user_id=change.lost_author,
                winner_user_id=change.winner_author,
            )
            for write in batch
            for change in write.changes
        ]
        return await self._appender.append(rows, touched, now, changes, events)


class MemoryUpdateWriter:
    """The in-memory writer for room tests: nothing is durable until the test calls `commit()`."""

    def __init__(self) -> None:
        self.pending: list[PendingWrite] = []
        self.committed: list[PendingWrite] = []

    def submit(self, write: PendingWrite) -> None:
        self.pending.append(write)

    def commit(self) -> None:
        batch, self.pending = self.pending, []
        for write in batch:
            self.committed.append(write)
            write.on_durable(write)

    async def flush(self) -> None:
        self.commit()
