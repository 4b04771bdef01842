"""The room registry: loads each room once, snapshots it, and evicts it once idle and durable.

Many connections may ask for the same record at the same moment; they all await one load task, and none of
them sees the room before the load is complete. A load that fails refuses those connections (they retry)
and is never replaced by an empty document.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from sqlalchemy import select

from auth.principal import Role
from collab import close_codes
from collab.errors import RoomLoadFailed
from collab.live.connection import Connection
from collab.live.room import Room
from collab.records.schema import FieldSpec, specs_from_json
from collab.settings import Settings
from collab.store.snapshotter import (
    fresh_client_id,
    load_document,
    load_field_index,
    load_owners,
    take_snapshot,
)
from collab.store.writer import UpdateWriter
from persistence.database import Database
from persistence.models import Collection, Record

log = logging.getLogger(__name__)

_HOUSEKEEPING_SECONDS = 1.0


class RoomRegistry:
    def __init__(self, database: Database, writer: UpdateWriter, settings: Settings) -> None:
        self._database = database
        self._writer = writer
        self._settings = settings
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Task[Room]] = {}
        self._snapshotting: dict[str, asyncio.Task[None]] = {}
        self._idle_since: dict[str, float] = {}
        self._housekeeping: asyncio.Task[None] | None = None
        self._per_user: Counter[str] = Counter()
        # Records whose room was dropped as broken: the next load waits until what it accepted is stored.
        self._reload_after_flush: set[str] = set()
        # Told when a room's set of people changes, and when sessions end (other live streams close too).
        self.presence_listeners: list[Callable[[Room], None]] = []
        self.session_end_listeners: list[Callable[[set[str]], None]] = []

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

    async def flush(self) -> None:
        """Return once every update accepted so far is stored."""
        await self._writer.flush()

    @property
    def rooms(self) -> dict[str, Room]:
        return self._rooms

    async def acquire(self, record_id: str) -> Room:
        room = self._rooms.get(record_id)
        if room is None:
            task = self._loading.get(record_id)
            if task is None:
                task = asyncio.create_task(self._load(record_id), name=f"collab-load-{record_id}")
                self._loading[record_id] = task
            # Shielded: one waiter giving up must not cancel the load the others are waiting for.
            room = await asyncio.shield(task)
        room.holders += 1
        self._idle_since.pop(record_id, None)
        return room

    def release(self, room: Room) -> None:
        room.holders -= 1
        if room.holders == 0 and self._rooms.get(room.record_id) is room:
            self._idle_since[room.record_id] = time.monotonic()

    @contextlib.asynccontextmanager
    async def use(self, record_id: str) -> AsyncIterator[Room]:
        room = await self.acquire(record_id)
        try:
            yield room
        finally:
            self.release(room)

    async def _load(self, record_id: str) -> Room:
        try:
            if record_id in self._reload_after_flush:
                await self._writer.flush()
                self._reload_after_flush.discard(record_id)
            tenant_id, collection_id, specs = await self._owner(record_id)
            owners = await load_owners(self._database, record_id)
            doc, _ = await load_document(self._database, record_id, fresh_client_id(owners))
            index = await load_field_index(self._database, record_id, doc)
            room = Room(
                record_id,
                doc,
                self._writer,
                on_stored=self._stored,
                field_index=index,
                owners=owners,
                specs=specs,
                on_broken=self._discard,
            )
            room.tenant_id, room.collection_id = tenant_id, collection_id
            self._rooms[record_id] = room
            return room
        except RoomLoadFailed:
            log.exception("loading record %s failed", record_id)
            raise
        finally:
            del self._loading[record_id]

    async def _owner(self, record_id: str) -> tuple[str, str, list[FieldSpec]]:
        """The record's tenant, collection and the collection's fields."""
        try:
            async with self._database.session() as session:
                row = (
                    await session.execute(
                        select(Record.tenant_id, Record.collection_id, Collection.fields)
                        .join(Collection, Collection.id == Record.collection_id)
                        .where(Record.id == record_id)
                    )
                ).first()
        except Exception as exc:
            raise RoomLoadFailed(f"could not read record {record_id}") from exc
        if row is None:
            raise RoomLoadFailed(f"record {record_id} does not exist")
        return row[0], row[1], specs_from_json(row[2])

    def _discard(self, room: Room) -> None:
        """A room whose document may differ from storage is dropped; its clients reconnect (1012) to a room
        loaded afresh once everything it accepted before is stored. The connection that caused it is closed
        by its own handler first (4400), so it does not come back."""
        if self._rooms.get(room.record_id) is room:
            del self._rooms[room.record_id]
            self._idle_since.pop(room.record_id, None)
            self._reload_after_flush.add(room.record_id)
        asyncio.get_running_loop().call_soon(room.close_all, close_codes.SERVICE_RESTART, "record reloaded")

    def _stored(self, room: Room) -> None:
        if room.updates_since_snapshot >= self._settings.snapshot_every_updates:
            self._start_snapshot(room, "auto")

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
                await self._housekeep_once()
            except Exception:
                log.exception("room housekeeping failed")

    async def _housekeep_once(self) -> None:
        now = time.monotonic()
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
