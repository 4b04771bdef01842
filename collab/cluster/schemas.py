"""Schema edits on every node: a collection's new fields reach its open rooms wherever they live.

The node that edits a schema applies it to its own rooms at once (collab/services/collections.py) and
calls `changed`, which publishes a hint on the bus topic `collection`; every other node then reads that
collection's fields and gives them to its open rooms of it (`use_specs`: corrections and unique checks
follow the new fields). While the bus is down its hints are lost, so each node reads, every second, the
fields of every collection it has open rooms of, and applies those that differ from what a room uses
(there is no version column: the fields themselves are compared).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Collection, Mapping, Sequence, Sized
from types import TracebackType
from typing import Protocol

from sqlalchemy import select

from collab.cluster.bus import Bus
from collab.records.schema import FieldSpec, specs_from_json
from persistence.database import Database
from persistence.models import Collection as CollectionRow
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

TOPIC = "collection"
BUS_DOWN_POLL_SECONDS = 1.0


class LiveRoom(Protocol):
    @property
    def collection_id(self) -> str: ...

    @property
    def specs(self) -> Sequence[FieldSpec] | None: ...

    @property
    def connections(self) -> Sized: ...

    def use_specs(self, specs: list[FieldSpec]) -> None: ...


class LiveRooms(Protocol):
    """This node's rooms (the room registry)."""

    @property
    def rooms(self) -> Mapping[str, LiveRoom]: ...


class SchemaSync:
    """An async context manager (entered in the lifespan after the registry)."""

    def __init__(
        self,
        database: Database,
        rooms: LiveRooms,
        bus: Bus,
        several_nodes: bool,
        poll_seconds: float = BUS_DOWN_POLL_SECONDS,
    ) -> None:
        """`several_nodes`: other nodes may edit schemas (with a Redis bus or without one)."""
        self._database = database
        self._rooms = rooms
        self._bus = bus
        self._several_nodes = several_nodes
        self._poll_seconds = poll_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._unsubscribe = bus.subscribe(TOPIC, self._heard)

    async def __aenter__(self) -> SchemaSync:
        if self._several_nodes:  # one node alone has nobody else's edits to hear
            self._poller = asyncio.create_task(self._poll(), name="collab-schema-poll")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._unsubscribe()
        for task in [*self._tasks, *([self._poller] if self._poller else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def changed(self, collection_id: str) -> None:
        """This node changed the collection's fields (and applied them to its own rooms): tell the others."""
        self._bus.publish(TOPIC, json.dumps({"collection": collection_id}).encode())

    def _heard(self, payload: bytes, node_id: str) -> None:
        try:
            collection_id = str(json.loads(payload)["collection"])
        except (ValueError, KeyError, TypeError):
            log.warning("a schema hint from node %s could not be read", node_id)
            return
        task = asyncio.get_running_loop().create_task(self._refresh({collection_id}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            if self._bus.up and self._bus.shared:
                continue  # the hints arrive (a bus of one node, LocalBus, carries none: always poll)
            try:
                await self._refresh({room.collection_id for room in self._open_rooms()})
            except Exception:
                log.exception("reading the schemas of the open rooms failed")

    def _open_rooms(self) -> list[LiveRoom]:
        return [room for room in self._rooms.rooms.values() if room.connections]

    @system_work  # rooms of every tenant
    async def _refresh(self, collection_ids: Collection[str]) -> None:
        if not collection_ids:
            return
        async with self._database.session() as session:
            rows = await session.execute(
                select(CollectionRow.id, CollectionRow.fields).where(CollectionRow.id.in_(collection_ids))
            )
            stored: dict[str, list[FieldSpec]] = {row.id: specs_from_json(row.fields) for row in rows}
        for room in self._open_rooms():
            specs = stored.get(room.collection_id)
            if specs is not None and (room.specs is None or list(room.specs) != specs):
                room.use_specs(specs)
