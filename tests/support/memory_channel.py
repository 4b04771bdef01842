"""An in-memory `Channel` for room tests: the test plays the client on the other end."""

from __future__ import annotations

import asyncio

from collab.live.channel import ChannelClosed


class MemoryChannel:
    def __init__(self) -> None:
        self.to_client: asyncio.Queue[bytes] = asyncio.Queue()
        self._to_server: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    # -- the server's side (the Channel protocol) --------------------------------------------------------

    async def send(self, message: bytes) -> None:
        if self.close_code is not None:
            raise ChannelClosed()
        self.to_client.put_nowait(message)

    async def recv(self) -> bytes:
        message = await self._to_server.get()
        if message is None:
            raise ChannelClosed()
        return message

    async def close(self, code: int, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code = code
            self._to_server.put_nowait(None)
            self.closed.set()

    # -- the test's side ---------------------------------------------------------------------------------

    def client_sends(self, message: bytes) -> None:
        self._to_server.put_nowait(message)

    def client_leaves(self) -> None:
        self._to_server.put_nowait(None)

    async def next_message(self, within: float = 5.0) -> bytes:
        return await asyncio.wait_for(self.to_client.get(), within)

    def drain(self) -> list[bytes]:
        messages = []
        while not self.to_client.empty():
            messages.append(self.to_client.get_nowait())
        return messages
