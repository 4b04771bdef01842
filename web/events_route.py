"""`GET /api/events?collection=NAME`: the collection's change feed as Server-Sent Events.

`feed_app` serves it straight from the app factory, past Starlette's router and middleware (as WebSockets
are): their frames would stay on the stack of every open stream, a quarter of an idle stream's memory.

A client that reconnects with `Last-Event-ID` (or `?last_event_id=` from a shell) gets exactly what it
missed, in order, once, then the live stream; an id the server no longer keeps gets a `reset` event
(reload the list). `presence` events (not stored, no id) say who is on which record right now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from auth.principal import Principal
from collab.changefeed.events import FeedEvent, feed_event
from collab.changefeed.feed import Subscriber, describe
from collab.live.room import Room
from collab.records import records
from persistence import events
from web.abuse_limits import abuse_limits
from web.errors import BadRequest, handle_error
from web.security import principal_of
from web.services import Services, services
from web.slots import Slot, TooManyOpen
from web.sse_frames import SSE
from web.sse_stream import SseStream

FEED_PATH = "/api/events"
_BACKLOG_PAGE = 500
# What a refused stream's Retry-After says: a stream ends when its page closes, no time says when.
_STREAM_RETRY_SECONDS = 10


def presence_of(room: Room) -> dict[str, Any]:
    users = room.presence()
    return {
        "record": room.record_id,
        "count": len(users),
        "users": [{"id": u["id"], "name": u["name"]} for u in users],
    }


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
    slot = abuse_limits(request).streams.take(
        {
            f"user:{principal.user_id}": found.settings.max_streams_per_user,
            f"session:{principal.session_id}": found.settings.max_streams_per_session,
        }
    )
    if slot is None:
        raise TooManyOpen("too many open event streams", _STREAM_RETRY_SECONDS)
    try:
        return await _subscribed(request, found, principal, slot)
    except BaseException:
        slot.release()
        raise


async def _subscribed(request: Request, found: Services, principal: Principal, slot: Slot) -> Response:
    name = request.query_params.get("collection")
    if not name:
        raise BadRequest("the collection parameter is required")
    last_id = _last_event_id(request)
    async with found.database.session() as session:
        collection = await records.find_collection(session, principal, name)
    subscriber = Subscriber(principal.tenant_id, collection.id, principal.session_id)
    # Subscribed before the backlog is read, so nothing published meanwhile falls between the two.
    found.feed.subscribe(subscriber)
    try:
        sent = await _newest(found) if last_id is None else last_id
    except BaseException:
        found.feed.unsubscribe(subscriber)
        raise

    def finished() -> None:
        found.feed.unsubscribe(subscriber)
        slot.release()

    return SseStream(subscriber, sent, _opening(found, subscriber, last_id), finished)


async def _opening(found: Services, subscriber: Subscriber, last_id: int | None) -> AsyncIterator[FeedEvent]:
    """What a stream starts with: the events a resuming client missed, then who is on which record."""
    if last_id is not None:
        async for missed in _backlog(found, subscriber, last_id):
            yield missed
    for room in list(found.registry.rooms.values()):
        same_list = (room.tenant_id, room.collection_id) == (subscriber.tenant_id, subscriber.collection_id)
        if same_list and room.connections:
            yield feed_event(SSE, None, "presence", presence_of(room))


async def _newest(found: Services) -> int:
    async with found.database.session() as session:
        return await events.newest_id(session)


async def _backlog(found: Services, subscriber: Subscriber, last_id: int) -> AsyncIterator[FeedEvent]:
    async with found.database.session() as session:
        oldest = await events.oldest_id(session, subscriber.tenant_id)
        newest = await events.newest_id(session)
    if last_id > newest or (oldest is not None and last_id < oldest - 1):
        # Older than what is kept (or from another database): the client must reload its list.
        yield feed_event(
            SSE, None, "reset", {"reason": "the events after this id are no longer kept", "newest": newest}
        )
        return
    while True:
        async with found.database.session() as session:
            rows = await events.after(
                session, subscriber.tenant_id, subscriber.collection_id, last_id, _BACKLOG_PAGE
            )
            payloads = await describe(session, rows)
        for row, payload in zip(rows, payloads, strict=True):
            yield feed_event(SSE, row.id, row.type, payload)
            last_id = row.id
        if len(rows) < _BACKLOG_PAGE:
            return
