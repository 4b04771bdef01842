"""Live connections: joining a record's room over a `Channel` (the WebSocket endpoint's use-case).

The record must be in the caller's tenant (`RecordNotFound` otherwise, the same for missing and foreign
records: the endpoint refuses the socket with `close_frame`); every role may join, and what a connection
may send is judged per message by the same role check as HTTP (auth/access.py, in the room).

A connection that names the epoch its copy of the record was synced in must name the record's epoch now:
otherwise the record was restored since, and merging that copy would resurrect or duplicate content, so it
is refused (`RecordRestored`, 4409) before it joins the room, and nothing it sends is applied. One that names
none (scripts, other clients) is served as before.

Several nodes: a record's room lives on its owner only (collab/cluster/ownership.py). A connection for a
record that another node owns is relayed there (collab/cluster/relay.py); when that node cannot be reached
or is not the owner any more, the record is claimed once more, then the client is told to come back later
(`OwnerUnreachable`, 1013). A relayed connection arriving here is never relayed on (`NotOwner`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth.access import Action, require
from auth.principal import Principal
from collab.cluster.errors import NotOwner, OwnerUnreachable
from collab.cluster.ownership import LocalOwnership, Ownership
from collab.cluster.relay import Relay, Replay
from collab.errors import RecordRestored
from collab.live.channel import Channel, ChannelClosed
from collab.live.registry import RoomRegistry
from collab.live.serving import serve_connection
from collab.records import records
from collab.settings import Settings
from collab.store.snapshotter import RecordRow
from persistence.database import Database
from persistence.tenant_scope import enter_tenant


class Connections:
    # A claim and a relay, then one more of each when the first owner was gone or not the owner any more.
    _CLAIMS = 2

    def __init__(
        self,
        database: Database,
        registry: RoomRegistry,
        settings: Settings,
        ownership: Ownership | None = None,
        relay: Relay | None = None,
    ) -> None:
        self._database = database
        self._registry = registry
        self._settings = settings
        self._ownership: Ownership = ownership or LocalOwnership()
        self._relay = relay or Relay(settings.secret_key, ChannelClosed)

    def relayed_principal(self, header: str, record_id: str) -> Principal:
        """Who a socket relayed by another node is (`Forbidden`, 4403, unless validly signed); the rest of
        the caller's task is scoped to that principal's tenant, as `Sessions.authenticate` does."""
        principal = self._relay.verify(header, record_id)
        enter_tenant(principal.tenant_id)
        return principal

    async def serve(
        self,
        principal: Principal,
        record_id: str,
        channel: Channel,
        epoch: str | None = None,
        *,
        relayed: bool = False,
    ) -> None:
        """Serve one connection to its end, here or relayed to the record's owner; raises only before it
        has joined (a refusal to close with). `epoch`: the one the client's copy was synced in, if it says.
        `relayed`: another node relays it (it was its owner's to serve)."""
        require(principal, Action.READ)
        pending: list[bytes] = []  # frames read from the client by a relay that did not get through
        for _ in range(self._CLAIMS):
            if self._ownership.holds(record_id):
                break
            owner = await self._ownership.claim(record_id)
            if owner is None:
                break
            if relayed:
                raise NotOwner(record_id)
            if await self._relay.forward(channel, principal, record_id, epoch, owner, pending):
                return
        else:
            raise OwnerUnreachable(f"the owner of record {record_id} could not be reached")
        if pending:
            channel = Replay(channel, pending)

        async def check(session: AsyncSession) -> RecordRow:
            tenant_id, collection_id, record_epoch, fields = await records.find_join_row(
                session, principal, record_id
            )
            if epoch is not None and epoch != record_epoch:
                raise RecordRestored(record_id)
            return tenant_id, collection_id, fields

        # Checked as the room is acquired: in the load's own session when this join loads it (one
        # database session per join; the record and its collection are read once).
        await serve_connection(self._registry, channel, principal, record_id, self._settings, check)
