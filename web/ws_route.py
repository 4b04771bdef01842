"""The live endpoint `/ws/{record_id}`: accept, check Origin and session, then the use-case
(`collab.services.connections`: the record, the role, serving the connection).

A socket relayed by another node of the deployment (collab/cluster/relay.py) carries the principal that
node authenticated in a signed header instead of a session: its Origin, session and per-user cap were
checked there.

A refusal is a close with a 44xx code after accepting: a close before accepting reaches a browser as a
bare HTTP 403, and y-websocket would retry it forever. Its code and reason are `close_frame` of the error.

WebSockets bypass Starlette's router and middleware (`websocket_app` is dispatched to directly by the
app factory): every fanned-out frame would otherwise pass through their send wrappers, which cost more
CPU than the rest of the broadcast.
"""

from __future__ import annotations

import logging

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from auth.errors import AuthError, Forbidden
from collab.cluster.relay_auth import HEADER as RELAY_HEADER
from collab.errors import CollabError, RecordNotFound, close_frame
from collab.metrics import Metrics
from web.abuse_limits import abuse_limits
from web.access_log import response_headers
from web.channel import WebSocketChannel
from web.security import origin_allowed, principal_of
from web.services import services
from web.slots import TooManyOpen

log = logging.getLogger(__name__)

_PREFIX = "/ws/"
# What a refused socket's error says about retrying (a socket has no Retry-After; y-websocket stops at 44xx).
_SOCKET_RETRY_SECONDS = 10


async def websocket_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app for every WebSocket; `scope["app"]` must be the Starlette app (for its services)."""
    path: str = scope["path"]
    record_id = path[len(_PREFIX) :] if path.startswith(_PREFIX) else ""
    # On the server's scope itself, as Starlette's router does: a copy would live as long as the connection.
    scope["path_params"] = {"record_id": record_id}
    websocket = WebSocket(scope, receive, send)
    if not record_id or "/" in record_id:
        # Any other path is refused exactly like a record that does not exist.
        await websocket.accept(headers=response_headers())
        code, reason = close_frame(RecordNotFound(path))
        log.info("websocket refused with %d: no such path", code, extra={"event": "ws.refused", "code": code})
        await WebSocketChannel(websocket, send).close(code, reason)
        return
    await record_socket(websocket, send)


async def record_socket(websocket: WebSocket, send: Send) -> None:
    await websocket.accept(headers=response_headers())
    channel = WebSocketChannel(websocket, send)
    found = services(websocket)
    slot = None
    try:
        relay_header = websocket.headers.get(RELAY_HEADER)  # a credential: never logged
        if relay_header is not None:
            # Relayed by the node the client reached, which checked its Origin, session and caps already.
            principal = found.connections.relayed_principal(relay_header, websocket.path_params["record_id"])
        else:
            if not origin_allowed(websocket):
                raise Forbidden("origin not allowed")
            principal = await principal_of(websocket)
            # Taken before the next await and held until the connection ends, whichever way it ends: a
            # count read here and joined after the awaits below let concurrent connects pass the cap.
            slot = await abuse_limits(websocket).sockets.acquire(
                {principal.user_id: found.settings.max_connections_per_user}
            )
            if slot is None:
                raise TooManyOpen("too many connections", _SOCKET_RETRY_SECONDS)
        await found.connections.serve(
            principal,
            websocket.path_params["record_id"],
            channel,
            websocket.query_params.get("epoch"),  # absent: a client that keeps no copy across restores
            relayed=relay_header is not None,
        )
    except (AuthError, CollabError) as refused:  # raised before the connection joined its room
        code, reason = close_frame(refused)
        metrics: Metrics = websocket.app.state.metrics
        metrics.closes.labels(code=str(code)).inc()
        log.info(
            "websocket refused with %d: %s", code, reason,
            extra={"event": "ws.refused", "record": websocket.path_params["record_id"], "code": code},
        )  # fmt: skip
        await channel.close(code, reason)
    finally:
        if slot is not None:
            slot.release()
