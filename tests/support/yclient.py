"""A minimal y-websocket client on pycrdt for tests: it speaks the protocol frame by frame.

It keeps what the server said (saved state vectors, close code) so tests can wait on it with deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import websockets
from pycrdt import Doc, Map

from collab.ycodec import protocol

DEADLINE_SECONDS = 10.0


class YClient:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url if token is None else f"{url}?token={token}"
        self.doc: Doc = Doc()
        self.fields: Map = self.doc.get("fields", type=Map)
        self.saved_vectors: list[dict[int, int]] = []
        self.saved_own = 0  # the most of this client's own clock any "saved" covered (kept up as they come)
        self.denied = 0
        self.notices: list[dict[str, Any]] = []  # message type 101: what the server corrected of our edits
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.awareness: list[protocol.AwarenessEntry] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._applying = False
        self.doc.observe(self._on_local_change)

    async def connect(self, wait_synced: bool = True, **connect_kwargs: Any) -> YClient:
        """Connect (again): the same document re-syncs, sending whatever it holds that the server lacks."""
        self.synced.clear()
        self.closed.clear()
        self.close_code = None
        self._socket = await websockets.connect(self.url, max_size=None, **connect_kwargs)
        self._reader = asyncio.create_task(self._read())
        await self._send_quietly(protocol.sync_step1(self.doc.get_state()))
        if wait_synced:
            await self.wait(self.synced.wait(), "initial sync")
        return self

    async def wait(self, awaitable: Any, what: str, within: float = DEADLINE_SECONDS) -> Any:
        try:
            return await asyncio.wait_for(awaitable, within)
        except TimeoutError:
            raise TimeoutError(f"timed out waiting for {what}") from None

    async def send(self, frame: bytes | str) -> None:
        await self._socket.send(frame)

    def _on_local_change(self, event: Any) -> None:
        self.changed.set()
        if self._applying or self._socket is None or self.closed.is_set():
            return
        update = event.update
        asyncio.get_running_loop().create_task(self._send_quietly(protocol.sync_update(update)))

    async def _send_quietly(self, frame: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send(frame)

    async def _read(self) -> None:
        try:
            async for frame in self._socket:
                self._handle(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            close = self._socket.close_code
            self.close_code = close
            self.closed.set()

    def _handle(self, frame: bytes) -> None:
        message_type = frame[0]
        if message_type == protocol.SAVED:
            reader = protocol.Reader(frame[1:])
            vector = protocol.decode_state_vector(reader.var_bytes())
            self.saved_vectors.append(vector)
            self.saved_own = max(self.saved_own, vector.get(self.doc.client_id, 0))
            self.changed.set()
            return
        if message_type == protocol.NOTICE:
            self.notices.append(json.loads(protocol.Reader(frame[1:]).var_string()))
            self.changed.set()
            return
        if message_type == protocol.AUTH:
            self.denied += 1
            self.changed.set()
            return
        message = protocol.decode_message(frame)
        if isinstance(message, protocol.SyncStep1):
            update = self.doc.get_update(message.state_vector)
            asyncio.get_running_loop().create_task(self._send_quietly(protocol.sync_step2(update)))
        elif isinstance(message, protocol.SyncUpdate):
            self._applying = True
            try:
                self.doc.apply_update(message.update)
            finally:
                self._applying = False
            if message.step2:
                self.synced.set()
        elif isinstance(message, protocol.AwarenessMessage):
            self.awareness.extend(protocol.decode_awareness(message.payload))
        self.changed.set()

    async def wait_until(self, predicate: Any, what: str, within: float = DEADLINE_SECONDS) -> None:
        async def poll() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await self.wait(poll(), what, within)

    def saved_covers_own(self) -> bool:
        """The server stored every edit this client made (others' edits are their own authors' to confirm)."""
        if not self.saved_vectors:
            return False
        own = protocol.decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)
        return self.saved_vectors[-1].get(self.doc.client_id, 0) >= own

    async def wait_saved(self, within: float = DEADLINE_SECONDS) -> None:
        await self.wait_until(self.saved_covers_own, "saved covering own state", within)

    async def wait_closed(self, within: float = DEADLINE_SECONDS) -> int | None:
        await self.wait(self.closed.wait(), "close", within)
        return self.close_code

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            await self._reader
