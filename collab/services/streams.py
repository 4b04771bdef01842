"""Streams of a collection's change feed: opening one (with what a resuming client missed), and presence.

A client that resumes from an event id gets exactly what it missed, in order, once, then the live events;
an id the server no longer keeps gets a `reset` event (reload the list). `presence` events (not stored, no
id) say who is on which record right now (on every node, from the presence board in Redis; without Redis
this node's rooms only). Events are framed by the `Framer` the transport supplies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from auth.access import Action, require
from auth.principal import Principal
from collab.changefeed.events import FeedEvent, Framer, feed_event
from collab.changefeed.feed import Feed, Subscriber
from collab.changefeed.payloads import describe
from collab.cluster.presence import PresenceBoard
from collab.live.registry import RoomRegistry
from collab.live.room import Room
from collab.metrics import UNREAD, Metrics
from collab.records import records
from persistence import events
from persistence.database import Database

_BACKLOG_PAGE = 500


@dataclass(frozen=True)
class Stream:
    """An open stream: its subscriber (listening since before the backlog was read), the newest event id
    the client has, and what it starts with. `close` once it ends, whichever way."""

    subscriber: Subscriber
    sent: int
    opening: AsyncIterator[FeedEvent]
    feed: Feed

    def close(self) -> None:
        self.feed.unsubscribe(self.subscriber)


class Streams:
    def __init__(
        self,
        database: Database,
        registry: RoomRegistry,
        feed: Feed,
        framer: Framer,
        metrics: Metrics = UNREAD,
        board: PresenceBoard | None = None,
    ) -> None:
        """`board`: several nodes with Redis: who is on the records whose rooms live on other nodes."""
        self._metrics = metrics
        self._board = board
        self._database = database
        self._registry = registry
        self._feed = feed
        self._framer = framer

    async def open(self, principal: Principal, collection_name: str, last_id: int | None) -> Stream:
        """The caller's stream of one collection, resuming after `last_id` (None: from now on)."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, collection_name)
            subscriber = Subscriber(principal.tenant_id, collection.id, principal.session_id)
            # Subscribed before the backlog is read, so nothing published meanwhile falls between the two.
            self._feed.subscribe(subscriber)
            try:
                # The collection's own newest id: ids of different tenants do not become visible in id
                # order when several nodes write (persistence/events.py), a tenant's do.
                newest = await events.newest_id(session, principal.tenant_id, collection.id)
            except BaseException:
                self._feed.unsubscribe(subscriber)
                raise
        self._feed.started(subscriber, newest)
        sent = newest if last_id is None else last_id
        return Stream(subscriber, sent, self._opening(subscriber, last_id), self._feed)

    def presence_changed(self, room: Room) -> None:
        """The registry's listener: who is on a record changed; its collection's streams are told."""
        self._feed.push_presence(room.tenant_id, room.collection_id, presence_of(room))

    def end_all(self) -> None:
        """The server is stopping: every stream ends after what is queued (clients resume elsewhere)."""
        self._feed.end_streams()

    async def _opening(self, subscriber: Subscriber, last_id: int | None) -> AsyncIterator[FeedEvent]:
        """What a stream starts with: the events a resuming client missed, then who is on which record."""
        if last_id is not None:
            async for missed in self._backlog(subscriber, last_id):
                yield missed
        here = self._registry.open_rooms(subscriber.tenant_id, subscriber.collection_id)
        for room in here:
            yield feed_event(self._framer, None, "presence", presence_of(room))
        if self._board is not None:  # rooms on other nodes (without Redis: this node's only)
            local = {room.record_id for room in here}
            for entry in await self._board.tenant_rooms(subscriber.tenant_id):
                if entry.collection_id == subscriber.collection_id and entry.record_id not in local:
                    data = people_event(entry.record_id, entry.people)
                    yield feed_event(self._framer, None, "presence", data)

    async def _backlog(self, subscriber: Subscriber, last_id: int) -> AsyncIterator[FeedEvent]:
        # A page per session: a stream may take long to write, and holds no connection meanwhile.
        async with self._database.session() as session:
            oldest = await events.oldest_id(session, subscriber.tenant_id)
            newest = await events.newest_id(session)
        if last_id > newest or (oldest is not None and last_id < oldest - 1):
            # Older than what is kept (or from another database): the client must reload its list.
            reset = {"reason": "the events after this id are no longer kept", "newest": newest}
            self._metrics.feed_resumes.labels("reset").inc()
            yield feed_event(self._framer, None, "reset", reset)
            return
        self._metrics.feed_resumes.labels("resumed").inc()
        while True:
            async with self._database.session() as session:
                rows = await events.after(
                    session, subscriber.tenant_id, subscriber.collection_id, last_id, _BACKLOG_PAGE
                )
                payloads = await describe(session, rows)
            for row, payload in zip(rows, payloads, strict=True):
                yield feed_event(self._framer, row.id, row.type, payload)
                last_id = row.id
            if len(rows) < _BACKLOG_PAGE:
                return


def presence_of(room: Room) -> dict[str, Any]:
    """A `presence` event's data: the record and who is on it."""
    return people_event(room.record_id, room.presence())


def people_event(record_id: str, users: list[dict[str, Any]] | list[dict[str, object]]) -> dict[str, Any]:
    return {
        "record": record_id,
        "count": len(users),
        "users": [{"id": u["id"], "name": u["name"]} for u in users],
    }
