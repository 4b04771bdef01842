"""One client's connection to a room: identity, and a single sender draining a bounded queue.

The room never awaits a client: it enqueues. A client whose queue overflows is closed (with a code that makes
y-websocket reconnect and re-sync), so one slow reader never slows the others or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import replace
from datetime import UTC, datetime

from auth.principal import Principal, Role
from collab import close_codes
from collab.channel import Channel
from collab.rate_limit import TokenBucket

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class Connection:
    def __init__(
        self,
        channel: Channel,
        principal: Principal,
        record_id: str,
        max_queue: int,
        rate: TokenBucket | None = None,
    ) -> None:
        self.id = next(_ids)
        self.channel = channel
        self.principal = principal
        self.rate = rate
        self.joined_at = datetime.now(UTC)
        self.record_id = record_id
        self.awareness_client_ids: set[int] = set()
        self.denied_write_notified = False
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max_queue)
        self._sender: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    @property
    def user_stamp(self) -> dict[str, str]:
        """The `user` field the server writes into every awareness state of this connection."""
        return {"id": self.principal.user_id, "name": self.principal.name, "color": self.principal.color}

    def set_role(self, role: Role) -> None:
        """An admin changed the user's role: the next message is judged by the new one."""
        if role is not self.principal.role:
            self.principal = replace(self.principal, role=role)
            self.denied_write_notified = False

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_loop(), name=f"collab-sender-{self.id}")

    def enqueue(self, message: bytes) -> None:
        if self.close_code is not None:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing connection %s on record %s: consumer too slow", self.id, self.record_id)
            self.close(close_codes.TRY_AGAIN_LATER, "consumer too slow")

    def close(self, code: int, reason: str = "") -> None:
        """Ask for this connection to close; messages still queued are dropped (the client re-syncs)."""
        if self.close_code is not None:
            return
        self.close_code = code
        if self._sender is not None:
            self._sender.cancel()
        self._closing = asyncio.create_task(self._close(code, reason), name=f"collab-close-{self.id}")

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self.channel.close(code, reason)
        except Exception:
            log.debug("close of connection %s failed; the peer is already gone", self.id, exc_info=True)
        finally:
            self.closed.set()

    async def stop(self) -> None:
        """Wait for the sender and any close in progress; used when the reader loop ends."""
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._closing is not None:
            await self._closing

    async def _send_loop(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await self.channel.send(message)
            except Exception:
                # The peer vanished mid-send; the reader loop notices the same and cleans up.
                log.debug("send to connection %s failed", self.id, exc_info=True)
                return
