"""The room registry: loads each room once, snapshots it, and evicts it once idle and durable.

Many connections may ask for the same record at the same moment; they all await one load task, and none of
them sees the room before the load is complete. A load that fails refuses those connections (they retry)
and is never replaced by an empty document. A load reads everything in one database session, starting
with the check of the connection that caused it (the record is in its tenant), so that a join reads the
database in one session.

The registry consumes the writer's outcomes: it routes each to the room that queued the write, then
starts the snapshots they make due. Time (quiet rooms, idle rooms) comes from a `Clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import TracebackType

from auth.principal import Role
from collab import close_codes
from collab.clock import SYSTEM_CLOCK, Clock
from collab.errors import CollabError, RoomLoadFailed
from collab.live.connection import Connection
from collab.live.pending_index import PendingIndex
from collab.live.room import Room, settle
from collab.metrics import UNREAD, Metrics
from collab.settings import Settings
from collab.store.snapshotter import RecordCheck, field_index, load_room, take_snapshot
from collab.store.writer import UpdateWriter
from collab.store.writes import PendingWrite, WriteOutcome
from persistence.database import Database

log = logging.getLogger(__name__)

_HOUSEKEEPING_SECONDS = 1.0


class RoomRegistry:
    def __init__(
        self,
        database: Database,
        writer: UpdateWriter,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
        metrics: Metrics = UNREAD,
    ) -> None:
        self._database = database
        self.metrics = metrics
        self._writer = writer
        self._settings = settings
        self._clock = clock
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Task[Room]] = {}
        self._loads = 0
        self._snapshotting: dict[str, asyncio.Task[None]] = {}
        self._idle_since: dict[str, float] = {}
        self._housekeeping: asyncio.Task[None] | None = None
        self._per_user: Counter[str] = Counter()
        # Loaded rooms' history indexes are built here, one at a time (collab/live/pending_index.py).
        self._index_threads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-history-index")
        # Rooms dropped as broken whose writes are not all settled: they still hear the outcomes (a refused
        # write closes its sender), and the record's next load waits until what they accepted is stored.
        self._dropped: dict[str, Room] = {}
        writer.subscribe(self._settle)
        # Told when a room's set of people changes, and when sessions end (other live streams close too).
        self.presence_listeners: list[Callable[[Room], None]] = []
        self.session_end_listeners: list[Callable[[set[str]], None]] = []
        # Several nodes (collab/cluster/ownership.py): `admit` runs before a use-case uses a room (it claims
        # the record; raises when another node owns it); eviction listeners hear of each room evicted (the
        # record is released). None / empty on one node.
        self.admit: Callable[[str], Awaitable[None]] | None = None
        self.eviction_listeners: list[Callable[[str], Awaitable[None]]] = []
        # Told of every `close_record` (the record's room may be live on another node).
        self.record_close_listeners: list[Callable[[str, int, str], None]] = []

    async def __aenter__(self) -> RoomRegistry:
        self._housekeeping = asyncio.create_task(self._housekeep(), name="collab-housekeeping")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        for room in self._rooms.values():
            room.close_all(close_codes.SERVICE_RESTART, "server restarting")
        await self._writer.flush()
        await asyncio.gather(*self._snapshotting.values(), return_exceptions=True)
        for record_id, room in list(self._rooms.items()):
            if room.updates_since_snapshot:
                await self._snapshot(record_id, room, "shutdown")
        self._index_threads.shutdown(wait=False, cancel_futures=True)  # a running build ends with its room

    async def flush(self) -> None:
        """Return once every update accepted so far is stored."""
        await self._writer.flush()

    @property
    def rooms(self) -> dict[str, Room]:
        return self._rooms

    async def acquire(self, record_id: str, check: RecordCheck | None = None) -> Room:
        """The record's room, loaded once however many ask at once. `check` (the caller's: is the record
        theirs?) runs before the caller holds the room: in the load's own session if this call starts the
        load (`load_room`), else in a session of its own. Its refusal is this caller's alone."""
        checked = check is None
        while True:
            room = self._rooms.get(record_id)
            if room is None:
                task = self._loading.get(record_id)
                started = task is None
                if task is None:
                    load = self._load(record_id, None if checked else check)
                    task = asyncio.create_task(load, name=f"collab-load-{record_id}")
                    self._loading[record_id] = task
                try:
                    # Shielded: one waiter giving up must not cancel the load the others are waiting for.
                    await asyncio.shield(task)
                except RoomLoadFailed:
                    raise
                except CollabError:
                    if started:
                        raise
                    # Another caller's check refused it; this caller's is still to come.
                checked = checked or started
                continue  # the room is registered now (or gone again: then it loads once more)
            if check is not None and not checked:
                async with self._database.session() as session:
                    await check(session)
                checked = True
                continue  # the room may have gone meanwhile
            break
        room.holders += 1
        self._idle_since.pop(record_id, None)
        return room

    def release(self, room: Room) -> None:
        room.holders -= 1
        if room.holders == 0 and self._rooms.get(room.record_id) is room:
            self._idle_since[room.record_id] = self._clock.monotonic()

    @contextlib.asynccontextmanager
    async def use(self, record_id: str) -> AsyncIterator[Room]:
        if self.admit is not None:
            await self.admit(record_id)
        room = await self.acquire(record_id)
        try:
            yield room
        finally:
            self.release(room)

    async def _load(self, record_id: str, check: RecordCheck | None = None) -> Room:
        try:
            if record_id in self._dropped:
                await self._writer.flush()
                self._dropped.pop(record_id, None)
            loaded = await load_room(self._database, record_id, check)
            self._loads += 1
            try:
                room = Room(
                    record_id,
                    loaded.doc,
                    self._writer,
                    pending_index=PendingIndex(
                        partial(field_index, record_id, authors=loaded.authors), self._index_threads
                    ),
                    owners=loaded.owners,
                    specs=loaded.specs,
                    on_broken=self._discard,
                    tenant_id=loaded.tenant_id,
                    collection_id=loaded.collection_id,
                    load=self._loads,
                    clock=self._clock,
                    metrics=self.metrics,
                )
            except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
                raise
            except BaseException as exc:  # a stored document pycrdt cannot read: pycrdt panics included
                raise RoomLoadFailed(f"stored state of record {record_id} cannot be read") from exc
            if loaded.taken:  # collab/records/uniqueness.py: a duplicate a crash left stored
                room.correct_duplicates(loaded.taken)
            self._rooms[record_id] = room
            return room
        except RoomLoadFailed:
            log.exception("loading record %s failed", record_id)
            raise
        finally:
            del self._loading[record_id]

    def _discard(self, room: Room) -> None:
        """A room whose document may differ from storage is dropped; its clients reconnect (1012) to a room
        loaded afresh once everything it accepted before is stored. The connection that caused it is closed
        by its own handler first (4400), so it does not come back."""
        if self._rooms.get(room.record_id) is room:
            del self._rooms[room.record_id]
            self._idle_since.pop(room.record_id, None)
            if room.unsettled:
                self._dropped[room.record_id] = room
        asyncio.get_running_loop().call_soon(room.close_all, close_codes.SERVICE_RESTART, "record reloaded")

    # -- what became of the rooms' writes ----------------------------------------------------------------

    def _settle(self, outcome: WriteOutcome) -> None:
        """The writer's consumer: each room hears of its own writes; then the snapshots that became due."""
        for room in settle(outcome, self._room_of):
            if room.updates_since_snapshot >= self._settings.snapshot_every_updates:
                self._start_snapshot(room, "auto")
        for record_id, room in list(self._dropped.items()):
            if room.unsettled <= 0:
                del self._dropped[record_id]

    def _room_of(self, write: PendingWrite) -> Room | None:
        room = self._rooms.get(write.record_id) or self._dropped.get(write.record_id)
        return room if room is not None and room.load == write.load else None

    def _start_snapshot(self, room: Room, reason: str) -> None:
        if room.record_id in self._snapshotting:
            return
        task = asyncio.create_task(self._snapshot(room.record_id, room, reason))
        self._snapshotting[room.record_id] = task
        task.add_done_callback(lambda _: self._snapshotting.pop(room.record_id, None))

    async def _snapshot(self, record_id: str, room: Room, reason: str) -> None:
        covered = room.updates_since_snapshot
        try:
            await take_snapshot(self._database, record_id, reason)
        except Exception:
            log.exception("snapshot of record %s failed; the log still holds everything", record_id)
            return
        room.updates_since_snapshot = max(0, room.updates_since_snapshot - covered)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(_HOUSEKEEPING_SECONDS)
            try:
                await self.housekeep()
            except Exception:
                log.exception("room housekeeping failed")

    async def housekeep(self) -> None:
        """One round (the registry runs one every second): snapshot quiet rooms, evict idle ones."""
        now = self._clock.monotonic()
        for record_id, room in list(self._rooms.items()):
            quiet = now - room.last_update_at
            if room.updates_since_snapshot and quiet >= self._settings.snapshot_quiet_seconds:
                self._start_snapshot(room, "auto")
            idle_since = self._idle_since.get(record_id)
            if idle_since is not None and now - idle_since >= self._settings.room_idle_seconds:
                await self._evict(record_id, room)

    async def _evict(self, record_id: str, room: Room) -> None:
        # Durable first: a room that is dropped before its writes commit would reload without them.
        last_update_at = room.last_update_at
        await self._writer.flush()
        pending = self._snapshotting.get(record_id)
        if pending is not None:
            await pending
        if room.updates_since_snapshot:
            await self._snapshot(record_id, room, "evict")
        unchanged = room.last_update_at == last_update_at
        if unchanged and room.holders == 0 and self._rooms.get(record_id) is room:
            del self._rooms[record_id]
            self._idle_since.pop(record_id, None)
            log.debug("evicted idle room %s", record_id)
            for listener in self.eviction_listeners:
                await listener(record_id)

    def drop(self, record_ids: frozenset[str]) -> None:
        """Drop these records' rooms at once (this node no longer owns them): their clients reconnect
        (1012) to wherever the records are owned next."""
        for record_id in record_ids:
            room = self._rooms.get(record_id)
            if room is not None:
                self._discard(room)

    # -- acting on live connections for auth (auth itself never reaches into rooms) -----------------------

    def connections(self) -> list[Connection]:
        return [connection for room in self._rooms.values() for connection in room.connections.values()]

    def join(self, room: Room, connection: Connection) -> None:
        room.join(connection)
        self._per_user[connection.principal.user_id] += 1
        self._presence_changed(room)

    def leave(self, room: Room, connection: Connection) -> None:
        room.leave(connection)
        user_id = connection.principal.user_id
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]
        self._presence_changed(room)

    def _presence_changed(self, room: Room) -> None:
        for listener in self.presence_listeners:
            try:
                listener(room)
            except Exception:
                log.exception("a presence listener failed for record %s", room.record_id)

    def connections_of_user(self, user_id: str) -> int:
        return self._per_user.get(user_id, 0)

    def close_sessions(self, session_ids: set[str], code: int, reason: str) -> int:
        for listener in self.session_end_listeners:
            listener(session_ids)
        closing = [c for c in self.connections() if c.principal.session_id in session_ids]
        for connection in closing:
            connection.close(code, reason)
        return len(closing)

    def close_user(self, user_id: str, code: int, reason: str) -> int:
        closing = [c for c in self.connections() if c.principal.user_id == user_id]
        for listener in self.session_end_listeners:
            listener({c.principal.session_id for c in closing})
        for connection in closing:
            connection.close(code, reason)
        return len(closing)

    def change_role(self, user_id: str, role: Role) -> None:
        """The next message of each of the user's connections is judged by the new role."""
        for connection in self.connections():
            if connection.principal.user_id == user_id:
                connection.set_role(role)

    # -- for the application services (collab/services): what is open now, and closing one record ---------

    def open_room(self, record_id: str) -> Room | None:
        """The record's room if it is loaded now; never loads one (a read uses the stored state instead)."""
        return self._rooms.get(record_id)

    def open_rooms(self, tenant_id: str, collection_id: str) -> list[Room]:
        """The loaded rooms of one collection that have people on them."""
        return [
            room
            for room in self._rooms.values()
            if room.connections and (room.tenant_id, room.collection_id) == (tenant_id, collection_id)
        ]

    def close_record(self, record_id: str, code: int, reason: str) -> int:
        """Close every live connection of one record (it was deleted); returns how many were open."""
        for listener in self.record_close_listeners:
            listener(record_id, code, reason)
        room = self._rooms.get(record_id)
        if room is None:
            return 0
        count = len(room.connections)
        room.close_all(code, reason)
        return count
