"""A request id for every request, on every log line logged while handling it, and one access line each.

The id is the caller's `X-Request-ID` when it is sane (so a proxy's id ties its log to ours), else a new
one; either way it is returned in the response's `X-Request-ID`. It lives in a context variable that the
logging filter of `server/logs.py` reads, so lines logged deep inside a use-case carry it without being
passed it. The access line (route template, status, duration, user and tenant) is written only for the
JSON log format: in the text format uvicorn's own access line already says it.

WebSockets get the id too, but their frames are never wrapped: only the scope is looked at, once.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.principal import Principal
from web.http_metrics import route_template

log = logging.getLogger("collab.access")

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(slots=True)
class RequestContext:
    """What the log knows about the request being handled; filled in as the request goes on."""

    request_id: str
    user: str | None = None
    tenant: str | None = None


CURRENT: ContextVar[RequestContext | None] = ContextVar("collab_request", default=None)


def request_id_of(scope: Scope) -> str:
    """The caller's id when it is one we can log as it is; a new random one otherwise."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            given = value.decode("latin-1")
            if _SANE.fullmatch(given):
                return given
            break
    return secrets.token_hex(16)


def note_principal(principal: Principal) -> None:
    """Called where a request is authenticated: its user and tenant ids (never its token) join its lines."""
    context = CURRENT.get()
    if context is not None:
        context.user, context.tenant = principal.user_id, principal.tenant_id


class AccessLog:
    """Outermost layer: sets the request's context, echoes its id, and (JSON logs) writes its access line."""

    def __init__(self, app: ASGIApp, write_lines: bool, route: str | None = None) -> None:
        self.app = app
        self.write_lines = write_lines
        self.route = route  # a fixed template, for an app that is a single route (the feed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id_of(scope))
        token = CURRENT.set(context)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)  # its frames pass untouched (web/ws_route.py)
            else:
                await self._http(scope, receive, send, context)
        finally:
            CURRENT.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, context: RequestContext) -> None:
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting a response
        echoed = context.request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, echoed)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.write_lines:
                route = self.route or route_template(scope)
                duration_ms = round((time.perf_counter() - started) * 1000, 3)
                log.info(
                    "%s %s %d %.1f ms", scope["method"], route, status, duration_ms,
                    extra={"event": "http", "method": scope["method"], "route": route, "status": status,
                           "duration_ms": duration_ms},
                )  # fmt: skip


def response_headers() -> list[tuple[bytes, bytes]]:
    """The id header for a WebSocket's accept, so its caller learns the id as an HTTP caller does."""
    context = CURRENT.get()
    return [] if context is None else [(HEADER, context.request_id.encode("latin-1"))]
