"""Live connections: joining a record's room over a `Channel` (the WebSocket endpoint's use-case).

The record must be in the caller's tenant (`RecordNotFound` otherwise, the same for missing and foreign
records: the endpoint refuses the socket with `close_frame`); every role may join, and what a connection
may send is judged per message by the same role check as HTTP (auth/access.py, in the room).

A connection that names the epoch its copy of the record was synced in must name the record's epoch now:
otherwise the record was restored since, and merging that copy would resurrect or duplicate content, so it
is refused (`RecordRestored`, 4409) before it joins the room, and nothing it sends is applied. One that names
none (scripts, other clients) is served as before.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.access import Action, require
from auth.principal import Principal
from collab.errors import RecordRestored
from collab.live.channel import Channel
from collab.live.registry import RoomRegistry
from collab.live.serving import serve_connection
from collab.records import records
from collab.settings import Settings
from collab.store.snapshotter import RecordRow
from persistence.database import Database


class Connections:
    def __init__(self, database: Database, registry: RoomRegistry, settings: Settings) -> None:
        self._database = database
        self._registry = registry
        self._settings = settings

    async def serve(
        self, principal: Principal, record_id: str, channel: Channel, epoch: str | None = None
    ) -> None:
        """Serve one connection to its end; raises only before it has joined (a refusal to close with).
        `epoch`: the one the client's copy was synced in, if it says."""
        require(principal, Action.READ)

        async def check(session: AsyncSession) -> RecordRow:
            record, collection = await records.find_record(session, principal, record_id)
            if epoch is not None and epoch != record.epoch:
                raise RecordRestored(record_id)
            return record.tenant_id, record.collection_id, collection.fields

        # Checked as the room is acquired: in the load's own session when this join loads it (one
        # database session per join; the record and its collection are read once).
        await serve_connection(self._registry, channel, principal, record_id, self._settings, check)
