"""The live endpoint `/ws/{record_id}`: accept, check Origin and session and record, then serve.

A refusal is a close with a 44xx code after accepting: a close before accepting reaches a browser as a
bare HTTP 403, and y-websocket would retry it forever.

WebSockets bypass Starlette's router and middleware (`websocket_app` is dispatched to directly by the
app factory): every fanned-out frame would otherwise pass through their send wrappers, which cost more
CPU than the rest of the broadcast.
"""

from __future__ import annotations

import logging

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from auth.errors import NotAuthenticated
from auth.throttle import TooManyAttempts
from collab import close_codes
from collab.errors import RecordNotFound
from collab.live.serving import serve_connection
from collab.records import records
from web.abuse_limits import abuse_limits
from web.channel import WebSocketChannel
from web.security import origin_allowed, principal_of
from web.services import services

log = logging.getLogger(__name__)


_PREFIX = "/ws/"


async def websocket_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app for every WebSocket; `scope["app"]` must be the Starlette app (for its services)."""
    path: str = scope["path"]
    record_id = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
    websocket = WebSocket({**scope, "path_params": {"record_id": record_id}}, receive, send)
    if not record_id or "/" in record_id:
        # Any other path is refused exactly like a record that does not exist.
        await websocket.accept()
        await WebSocketChannel(websocket, send).close(close_codes.NOT_FOUND, "no such record")
        return
    await record_socket(websocket, send)


async def record_socket(websocket: WebSocket, send: Send) -> None:
    await websocket.accept()
    channel = WebSocketChannel(websocket, send)
    if not origin_allowed(websocket):
        await channel.close(close_codes.FORBIDDEN, "origin not allowed")
        return
    try:
        principal = await principal_of(websocket)
    except NotAuthenticated:
        await channel.close(close_codes.NOT_AUTHENTICATED, "not authenticated")
        return
    except TooManyAttempts:
        await channel.close(close_codes.RATE_LIMITED, "too many requests")
        return
    found = services(websocket)
    # Taken before the next await and held until the connection ends, whichever way it ends: a count
    # read here and joined after the awaits below let concurrent connects pass the cap.
    slot = abuse_limits(websocket).sockets.take({principal.user_id: found.settings.max_connections_per_user})
    if slot is None:
        await channel.close(close_codes.RATE_LIMITED, "too many connections")
        return
    try:
        record_id = websocket.path_params["record_id"]
        try:
            async with found.database.session() as session:
                await records.find_record(session, principal, record_id)
        except RecordNotFound:
            await channel.close(close_codes.NOT_FOUND, "no such record")
            return
        await serve_connection(found.registry, channel, principal, record_id, found.settings)
    finally:
        slot.release()
