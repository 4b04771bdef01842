"""The group-commit writer: every accepted update reaches the update log before anyone hears "saved".

Updates are queued in arrival order; one task commits everything that queued up meanwhile in one
transaction, then tells each room which state is now durable. A failed commit is one of two kinds
(`persistence.errors.is_unavailable` tells them apart, and the log appender translates):

- The database is unavailable (down, unreachable, locked, not answering): the batch is kept whole and
  retried with back-off; nothing accepted is dropped. `flush()` (requests, eviction, shutdown) waits for
  it, but gives up with `DatabaseUnavailable` once the database has not answered for
  `shutdown_grace_seconds`, so neither a request nor the shutdown waits forever.
- The database refused something in the batch (a value it cannot hold, a constraint): the batch is split
  in halves until each write that fails on its own is found. The others commit; that write is refused
  through its `on_refused`, and so is every later write of its record still waiting, since a Yjs update
  may depend on the ones before it. A refused write is never confirmed; it counts as settled for
  `flush()`. Retrying it could never succeed, and it held back every write behind it.

The change feed's events ride along (`store_events`): they go into the next transaction, after the updates
they describe, and each caller hears their ids in commit order. A split keeps them: they are stored apart
from the updates, and split in turn only if they themselves are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from collab.origin import Origin, OriginKind
from collab.records.document import summarize
from collab.records.field_changes import FieldChange
from persistence import update_log
from persistence.changes import NewChange
from persistence.database import Database
from persistence.errors import DatabaseUnavailable, WriteRefused
from persistence.events import NewEvent
from persistence.log_appender import Appended, LogAppender, RecordTouch
from persistence.models import utcnow

log = logging.getLogger(__name__)

_RETRY_SECONDS = (0.05, 0.2, 1.0, 2.0)
_EARLIER_REFUSED = "an earlier update of this record was refused"


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
    # Yjs client ids this update writes under first: stored as its author's in the same transaction.
    claims: tuple[int, ...] = ()
    # Told, with the reason, when this write is refused: the database will not take it (or an earlier write
    # of the record), so it is not stored and never will be, and the live document holds it.
    on_refused: Callable[[PendingWrite, str], None] | None = None


@dataclass(frozen=True, slots=True)
class _EventJob:
    events: list[NewEvent]
    on_stored: Callable[[list[int]], None]
    done: asyncio.Future[None]


class UpdateWriter(Protocol):
    def submit(self, write: PendingWrite) -> None: ...

    async def flush(self) -> None:
        """Return once every update submitted before the call is committed (or refused)."""


class SqlUpdateWriter:
    def __init__(
        self,
        database: Database,
        batch_max: int = 500,
        burst_seconds: float = 3.0,
        shutdown_grace_seconds: float = 10.0,
    ) -> None:
        self._database = database
        self._appender = LogAppender(database, burst_seconds)
        self._batch_max = batch_max
        self._grace = shutdown_grace_seconds
        self._queue: list[PendingWrite] = []
        self._event_jobs: list[_EventJob] = []
        self._taken_jobs: list[_EventJob] = []  # being stored now
        self._wakeup = asyncio.Event()
        self._submitted = 0
        self._settled = 0  # committed or refused
        self._refused_records: set[str] = set()  # in the batch being stored
        # Loop time of the first commit attempt the database has not answered yet (None: none waiting).
        self._waiting_since: float | None = None
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
        gave_up = False
        try:
            await self.flush()
        except DatabaseUnavailable as unavailable:
            gave_up = True
            # Never confirmed to anyone (message 100 follows the commit), so nothing promised is lost.
            log.error(
                "stopping without the database (%s): %d updates were never stored nor confirmed",
                unavailable.reason,
                self.backlog,
            )
        finally:
            self._stopping = True
            self._wakeup.set()
            await self._stop_task(at_once=gave_up)
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
        return self._submitted - self._settled

    async def flush(self) -> None:
        """Return once every update submitted before the call is committed or refused.

        Raises `DatabaseUnavailable` once the database has not answered for `shutdown_grace_seconds`; the
        updates stay queued and are still retried."""
        target = self._submitted
        loop = asyncio.get_running_loop()
        async with self._progress:
            while self._settled < target:
                if self._task is not None and self._task.done():
                    raise RuntimeError("the update writer stopped with updates unstored")
                stalled = 0.0 if self._waiting_since is None else loop.time() - self._waiting_since
                if stalled >= self._grace:
                    raise DatabaseUnavailable(
                        self._database.display_url,
                        f"no answer for {stalled:.1f} s; {self.backlog} updates not stored yet",
                    )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._grace - stalled):
                        await self._progress.wait()

    async def _run(self) -> None:
        while True:
            if not self._queue and not self._event_jobs:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._queue[: self._batch_max]
            del self._queue[: len(batch)]
            self._taken_jobs, self._event_jobs = self._event_jobs, []
            try:
                await self._store(batch, self._taken_jobs)
            finally:
                self._refused_records.clear()
                self._taken_jobs = []

    async def _stop_task(self, at_once: bool) -> None:
        """Let the task finish what is queued (feed events), unless the database is gone; then stop it."""
        if self._task is None:
            return
        if not at_once:
            await asyncio.wait({self._task}, timeout=self._grace)
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for job in [*self._taken_jobs, *self._event_jobs]:  # nobody waits on them past the shutdown
            job.done.cancel()

    async def _store(self, writes: list[PendingWrite], jobs: list[_EventJob]) -> None:
        """Commit the writes and events in one transaction if the database takes them all; else split
        them, so that everything it takes commits and each write it will not take is refused."""
        writes = self._without_refused(writes)
        if writes or jobs:
            try:
                appended = await self._commit_when_available(writes, jobs)
            except WriteRefused as refused:
                await self._split(writes, jobs, refused.reason)
            else:
                self._committed(writes, jobs, appended)
        async with self._progress:
            self._progress.notify_all()

    async def _split(self, writes: list[PendingWrite], jobs: list[_EventJob], reason: str) -> None:
        if writes and jobs:  # the updates or the events? The events still go after the updates.
            parts = [(writes, []), ([], jobs)]
        elif len(writes) > 1:
            middle = len(writes) // 2
            parts = [(writes[:middle], []), (writes[middle:], [])]
        elif len(jobs) > 1:
            middle = len(jobs) // 2
            parts = [([], jobs[:middle]), ([], jobs[middle:])]
        elif writes:
            self._refuse(writes[0], reason)
            return
        else:
            # Event fields are stored repaired (stored_json.dumps_derived), so this is a constraint or a
            # bug: say so, and release the publisher rather than hold every later event back.
            job = jobs[0]
            log.error(
                "%d feed events of record %s could not be stored: %s",
                len(job.events),
                job.events[0].record_id if job.events else "-",
                reason,
            )
            if not job.done.done():
                job.done.set_result(None)
            return
        for part_writes, part_jobs in parts:  # in order: a record's writes commit in the order applied
            await self._store(part_writes, part_jobs)

    def _refuse(self, write: PendingWrite, reason: str) -> None:
        """Refuse `write` and every later write of its record still waiting: they may build on it."""
        log.warning("an update of record %s is refused: %s", write.record_id, reason)
        self._refused_records.add(write.record_id)  # its later writes in this batch
        later = [queued for queued in self._queue if queued.record_id == write.record_id]
        if later:
            self._queue = [queued for queued in self._queue if queued.record_id != write.record_id]
        self._settle_refused(write, reason)
        for queued in later:
            self._settle_refused(queued, _EARLIER_REFUSED)

    def _without_refused(self, writes: list[PendingWrite]) -> list[PendingWrite]:
        if not self._refused_records:
            return writes
        kept = []
        for write in writes:
            if write.record_id in self._refused_records:
                self._settle_refused(write, _EARLIER_REFUSED)
            else:
                kept.append(write)
        return kept

    def _settle_refused(self, write: PendingWrite, reason: str) -> None:
        self._settled += 1
        if write.on_refused is None:
            log.error("a refused update of record %s has no one to tell", write.record_id)
            return
        try:
            write.on_refused(write, reason)
        except Exception:
            log.exception("refusal callback failed for record %s", write.record_id)

    def _committed(self, writes: list[PendingWrite], jobs: list[_EventJob], appended: Appended) -> None:
        self._settled += len(writes)
        for write in writes:
            try:
                write.on_durable(write)
            except Exception:
                log.exception("durable callback failed for record %s", write.record_id)
        for listener in self.committed_listeners:
            try:
                listener(writes, appended.newest_changes)
            except Exception:
                log.exception("a listener of committed updates failed")
        self._stored(jobs, appended.event_ids)

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

    async def _commit_when_available(self, writes: list[PendingWrite], jobs: list[_EventJob]) -> Appended:
        """Commit, retrying with back-off for as long as the database is unavailable; `WriteRefused` when
        it answers with a refusal."""
        events = [event for job in jobs for event in job.events]
        loop = asyncio.get_running_loop()
        if self._waiting_since is None:
            self._waiting_since = loop.time()
        attempt = 0
        while True:
            try:
                appended = await self._commit(writes, events)
            except DatabaseUnavailable as unavailable:
                delay = _RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)]
                log.warning(
                    "the database is unavailable (%s); %d updates wait, retrying in %.2fs",
                    unavailable.reason,
                    len(writes),
                    delay,
                )
                attempt += 1
                await asyncio.sleep(delay)
                continue
            except WriteRefused:
                self._waiting_since = None  # it answered
                raise
            self._waiting_since = None
            return appended

    async def _commit(self, batch: list[PendingWrite], events: list[NewEvent]) -> Appended:
        rows = [
            update_log.NewUpdate(
                record_id=write.record_id,
                data=write.update,
                user_id=write.origin.user_id,
                session_id=write.origin.session_id,
                origin=write.origin.kind.value,
                claims=write.claims,
                claimed_by=write.origin.user_id if write.origin.kind is OriginKind.LIVE else None,
            )
            for write in batch
        ]
        now = utcnow()
        touched = {}
        for write in reversed(batch):  # the newest write of each record names its last author
            if write.record_id not in touched and write.read_fields is not None:
                summary, search_text = _summary_of(write.read_fields)
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


def _summary_of(read_fields: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], str]:
    try:
        return summarize(read_fields())
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a document that cannot be read: pycrdt's panics are BaseExceptions
        raise WriteRefused(f"the record's fields could not be read: {type(exc).__name__}") from exc


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

    def refuse(self, reason: str = "refused") -> None:
        """Refuse every pending write, as the SQL writer does with one the database will not take."""
        batch, self.pending = self.pending, []
        for write in batch:
            if write.on_refused is not None:
                write.on_refused(write, reason)
