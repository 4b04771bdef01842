"""Keeps live connections true to their sessions: expired, revoked or deactivated ones are closed, and a
changed role applies, also when the change came from another node or the CLI.

Changes made through this node's API act at once (collab/services call the registry); this loop is the net
under them, every `session_check_seconds`.
"""

from __future__ import annotations

import logging
from types import TracebackType

from auth.errors import SessionEnded
from auth.sessions import SessionPolicy, session_states
from collab.errors import close_frame
from collab.live.registry import RoomRegistry
from collab.periodic import Periodic
from persistence.database import Database
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)


class SessionWatch:
    def __init__(
        self, database: Database, registry: RoomRegistry, policy: SessionPolicy, every_seconds: float
    ):
        self._database = database
        self._registry = registry
        self._policy = policy
        self._loop = Periodic(
            "collab-session-watch", every_seconds, self.check_once, "checking live sessions failed"
        )

    async def __aenter__(self) -> SessionWatch:
        self._loop.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()

    @system_work  # every live connection, every tenant's
    async def check_once(self) -> None:
        connections = self._registry.connections()
        if not connections:
            return
        async with self._database.session() as session:
            states = await session_states(
                session, {c.principal.session_id for c in connections}, self._policy
            )
        for connection in connections:
            role = states.get(connection.principal.session_id)
            if role is None:
                connection.close(*close_frame(SessionEnded("session ended")))
            else:
                connection.set_role(role)
