"""Adapts a Starlette WebSocket to the room's `Channel`."""

from __future__ import annotations

from starlette.types import Send
from starlette.websockets import WebSocket, WebSocketState

from collab.errors import MalformedMessage
from collab.live.channel import ChannelClosed


class WebSocketChannel:
    def __init__(self, websocket: WebSocket, send: Send) -> None:
        self._websocket = websocket
        # The server's own ASGI send: frames skip Starlette's state bookkeeping, which `accept` and
        # `close` still go through.
        self._send = send
        self._closed = False

    async def send(self, message: bytes) -> None:
        # Completes without suspending while uvicorn's transport is not paused: the connection then sends
        # in the enqueuing task (collab/live/connection.py); a paused one waits for `resume_writing`.
        await self._send({"type": "websocket.send", "bytes": message})

    async def recv(self) -> bytes:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code")
            raise ChannelClosed(code if isinstance(code, int) else None)
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        raise MalformedMessage("text frames are not part of the protocol")

    async def close(self, code: int, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        if self._websocket.application_state == WebSocketState.CONNECTED:
            await self._websocket.close(code, reason)
