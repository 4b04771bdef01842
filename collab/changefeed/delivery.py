"""Delivery on a node of several: every collection's events, stored by any node, pushed in id order, once.

On one node the feed pushes what its own writer committed. With several nodes, another node's events are
only in SQL, so here events reach this node's streams by reading SQL: "the events of a collection after
the newest one delivered here", per collection that has subscribers on this node. This node's own events
take the same way, so that one order holds for both: a stream drops any id not above the newest it sent,
and an own event pushed before another node's lower id was read would cost that lower id.

Reading "after id N" skips nothing because a tenant's event ids become visible in id order (the feed lock
in `persistence.events`). When to read: at once after this node commits events, when another node says it
did (a bus message on `TOPIC`, which may be lost), every `_SLOW_POLL_SECONDS` as a net under lost messages,
and every `_FAST_POLL_SECONDS` while the bus is down (or when the nodes have none: no Redis configured).
One topic for every tenant, heard from the start: a topic per tenant, subscribed when its first stream
opens here, missed what was committed while Redis took the subscription (up to a tenth of a second), and
that stream then waited for the slow poll.

Where a collection's delivery starts: a stream subscribes first and then reads the collection's newest id
(`start`). Everything committed before that read is the stream's backlog or behind it; everything pushed
after it subscribed reaches it. Another stream of the collection may have read a higher newest id before
any event was delivered: the position then moves down to the lower one, and the streams already open drop
what they get again (ids they sent), since what was pushed before this stream subscribed was committed
before its read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

from collab.changefeed.events import Chunk, FeedEvent, Framer, chunk_of, feed_event
from collab.changefeed.payloads import describe
from collab.cluster.bus import Bus
from persistence import events
from persistence.database import Database
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (tenant id, collection id)
Push = Callable[[Key, Chunk], None]

_FAST_POLL_SECONDS = 0.5
_SLOW_POLL_SECONDS = 5.0
_RETRY_SECONDS = 0.5
_PAGE = 500
TOPIC = "feed"  # "<tenant id> <newest event id>": a node committed events of that tenant


class Delivery:
    """Reads each watched collection's new events from SQL and hands them, framed, to `push(key, chunk)`."""

    def __init__(self, database: Database, framer: Framer, bus: Bus, push: Push) -> None:
        self._database = database
        self._framer = framer
        self._bus = bus
        self._push = push
        # Newest id delivered per watched collection; None until its first stream says where to start.
        self._positions: dict[Key, int | None] = {}
        # This node's own events, framed when stored: read back from SQL, they need no describing.
        self._own: dict[Key, dict[int, FeedEvent]] = {}
        self._due: set[Key] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_poll = 0.0  # loop time
        bus.on_change(self._bus_changed)
        self._unsubscribe = bus.subscribe(TOPIC, self._heard)

    async def __aenter__(self) -> Delivery:
        self._task = asyncio.create_task(self._run(), name="collab-feed-delivery")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- what the feed tells it ---------------------------------------------------------------------------

    def watch(self, key: Key) -> None:
        """A collection has its first stream here; it starts once a stream says where (`start`)."""
        self._positions.setdefault(key, None)

    def start(self, key: Key, newest: int) -> None:
        """A stream of `key` subscribed and then read `newest` as the collection's newest id."""
        if key not in self._positions:
            return  # its stream is gone already
        position = self._positions[key]
        self._positions[key] = newest if position is None else min(position, newest)
        self._mark([key])

    def forget(self, key: Key) -> None:
        """The collection's last stream here ended."""
        self._positions.pop(key, None)
        self._own.pop(key, None)
        self._due.discard(key)

    def stored_here(self, stored: Sequence[tuple[Key, FeedEvent]]) -> None:
        """This node committed these events (framed): tell the other nodes, and deliver them here (with
        whatever came before them)."""
        newest: dict[str, int] = {}
        for key, event in stored:
            if event.id is None:
                continue
            newest[key[0]] = max(newest.get(key[0], 0), event.id)
            if key in self._positions:
                self._own.setdefault(key, {})[event.id] = event
        for tenant_id, event_id in newest.items():
            self._bus.publish(TOPIC, f"{tenant_id} {event_id}".encode())
        self._mark(key for key, _ in stored)

    def _heard(self, payload: bytes, node: str) -> None:
        """Another node committed events of a tenant, the newest of them this one."""
        tenant, _, newest = payload.decode("ascii", "replace").partition(" ")
        if not newest.isdigit():
            log.warning("a feed message from node %s does not read; left out", node)
            return
        self._mark(
            key
            for key, position in self._positions.items()
            if key[0] == tenant and (position is None or position < int(newest))
        )

    def _mark(self, keys: Iterable[Key]) -> None:
        due = [key for key in keys if key in self._positions]
        if due:
            self._due.update(due)
            self._wake.set()

    def _bus_changed(self, up: bool) -> None:
        # Messages may have been lost while it was down (or it just went down): look at once, then poll
        # at the pace that suits the bus now.
        self._next_poll = 0.0
        self._wake.set()

    # -- reading SQL --------------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(self._next_poll):
                    await self._wake.wait()
            self._wake.clear()
            if loop.time() >= self._next_poll:  # every watched collection, for messages the bus lost
                self._due.update(self._positions)
                # Fast while no message can come: Redis is down, or there is none (COLLAB_CLUSTER alone).
                pace = _SLOW_POLL_SECONDS if self._bus.shared and self._bus.up else _FAST_POLL_SECONDS
                self._next_poll = loop.time() + pace
            due, self._due = self._due, set()
            for key in sorted(due):
                try:
                    await self._catch_up(key)
                except Exception as exc:  # the database, most likely: its own retries say more
                    log.warning("delivering the feed of collection %s failed, trying again: %r", key[1], exc)
                    self._due.add(key)
                    self._wake.set()
                    await asyncio.sleep(_RETRY_SECONDS)

    @system_work  # a node's delivery reads every tenant's events
    async def _catch_up(self, key: Key) -> None:
        tenant_id, collection_id = key
        while True:
            position = self._positions.get(key)
            if position is None:
                return  # not started, or forgotten
            async with self._database.session() as session:
                rows = await events.after(session, tenant_id, collection_id, position, _PAGE)
                own = self._own.get(key, {})
                strangers = [row for row in rows if row.id not in own]
                described = await describe(session, strangers)
                payloads = dict(zip([row.id for row in strangers], described, strict=True))
            if self._positions.get(key) != position:
                continue  # a new stream moved the start down (or the last one left) while reading
            framed = [
                own.pop(row.id)
                if row.id in own
                else feed_event(self._framer, row.id, row.type, payloads[row.id])
                for row in rows
            ]
            if rows:
                position = self._positions[key] = rows[-1].id
                self._push(key, chunk_of(framed))
            for stale in [event_id for event_id in own if event_id <= position]:
                del own[stale]  # at or below what is delivered: from before the start, or pruned
            if len(rows) < _PAGE:
                return
