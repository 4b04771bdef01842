"""The relay: a client's socket for a record owned by another node, carried to that node and back.

The edge node (the one the client reached) has authenticated the client; it opens a WebSocket to the
owner's `ws://ADDRESS/ws/RECORD` with the signed principal in the relay header (collab/cluster/relay_auth.py)
and passes frames both ways, unparsed: the owner serves it as one of its own connections and judges every
frame (size, rate, role) itself. A close from either side is passed on with its code and reason; a
connection that drops without one (the owner died) reaches the client as 1012, so that it reconnects and
the record gets a new owner.

Until the owner has sent its first frame, the client's frames are kept: if the owner turns out not to be
the owner any more (`NOT_OWNER`) or cannot be reached, `forward` returns False with them in `pending`, and
the caller claims the record again and hands them to whoever serves it next (`Replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote

import websockets
from websockets.asyncio.client import ClientConnection

from auth.errors import Forbidden, SessionEnded
from auth.principal import Principal
from collab import close_codes
from collab.cluster import relay_auth
from collab.cluster.errors import NOT_OWNER
from collab.errors import close_frame

log = logging.getLogger(__name__)
# The relay sockets' own logger: the websockets library logs request headers (the relay header is a
# credential) at DEBUG, so that level is never let through, whatever the process's level.
_socket_log = logging.getLogger(f"{__name__}.socket")
_socket_log.setLevel(logging.INFO)

_OPEN_TIMEOUT_SECONDS = 5.0
# Codes that a close frame may not carry (RFC 6455): said as the nearest code that may.
_UNSENDABLE = frozenset({1005, 1006, 1015})


class Channel(Protocol):
    """The client's side: `collab.live.channel.Channel`, named here by its shape (the live package sits
    above this one); its `recv` raises the relay's `client_closed` when the client is gone."""

    async def send(self, message: bytes) -> None: ...

    async def recv(self) -> bytes: ...

    async def close(self, code: int, reason: str = "") -> None: ...


class Replay:
    """A channel that first gives the frames already read from the client, then reads on."""

    def __init__(self, channel: Channel, pending: list[bytes]) -> None:
        self._channel = channel
        self._pending = pending

    async def send(self, message: bytes) -> None:
        await self._channel.send(message)

    async def recv(self) -> bytes:
        if self._pending:
            return self._pending.pop(0)
        return await self._channel.recv()

    async def close(self, code: int, reason: str = "") -> None:
        await self._channel.close(code, reason)


class Relay:
    """Relays this node's clients to owners elsewhere; knows them, so that a session that ends here ends
    its relayed sockets too (`end_sessions`, a registry session-end listener)."""

    def __init__(
        self,
        secret_key: str | None,
        client_closed: type[Exception],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`client_closed`: what the client channel's `recv` raises when the client left (with its close
        code as `code`): `collab.live.channel.ChannelClosed`."""
        self._key = relay_auth.relay_key(secret_key) if secret_key else None
        self._client_closed = client_closed
        self._clock = clock
        self._active: dict[int, _Forward] = {}

    def verify(self, header: str, record_id: str) -> Principal:
        """The principal of a socket relayed to this node (`Forbidden`, 4403, unless validly signed)."""
        if self._key is None:
            raise Forbidden("relay refused")
        return relay_auth.verify(self._key, header, record_id, self._clock())

    def sign(self, principal: Principal, target: str) -> str:
        """A relay header for `target` (a record id, or `relay_auth.http_target` of a forwarded request)."""
        if self._key is None:
            raise RuntimeError("relaying needs the secret key (COLLAB_SECRET_KEY)")
        return relay_auth.sign(self._key, principal, target, self._clock())

    async def forward(
        self,
        client: Channel,
        principal: Principal,
        record_id: str,
        epoch: str | None,
        address: str,
        pending: list[bytes],
    ) -> bool:
        """Relay `client` to the owner at `address` until either side closes: True. False when the owner
        could not be reached or is not the owner: nothing reached the client, `pending` holds its frames."""
        if self._key is None:
            raise RuntimeError("relaying needs the secret key (COLLAB_SECRET_KEY)")
        url = f"ws://{address}/ws/{quote(record_id, safe='')}"
        if epoch is not None:
            url += f"?epoch={quote(epoch, safe='')}"
        header = self.sign(principal, record_id)
        try:
            upstream = await websockets.connect(
                url,
                additional_headers={relay_auth.HEADER: header},
                open_timeout=_OPEN_TIMEOUT_SECONDS,
                max_size=None,  # the owner judges sizes; what it sends the client must get
                compression=None,
                logger=_socket_log,
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            log.info("owner %s of record %s unreachable: %s", address, record_id, type(exc).__name__)
            return False
        forward = _Forward(client, upstream, principal, pending, self._client_closed)
        self._active[id(forward)] = forward
        try:
            return await forward.run()
        finally:
            del self._active[id(forward)]

    def end_sessions(self, session_ids: set[str]) -> None:
        for forward in list(self._active.values()):
            if forward.principal.session_id in session_ids:
                forward.end(*close_frame(SessionEnded("session ended")))

    def close_all(self, code: int, reason: str) -> None:
        for forward in list(self._active.values()):
            forward.end(code, reason)

    @property
    def count(self) -> int:
        return len(self._active)


class _Forward:
    def __init__(
        self,
        client: Channel,
        upstream: ClientConnection,
        principal: Principal,
        pending: list[bytes],
        client_closed: type[Exception],
    ) -> None:
        self.principal = principal
        self._client_closed = client_closed
        self._client = client
        self._upstream = upstream
        self._pending = pending
        self._answered = False  # the owner has sent a frame: it serves this socket
        self._ended: tuple[int, str] | None = None
        self._client_left = False

    async def run(self) -> bool:
        inbound = asyncio.create_task(self._client_to_owner())
        try:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for frame in self._upstream:
                    self._answered = True
                    self._pending.clear()
                    await self._client.send(frame if isinstance(frame, bytes) else frame.encode())
        finally:
            inbound.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await inbound
        code, reason = self._upstream.close_code, self._upstream.close_reason or ""
        if self._ended is not None:
            code, reason = self._ended
        elif code == NOT_OWNER and not self._answered:
            return False
        elif code is None or code in _UNSENDABLE or code == NOT_OWNER:
            code, reason = close_codes.SERVICE_RESTART, "server restarting"
        if not self._client_left:
            try:
                await self._client.close(code, reason)
            except Exception as exc:  # the client left at the same moment: nobody to tell
                log.info("relayed client gone before its close (%d): %s", code, type(exc).__name__)
        return True

    async def _client_to_owner(self) -> None:
        try:
            for frame in list(self._pending):
                await self._upstream.send(frame)
            while True:
                try:
                    frame = await self._client.recv()
                except Exception as exc:
                    if not isinstance(exc, self._client_closed):  # a text frame: refused as by the owner
                        self._ended = close_frame(exc)
                        await self._upstream.close(1000)
                        return
                    self._client_left = True
                    code = getattr(exc, "code", None)
                    await self._upstream.close(code if code is not None and code not in _UNSENDABLE else 1000)
                    return
                if not self._answered:
                    self._pending.append(frame)
                await self._upstream.send(frame)
        except websockets.ConnectionClosed:
            return  # the owner's side ends the relay (`run`)

    def end(self, code: int, reason: str) -> None:
        """Close both sides from this node (a session ended here, the node stops)."""
        self._ended = (code, reason)
        asyncio.get_running_loop().create_task(self._upstream.close(1000))
