"""Counts every HTTP request by route template, method and status, and times it: a pure ASGI middleware.

The route is the template Starlette matched (`/api/records/{record_id}`), never the raw path, so the
label has as many values as the server has routes; a path that matches none is `unmatched`. It sits
outside every other layer, so the 413s of the body limit and the 500s are counted too.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collab.metrics import Metrics

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics, route: str | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.route = route  # a fixed template, for an app that is a single route (the feed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before starting a response

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = self.route or route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.http_requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.http_seconds.labels(route=route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The template Starlette matched, read after the app ran; `unmatched` when none did."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"
