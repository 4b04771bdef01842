"""Keeps live connections and feed streams true to their sessions: expired, revoked or deactivated ones are
closed (streams ended), and a changed role applies, also when the change came from another node or the CLI.

Changes made through this node's API act at once (collab/services call the registry), and on the other
nodes within a second through the bus (collab/cluster/access.py); this loop is the net under them, every
`session_check_seconds`, and every half second while the bus is down (its messages are lost then). It ends
the feed streams of ended sessions too (`streams`: the feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Protocol

from auth.errors import SessionEnded
from auth.sessions import SessionPolicy, session_states
from collab.cluster.bus import Bus
from collab.errors import close_frame
from collab.live.registry import RoomRegistry
from persistence.database import Database
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

# While the bus is down, access changes of other nodes reach this one only through this loop: half a second,
# so that a revocation acts within the second (issue 18) with the check's own time included.
BUS_DOWN_CHECK_SECONDS = 0.5


class StreamSessions(Protocol):
    """The feed's open streams (`collab.changefeed.feed.Feed`)."""

    def session_ids(self) -> set[str]: ...

    def end_sessions(self, session_ids: set[str]) -> None: ...


class SessionWatch:
    def __init__(
        self,
        database: Database,
        registry: RoomRegistry,
        policy: SessionPolicy,
        every_seconds: float,
        bus: Bus | None = None,
        streams: StreamSessions | None = None,
    ):
        self._streams = streams
        self._database = database
        self._registry = registry
        self._policy = policy
        self._every = every_seconds
        self._bus = bus
        self._bus_changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        if bus is not None:
            bus.on_change(lambda _up: self._bus_changed.set())

    @property
    def period_seconds(self) -> float:
        if self._bus is not None and not self._bus.up:
            return min(self._every, BUS_DOWN_CHECK_SECONDS)
        return self._every

    async def __aenter__(self) -> SessionWatch:
        self._task = asyncio.create_task(self._run(), name="collab-session-watch")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            # A bus that goes down shortens the wait at once: changes it dropped are caught within a second.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bus_changed.wait(), self.period_seconds)
            self._bus_changed.clear()
            try:
                await self.check_once()
            except Exception:
                log.exception("checking live sessions failed")

    @system_work  # every live connection, every tenant's
    async def check_once(self) -> None:
        connections = self._registry.connections()
        streaming = self._streams.session_ids() if self._streams is not None else set()
        if not connections and not streaming:
            return
        async with self._database.session() as session:
            states = await session_states(
                session, {c.principal.session_id for c in connections} | streaming, self._policy
            )
        ended = {session_id for session_id in streaming if states.get(session_id) is None}
        if ended and self._streams is not None:
            self._streams.end_sessions(ended)
        for connection in connections:
            role = states.get(connection.principal.session_id)
            if role is None:
                connection.close(*close_frame(SessionEnded("session ended")))
            else:
                connection.set_role(role)
