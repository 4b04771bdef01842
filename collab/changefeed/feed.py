"""The change feed of collections: events published in id order, kept in SQL, pushed to live subscribers.

Every event row is written through the update writer, one transaction at a time, and pushed as soon as its
transaction commits, in commit order: ids grow in commit order and "everything after id N" is exactly what
a client that saw N missed. Live edits are coalesced per record over `coalesce_seconds` before they become
one `record.updated` event; they are derived from the change rows committed with their updates, so events
a crash kept from being published are published at the next start (`recover`).

The feed is a consumer of the writer's outcomes: each `Committed` brings the live edits it stored (with
their record's tenant and collection, so nothing is read back) and the feed's own events with their ids.
Time (coalescing, heartbeats, pruning) comes from a `Clock`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import select

from collab.changefeed.events import Chunk, FeedEvent, Framer, chunk_of, feed_event, heartbeat
from collab.clock import SYSTEM_CLOCK, Clock
from collab.metrics import UNREAD, Metrics
from collab.periodic import Periodic
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, WriteOutcome
from persistence import events
from persistence.database import Database
from persistence.models import Collection, Record, User, utcnow
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

_TICK_SECONDS = 0.25
_MAX_QUEUED_EVENTS = 1000
_PRUNE_SECONDS = 3600.0
_RECOVERY_WINDOW = timedelta(minutes=10)


@dataclass(slots=True)
class _Pending:
    first_seen: float
    user_id: str | None  # the newest change's author
    upto_change_id: int
    fields: dict[str, Any] = field(default_factory=dict)
    # Everyone whose changes the event covers, each once, newest last (a dict keeps insertion order).
    authors: dict[str, None] = field(default_factory=dict)
    # Where the record lives ("" when recovered from the change log: read when it is published).
    tenant_id: str = ""
    collection_id: str = ""

    def by(self, user_id: str | None) -> None:
        """The newest change is `user_id`'s."""
        self.user_id = user_id
        if user_id is not None:
            self.authors.pop(user_id, None)
            self.authors[user_id] = None


@dataclass(frozen=True, slots=True)
class _Described(events.NewEvent):
    """An event handed to the writer with the data its stream frame carries (`describe`)."""

    payload: dict[str, Any] = field(default_factory=dict)


class Subscriber:
    """One open stream: the chunks published since it last wrote, and a wake-up for its writer.

    It holds at most `_MAX_QUEUED_EVENTS` events; a stream that falls further behind is ended (the client
    resumes by id) rather than buffering without bound or skipping events silently. Slots, a list and a
    future made only while waiting: a thousand idle subscribers are part of the feed's memory target.
    """

    __slots__ = ("_chunks", "_queued_events", "_waiter", "collection_id", "ended", "session_id", "tenant_id")

    def __init__(self, tenant_id: str, collection_id: str, session_id: str) -> None:
        self.tenant_id = tenant_id
        self.collection_id = collection_id
        self.session_id = session_id
        self.ended = False
        self._chunks: list[Chunk] = []
        self._queued_events = 0
        self._waiter: asyncio.Future[None] | None = None

    def push(self, chunk: Chunk) -> None:
        if self.ended:
            return
        self._chunks.append(chunk)
        self._queued_events += len(chunk.events)
        if self._queued_events > _MAX_QUEUED_EVENTS:
            self.end(drop_queued=True)
        else:
            self._wake()

    def end(self, drop_queued: bool = False) -> None:
        """End the stream: after what is queued, or at once (`drop_queued`) when it must not be sent."""
        if drop_queued:
            self._chunks = []
            self._queued_events = 0
        self.ended = True
        self._wake()

    async def next_chunks(self) -> list[Chunk] | None:
        """Everything queued since the last call, waiting for some; None once the stream has ended."""
        while not self._chunks:
            if self.ended:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunks, self._chunks, self._queued_events = self._chunks, [], 0
        return chunks

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Feed:
    def __init__(
        self,
        database: Database,
        writer: SqlUpdateWriter,
        coalesce_seconds: float = 1.0,
        retention: timedelta = timedelta(days=30),
        heartbeat_seconds: float = 15.0,
        *,
        framer: Framer,
        clock: Clock = SYSTEM_CLOCK,
        metrics: Metrics = UNREAD,
    ) -> None:
        self._framer = framer
        self._metrics = metrics
        self._heartbeat_chunk = heartbeat(framer)
        self._database = database
        self._writer = writer
        self._coalesce = coalesce_seconds
        self._retention = retention
        self._heartbeat = heartbeat_seconds
        self._clock = clock
        self._last_heartbeat = clock.monotonic()
        self._pending: dict[str, _Pending] = {}
        self._subscribers: dict[tuple[str, str], set[Subscriber]] = {}
        self._loop = Periodic("collab-feed", _TICK_SECONDS, self.tick, "publishing the change feed failed")
        self._last_prune: float | None = None
        self._closing = False
        writer.subscribe(self._committed)

    async def __aenter__(self) -> Feed:
        await self.recover()
        self._loop.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()
        await self._writer.flush()  # the rooms' last updates reach `_committed` first
        await self._publish_due(everything=True)
        self.end_streams()

    # -- publishing --------------------------------------------------------------------------------------

    def _committed(self, outcome: WriteOutcome) -> None:
        """The writer's consumer: collect the changed fields per record until they are published, and push
        the feed's own events that were stored."""
        if not isinstance(outcome, Committed):
            return
        now = self._clock.monotonic()
        for write in outcome.writes:
            if not write.changes:
                continue
            pending = self._pending.get(write.record_id)
            if pending is None:
                pending = _Pending(now, write.origin.user_id, 0)
                self._pending[write.record_id] = pending
            pending.by(write.origin.user_id)
            pending.tenant_id, pending.collection_id = write.tenant_id, write.collection_id
            newest = outcome.newest_changes.get(write.record_id, 0)
            pending.upto_change_id = max(pending.upto_change_id, newest)
            for change in write.changes:
                pending.fields[change.field] = change.after
        if outcome.events:
            self._push(outcome.events)

    async def publish(self, event: events.NewEvent) -> None:
        """Publish one event now (created, deleted, restored); returns once it is stored and pushed."""
        await self._publish_now([event])

    async def publish_many(self, new: list[events.NewEvent]) -> None:
        """Publish events together (a batch of imported records): described in one session, stored in one
        writer batch, pushed as one chunk."""
        if new:
            await self._publish_now(new)

    @system_work  # the feed describes and publishes every tenant's events
    async def _publish_now(self, new: list[events.NewEvent]) -> None:
        async with self._database.session() as session:
            payloads = await describe(session, new)
        await self._store(new, payloads)

    def _store(self, new: list[events.NewEvent], payloads: list[dict[str, Any]]) -> asyncio.Future[list[int]]:
        """Hand the events to the writer; they are pushed when their `Committed` comes back."""
        described: list[events.NewEvent] = [
            _Described(**{name: getattr(event, name) for name in _EVENT_FIELDS}, payload=payload)
            for event, payload in zip(new, payloads, strict=True)
        ]
        return self._writer.store_events(described)

    @system_work
    async def recover(self) -> None:
        """Publish what a previous run committed but did not publish (it died in between), in the order
        it happened: records created, their edits, then records deleted or restored."""
        async with self._database.session() as session:
            created, ended_or_back = await events.unpublished_lifecycle(session, _RECOVERY_WINDOW)
            missed = await events.unpublished_changes(session, _RECOVERY_WINDOW)
        now = self._clock.monotonic() - self._coalesce
        for change in missed:
            pending = self._pending.setdefault(change.record_id, _Pending(now, change.user_id, 0))
            pending.by(change.user_id)
            pending.upto_change_id = max(pending.upto_change_id, change.id)
            pending.fields[change.field] = change.after
        if missed or created or ended_or_back:
            log.info(
                "publishing what a previous run committed but did not publish: %d records created, %d"
                " changes, %d records deleted or restored",
                len(created),
                len(missed),
                len(ended_or_back),
            )
        if created:
            await self._publish_now(created)
        await self._publish_due(everything=True)
        if ended_or_back:
            await self._publish_now(ended_or_back)

    @system_work
    async def tick(self) -> None:
        """One round of the feed's loop (every `_TICK_SECONDS`): publish the records whose edits are due,
        send the heartbeat when it is time, prune old events now and then."""
        await self._publish_due(everything=False)
        now = self._clock.monotonic()
        if now - self._last_heartbeat >= self._heartbeat:
            self._last_heartbeat = now
            for subscribers in self._subscribers.values():
                for subscriber in subscribers:
                    subscriber.push(self._heartbeat_chunk)
        if self._last_prune is None or now - self._last_prune > _PRUNE_SECONDS:
            self._last_prune = now
            async with self._database.session() as session:
                await events.prune(session, utcnow() - self._retention)
                await session.commit()

    @system_work
    async def _publish_due(self, everything: bool) -> None:
        now = self._clock.monotonic()
        due = [rid for rid, p in self._pending.items() if everything or now - p.first_seen >= self._coalesce]
        if not due:
            return
        # Taken out before any await: changes committed meanwhile start the record's next event.
        taken = {rid: self._pending.pop(rid) for rid in due}
        try:
            async with self._database.session() as session:
                records = {rid: (p.tenant_id, p.collection_id) for rid, p in taken.items() if p.tenant_id}
                unknown = [rid for rid in taken if rid not in records]  # recovered from the change log
                if unknown:
                    found = await session.execute(
                        select(Record.id, Record.tenant_id, Record.collection_id).where(
                            Record.id.in_(unknown)
                        )
                    )
                    # Only the columns an event needs: a busy record's summary can hold thousands of fields.
                    records.update(
                        (record_id, (tenant, collection)) for record_id, tenant, collection in found
                    )
                new = [
                    events.NewEvent(
                        tenant_id=records[rid][0],
                        collection_id=records[rid][1],
                        record_id=rid,
                        type="record.updated",
                        at=utcnow(),
                        user_id=pending.user_id,
                        fields=pending.fields,
                        upto_change_id=pending.upto_change_id,
                        authors=events.stored_authors(pending.authors),
                    )
                    for rid, pending in taken.items()
                    if rid in records
                ]
                payloads = await describe(session, new)
        except BaseException:
            for rid, pending in taken.items():  # try again with whatever came in meanwhile
                later = self._pending.get(rid)
                if later is not None:
                    pending.fields.update(later.fields)
                    for author in later.authors:
                        pending.by(author)
                    pending.user_id = later.user_id
                    pending.upto_change_id = max(pending.upto_change_id, later.upto_change_id)
                    pending.tenant_id = pending.tenant_id or later.tenant_id
                    pending.collection_id = pending.collection_id or later.collection_id
                self._pending[rid] = pending
            raise
        if new:
            # Once handed over, the writer retries until the events are stored.
            await self._store(new, payloads)

    def _push(self, stored: Sequence[tuple[int, events.NewEvent]]) -> None:
        # Framed once and joined per collection: each subscriber gets one chunk per publish, not one
        # event per changed record, so a publish costs a write per stream however many records it holds.
        per_list: dict[tuple[str, str], list[FeedEvent]] = {}
        now = utcnow()
        for event_id, event in stored:
            if not isinstance(event, _Described):
                continue  # not the feed's (stored by someone else through the same writer)
            if event.at.tzinfo is not None:  # publish lag: from the event made to its push
                self._metrics.feed_publish_lag_seconds.observe(max(0.0, (now - event.at).total_seconds()))
            per_list.setdefault((event.tenant_id, event.collection_id), []).append(
                feed_event(self._framer, event_id, event.type, event.payload)
            )
        for key, published in per_list.items():
            chunk = chunk_of(published)
            for subscriber in list(self._subscribers.get(key, ())):
                subscriber.push(chunk)

    # -- subscribers -------------------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        if self._closing:
            subscriber.end()
        self._subscribers.setdefault((subscriber.tenant_id, subscriber.collection_id), set()).add(subscriber)

    def end_streams(self) -> None:
        """The server is stopping: streams end after what is queued (clients resume by id elsewhere).

        Called before the HTTP server waits for its connections to finish, since a stream never would.
        """
        self._closing = True
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.end()

    def subscriber_count(self) -> int:
        """Open streams, read when metrics are scraped."""
        return sum(len(subscribers) for subscribers in self._subscribers.values())

    def unsubscribe(self, subscriber: Subscriber) -> None:
        key = (subscriber.tenant_id, subscriber.collection_id)
        self._subscribers.get(key, set()).discard(subscriber)
        if not self._subscribers.get(key):
            self._subscribers.pop(key, None)

    def end_sessions(self, session_ids: set[str]) -> None:
        """A revoked session's streams end at once, like its WebSockets."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                if subscriber.session_id in session_ids:
                    subscriber.end(drop_queued=True)

    def push_presence(self, tenant_id: str, collection_id: str, data: dict[str, Any]) -> None:
        subscribers = list(self._subscribers.get((tenant_id, collection_id), ()))
        if subscribers:
            chunk = chunk_of([feed_event(self._framer, None, "presence", data)])
            for subscriber in subscribers:
                subscriber.push(chunk)


_EVENT_FIELDS = tuple(f.name for f in fields(events.NewEvent))


class Describable(Protocol):
    """An event, stored (`EventRow`) or about to be (`NewEvent`)."""

    @property
    def record_id(self) -> str: ...
    @property
    def collection_id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def authors(self) -> Sequence[str | int] | None: ...


async def describe(session: Any, rows: Sequence[Describable]) -> list[dict[str, Any]]:
    """The contract's event data: record, collection (name), at, by {id, name, email} (the newest author),
    fields, authors (the ids of everyone whose changes it covers, newest last, at most
    `events.MAX_AUTHORS`) and more_authors (how many older authors that list leaves off)."""
    if not rows:
        return []
    collection_ids = {row.collection_id for row in rows}
    user_ids = {row.user_id for row in rows if row.user_id}
    found = await session.execute(
        select(Collection.id, Collection.name).where(Collection.id.in_(collection_ids))
    )
    # A Result has .keys(), so dict() would take it for a mapping: build the dict from its rows.
    names = {collection_id: name for collection_id, name in found}
    users = (
        {
            user.id: {"id": user.id, "name": user.name, "email": user.email}
            for user in await session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    return [_payload(row, names, users) for row in rows]


def _payload(row: Describable, names: dict[str, str], users: dict[str, dict[str, str]]) -> dict[str, Any]:
    authors, more = events.read_authors(row.authors, row.user_id)
    return {
        "record": row.record_id,
        "collection": names.get(row.collection_id),
        "at": (row.at if row.at.tzinfo else row.at.replace(tzinfo=utcnow().tzinfo)).isoformat(),
        "by": users.get(row.user_id or ""),
        "fields": row.fields,
        "authors": authors,
        "more_authors": more,
    }
