"""The change feed of collections: events published in id order, kept in SQL, pushed to live subscribers.

Every event row is written through the update writer, one transaction at a time, and pushed as soon as its
transaction commits, in commit order: a tenant's ids grow in commit order (also when several nodes write:
persistence/events.py) and "everything after id N" is exactly what a client that saw N missed. Live edits
are coalesced per record over `coalesce_seconds` before they become one `record.updated` event; they are
derived from the change rows committed with their updates, so events a crash kept from being published
are published at the next start (`recover`).

The feed is a consumer of the writer's outcomes: each `Committed` brings the live edits it stored (with
their record's tenant and collection, so nothing is read back) and the feed's own events with their ids.
Time (coalescing, heartbeats, pruning) comes from a `Clock`.

With several nodes (`several_nodes`), other nodes' events reach this node's streams too: after each commit
the feed tells the other nodes, and its `Delivery` reads new events from SQL and pushes them, its own
included, in id order (collab/changefeed/delivery.py). Presence is not stored: it goes to the
other nodes' streams over the bus (`presence:<tenant>`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import select

from collab.changefeed.delivery import Delivery, Key
from collab.changefeed.events import Chunk, FeedEvent, Framer, chunk_of, feed_event, heartbeat
from collab.changefeed.payloads import describe
from collab.clock import SYSTEM_CLOCK, Clock
from collab.cluster.bus import Bus, LocalBus
from collab.metrics import UNREAD, Metrics
from collab.periodic import Periodic
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, WriteOutcome
from persistence import events
from persistence.database import Database
from persistence.models import Record, utcnow
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
        bus: Bus | None = None,
        several_nodes: bool | None = None,
    ) -> None:
        """`several_nodes`: other nodes may store events in this database (default: the bus is shared);
        they then reach this node's streams through SQL, woken by the bus when it carries messages."""
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
        self._bus: Bus = bus if bus is not None else LocalBus()
        # Several nodes: every stream's events come from SQL through the delivery (None on one node).
        several = self._bus.shared if several_nodes is None else several_nodes
        self._delivery = Delivery(database, framer, self._bus, self._push_chunk) if several else None
        self._presence_topics: dict[str, Callable[[], None]] = {}  # unsubscribe, per tenant watched
        writer.subscribe(self._committed)

    async def __aenter__(self) -> Feed:
        await self.recover()
        self._loop.start()
        if self._delivery is not None:
            await self._delivery.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()
        await self._writer.flush()  # the rooms' last updates reach `_committed` first
        await self._publish_due(everything=True)
        if self._delivery is not None:
            await self._delivery.__aexit__(None, None, None)
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
        if self._delivery is not None:  # in id order with other nodes' events, from SQL
            self._delivery.stored_here([(key, event) for key, found in per_list.items() for event in found])
            return
        for key, published in per_list.items():
            self._push_chunk(key, chunk_of(published))

    def _push_chunk(self, key: Key, chunk: Chunk) -> None:
        for subscriber in list(self._subscribers.get(key, ())):
            subscriber.push(chunk)

    # -- subscribers -------------------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        """Push the collection's events to `subscriber` from now on; once it has read the collection's
        newest id, the caller says so (`started`)."""
        if self._closing:
            subscriber.end()
        key = (subscriber.tenant_id, subscriber.collection_id)
        if key not in self._subscribers and self._delivery is not None:
            self._delivery.watch(key)
            self._watch_presence(subscriber.tenant_id)
        self._subscribers.setdefault(key, set()).add(subscriber)

    def started(self, subscriber: Subscriber, newest: int) -> None:
        """`subscriber`, subscribed, then read `newest` as its collection's newest event id."""
        if self._delivery is not None:
            self._delivery.start((subscriber.tenant_id, subscriber.collection_id), newest)

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
        if not self._subscribers.get(key) and self._subscribers.pop(key, None) is not None:
            if self._delivery is not None:
                self._delivery.forget(key)
            if not any(tenant == subscriber.tenant_id for tenant, _ in self._subscribers):
                self._presence_topics.pop(subscriber.tenant_id, lambda: None)()

    def end_sessions(self, session_ids: set[str]) -> None:
        """A revoked session's streams end at once, like its WebSockets."""
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                if subscriber.session_id in session_ids:
                    subscriber.end(drop_queued=True)

    def session_ids(self) -> set[str]:
        """The sessions of the open streams (collab/live/session_watch.py checks them)."""
        return {
            s.session_id for subscribers in self._subscribers.values() for s in subscribers if not s.ended
        }

    def push_presence(self, tenant_id: str, collection_id: str, data: dict[str, Any]) -> None:
        """Who is on a record of this node changed: its collection's streams here and elsewhere hear it."""
        self._present(tenant_id, collection_id, data)
        message = {"collection": collection_id, "data": data}
        self._bus.publish(f"presence:{tenant_id}", json.dumps(message, separators=(",", ":")).encode())

    def _present(self, tenant_id: str, collection_id: str, data: dict[str, Any]) -> None:
        if self._subscribers.get((tenant_id, collection_id)):
            self._push_chunk(
                (tenant_id, collection_id), chunk_of([feed_event(self._framer, None, "presence", data)])
            )

    # -- other nodes -------------------------------------------------------------------------------------

    def _watch_presence(self, tenant_id: str) -> None:
        """Hear other nodes' presence of a tenant that has streams here (until its last one ends)."""
        if tenant_id in self._presence_topics:
            return

        def present(payload: bytes, node: str) -> None:
            try:
                message = json.loads(payload)
                collection_id, data = str(message["collection"]), dict(message["data"])
            except (ValueError, KeyError, TypeError):
                log.warning("a presence message from node %s does not read; left out", node)
                return
            self._present(tenant_id, collection_id, data)

        self._presence_topics[tenant_id] = self._bus.subscribe(f"presence:{tenant_id}", present)


_EVENT_FIELDS = tuple(f.name for f in fields(events.NewEvent))
