"""`GET /api/events?collection=NAME`: the collection's change feed as Server-Sent Events.

`feed_app` serves it straight from the app factory, past Starlette's router and middleware (as WebSockets
are): their frames would stay on the stack of every open stream, a quarter of an idle stream's memory.

A client that reconnects with `Last-Event-ID` (or `?last_event_id=` from a shell) gets exactly what it
missed, in order, once, then the live stream; an id the server no longer keeps gets a `reset` event
(reload the list). `presence` events (not stored, no id) say who is on which record right now. The
use-case is `collab.services.streams.Streams`; this route parses, holds the caller's stream slot, renders.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from web.abuse_limits import abuse_limits
from web.errors import BadRequest, handle_error
from web.security import principal_of
from web.services import services
from web.slots import TooManyOpen
from web.sse_stream import SseStream

FEED_PATH = "/api/events"
# What a refused stream's Retry-After says: a stream ends when its page closes, no time says when.
_STREAM_RETRY_SECONDS = 10


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("Last-Event-ID must be an event id") from None
    if value < 0:
        raise BadRequest("Last-Event-ID must be an event id")
    return value


async def feed_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app for `/api/events`; `scope["app"]` must be the Starlette app (for its services)."""
    request = Request(scope, receive)
    try:
        if request.method != "GET":
            raise HTTPException(405)
        response = await event_stream(request)
    except Exception as exc:
        response = await handle_error(request, exc)  # the same answers as every other route
    await response(scope, receive, send)


async def event_stream(request: Request) -> Response:
    principal = await principal_of(request)
    found = services(request)
    # Taken before the next await, held until the stream ends (or the request fails before it starts).
    slot = await abuse_limits(request).streams.acquire(
        {
            f"user:{principal.user_id}": found.settings.max_streams_per_user,
            f"session:{principal.session_id}": found.settings.max_streams_per_session,
        }
    )
    if slot is None:
        raise TooManyOpen("too many open event streams", _STREAM_RETRY_SECONDS)
    try:
        name = request.query_params.get("collection")
        if not name:
            raise BadRequest("the collection parameter is required")
        stream = await found.streams.open(principal, name, _last_event_id(request))
    except BaseException:
        slot.release()
        raise

    def finished() -> None:
        stream.close()
        slot.release()

    return SseStream(stream.subscriber, stream.sent, stream.opening, finished)
