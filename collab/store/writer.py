"""The group-commit writer: every accepted update reaches the update log before anyone hears "saved".

Updates are queued in arrival order; one task commits everything that queued up meanwhile in one
transaction, then reports what it stored. A commit starts at most once per `commit_interval_seconds`, so
that under load each transaction (and its fsync) carries several updates. A failed commit is one of two kinds
(`persistence.errors.is_unavailable` tells them apart, and the log appender translates):

- The database is unavailable (down, unreachable, locked, not answering): the batch is kept whole and
  retried with back-off; nothing accepted is dropped. `flush()` (requests, eviction, shutdown) waits for
  it, but gives up with `DatabaseUnavailable` once the database has not answered for
  `shutdown_grace_seconds`, so neither a request nor the shutdown waits forever.
- The database refused something in the batch (a value it cannot hold, a constraint): the batch is split
  in halves until each write that fails on its own is found. The others commit; that write is refused
  (a `Refused` outcome), and so is every later write of its record still waiting, since a Yjs update
  may depend on the ones before it. A refused write is never confirmed; it counts as settled for
  `flush()`. Retrying it could never succeed, and it held back every write behind it.

Every outcome is a value (`collab/store/writes.py`): one `Committed` per transaction, one `Refused` per
refused write, handed to each consumer (`subscribe`) in commit order. Consumers (the registry for its
rooms, the change feed) must not block; the writer never calls into a room or its document.

History entries that a person keeps extending by typing into a long text have their newest value written
at most once a second (persistence/bursts.py): with the next commit once it is due, by the writer itself
when nothing else comes, and before `flush()` returns (so a request that flushes, an evicted room and the
shutdown find the history up to date).

The change feed's events ride along (`store_events`): they go into the next transaction, after the updates
they describe, and come back with their ids in that transaction's `Committed`, so they are pushed in id
order. A split keeps them: they are stored apart from the updates, and split in turn only if they
themselves are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from collab.metrics import UNREAD, Metrics
from collab.origin import OriginKind
from collab.records.document import SEARCH_TEXT_CHARS, summarize
from collab.store.writes import Committed, PendingWrite, Refused, WriteOutcome
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
# `summarize` keeps the first 200 characters of a text and the first 4,000 of the search text: a longer text
# is cut before (lower-casing 300,000 characters cost ~0.2 ms per keystroke), with room to spare for NULs,
# which the search text leaves out, and for lower-casing's look at what follows a letter.
_TEXT_CUT = 2 * SEARCH_TEXT_CHARS


@dataclass(frozen=True, slots=True)
class _EventJob:
    events: list[NewEvent]
    done: asyncio.Future[list[int]]


Consumer = Callable[[WriteOutcome], None]


class UpdateWriter(Protocol):
    def submit(self, write: PendingWrite) -> None: ...

    def subscribe(self, consumer: Consumer) -> None:
        """Hand `consumer` every outcome from now on, in commit order."""

    async def flush(self) -> None:
        """Return once every update submitted before the call is committed (or refused)."""


class SqlUpdateWriter:
    def __init__(
        self,
        database: Database,
        batch_max: int = 500,
        burst_seconds: float = 3.0,
        shutdown_grace_seconds: float = 10.0,
        metrics: Metrics = UNREAD,
        history_deferred_seconds: float = 1.0,
        commit_interval_seconds: float = 0.0,
    ) -> None:
        self._database = database
        # Group commit: a commit starts at least this long after the one before (unless a batch is full
        # or the writer stops), so that writes arriving meanwhile share its transaction and its fsync.
        # One writer typing never waits (its commits are far apart); under load each commit takes more.
        self._commit_interval = commit_interval_seconds
        self._last_commit = -math.inf  # loop time at which the last commit began
        self._metrics = metrics
        self._appender = LogAppender(database, burst_seconds, history_deferred_seconds)
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
        self._consumers: list[Consumer] = []
        # `flush()` asks for the history's waiting values once the writes before it settled: up to which
        # count of settled writes they are asked for, and written.
        self._history_asked = -1
        self._history_written = -1

    async def __aenter__(self) -> SqlUpdateWriter:
        self._task = asyncio.create_task(self._run(), name="collab-writer")
        self._task.add_done_callback(_report_crash)
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

    def subscribe(self, consumer: Consumer) -> None:
        """Hand `consumer` every outcome from now on, in commit order, right after it happens."""
        self._consumers.append(consumer)

    def store_events(self, events: list[NewEvent]) -> asyncio.Future[list[int]]:
        """Commit `events` with the next batch. They come back with their ids in that batch's `Committed`
        (consumers see them in id order); the future is done right after, with their ids."""
        if self._stopping:
            raise RuntimeError("the update writer is stopped")
        job = _EventJob(events, asyncio.get_running_loop().create_future())
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
        history = self._appender.history_unwritten
        if history:
            self._history_asked = max(self._history_asked, target)
            self._wakeup.set()
        loop = asyncio.get_running_loop()
        async with self._progress:
            while self._settled < target or (history and self._history_written < target):
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
            if self._history_asked > self._history_written and self._settled >= self._history_asked:
                await self._write_history(everything=True)
                continue
            if not self._queue and not self._event_jobs:
                if self._stopping:
                    return
                self._wakeup.clear()
                due = self._appender.history_due_in(utcnow())
                try:
                    async with asyncio.timeout(due):
                        await self._wakeup.wait()
                except TimeoutError:
                    await self._write_history(everything=False)
                continue
            await self._pace()
            batch = self._queue[: self._batch_max]
            del self._queue[: len(batch)]
            self._taken_jobs, self._event_jobs = self._event_jobs, []
            try:
                await self._store(batch, self._taken_jobs)
            finally:
                self._refused_records.clear()
                self._taken_jobs = []

    async def _pace(self) -> None:
        """Wait for the rest of the commit interval, letting more writes join the coming batch."""
        loop = asyncio.get_running_loop()
        wait = self._last_commit + self._commit_interval - loop.time()
        if wait > 0 and not self._stopping and len(self._queue) < self._batch_max:
            await asyncio.sleep(wait)
        self._last_commit = loop.time()

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

    async def _write_history(self, everything: bool) -> None:
        """Write the history values that wait (`everything`) or are due, in a transaction of their own."""
        upto = self._settled
        try:
            await self._commit_when_available([], [], history=everything)
        except WriteRefused as refused:  # stored repaired, so a bug: say so rather than retry for ever
            log.error("history entries could not be brought up to date: %s", refused.reason)
            self._appender.forget_unwritten()
        if everything:
            self._history_written = upto
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
                job.done.set_result([])
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
        _emit(self._consumers, Refused(write, reason))

    def _committed(self, writes: list[PendingWrite], jobs: list[_EventJob], appended: Appended) -> None:
        self._settled += len(writes)
        events = [event for job in jobs for event in job.events]
        stored = tuple(zip(appended.event_ids, events, strict=True))
        taken = {record: tuple(found) for record, found in appended.taken.items()}
        _emit(self._consumers, Committed(tuple(writes), appended.newest_changes, stored, taken))
        start = 0
        for job in jobs:
            ids = appended.event_ids[start : start + len(job.events)]
            start += len(job.events)
            if not job.done.done():
                job.done.set_result(ids)

    async def _commit_when_available(
        self, writes: list[PendingWrite], jobs: list[_EventJob], history: bool | None = None
    ) -> Appended:
        """Commit, retrying with back-off for as long as the database is unavailable; `WriteRefused` when
        it answers with a refusal. `history`: a transaction of the history's waiting values alone, all of
        them (True) or those that are due (False)."""
        events = [event for job in jobs for event in job.events]
        loop = asyncio.get_running_loop()
        if self._waiting_since is None:
            self._waiting_since = loop.time()
        attempt = 0
        while True:
            started = loop.time()
            try:
                if history is None:
                    appended = await self._commit(writes, events)
                else:
                    appended = await self._appender.append([], {}, utcnow(), everything=history)
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
            self._metrics.commit_seconds.observe(loop.time() - started)
            self._metrics.commit_batch_size.observe(len(writes))
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
            if write.record_id not in touched and write.fields is not None:
                summary, search_text = summarize(_bounded(write.fields))
                touched[write.record_id] = RecordTouch(
                    write.origin.user_id, summary, search_text, write.unique_keys
                )
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
                comment=write.origin.comment,
            )
            for write in batch
            for change in write.changes
        ]
        return await self._appender.append(rows, touched, now, changes, events)


def _bounded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields with long texts cut to what `summarize` can use of them (the same summary and search
    text, in time that does not grow with a text's length)."""
    return {
        key: value[:_TEXT_CUT]
        if isinstance(value, str)
        and len(value) > _TEXT_CUT
        and value.count("\x00", 0, _TEXT_CUT) <= SEARCH_TEXT_CHARS // 2
        else value
        for key, value in fields.items()
    }


def _emit(consumers: list[Consumer], outcome: WriteOutcome) -> None:
    for consumer in list(consumers):
        try:
            consumer(outcome)
        except Exception:
            log.exception("a consumer of the writer's %s failed", type(outcome).__name__)


class MemoryUpdateWriter:
    """The in-memory writer for room tests: nothing is durable until the test calls `commit()`."""

    def __init__(self) -> None:
        self.pending: list[PendingWrite] = []
        self.committed: list[PendingWrite] = []
        self._consumers: list[Consumer] = []

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    def submit(self, write: PendingWrite) -> None:
        self.pending.append(write)

    def commit(self) -> None:
        batch, self.pending = self.pending, []
        self.committed.extend(batch)
        if batch:
            _emit(self._consumers, Committed(tuple(batch), {}))

    async def flush(self) -> None:
        self.commit()

    def refuse(self, reason: str = "refused") -> None:
        """Refuse every pending write, as the SQL writer does with one the database will not take."""
        batch, self.pending = self.pending, []
        for write in batch:
            _emit(self._consumers, Refused(write, reason))


def _report_crash(task: asyncio.Task[None]) -> None:
    """Say so at once when the writer dies of an unexpected error (it retries only an unavailable
    database): nothing is confirmed from then on, and the next `flush()` or the shutdown re-raises it."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.critical("the update writer stopped: nothing more is stored or confirmed", exc_info=error)
