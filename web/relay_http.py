"""Forwarding an HTTP use-case to the node that owns its record (several nodes).

A record's room lives on its owner only (collab/cluster/ownership.py). A write that must run in that room
(a PATCH, a snapshot restore, a value put back) reaching another node is authenticated and authorised there
as always; when its use-case finds the record owned elsewhere (`OwnedElsewhere`, with the owner's internal
address), the same request (method, path and query, body, If-Match) is sent to the owner with the relay
header (collab/cluster/relay_auth.py, signed for the method and path), and the owner's answer (status,
JSON, ETag) is returned unchanged. Nothing goes over the bus: it works while Redis is down.

The owner takes the principal from the header (web/security.py) and acts as it. A node that does not own
the record (any more) answers a forwarded request 503 with `X-Collab-Not-Owner` and never forwards it on;
the edge then runs the use-case once more (it claims the record: it may own it now, or forward to the new
owner), and after that answers 503 with Retry-After.

A use-case that needs no room but acts on the room's clients (a delete closes their sockets) asks first who
owns the record (`forwarded_to_owner`, without claiming it) and is forwarded there the same way; it runs
where it arrived when no node owns the record or the owner cannot be reached (its sockets elsewhere are then
closed through the bus only).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.principal import Principal
from collab.cluster.errors import OwnedElsewhere
from collab.cluster.ownership import Ownership
from collab.cluster.relay import Relay
from collab.cluster.relay_auth import HEADER as RELAY_HEADER
from collab.cluster.relay_auth import http_target
from web.security import principal_of

log = logging.getLogger(__name__)

NOT_OWNER_HEADER: Final = "x-collab-not-owner"
_ATTEMPTS = 2
# A forwarded use-case answers once its edit is stored: as long as the same request would take here.
_TIMEOUT_SECONDS = 30.0
_RETRY_AFTER_SECONDS = "1"
_REQUEST_HEADERS = ("content-type", "if-match", "if-none-match", "accept")
_RESPONSE_HEADERS = ("content-type", "etag", "retry-after", "location", "cache-control")

Endpoint = Callable[[Request], Awaitable[Response]]


class Forwarder:
    """One HTTP client to the other nodes; an async context manager entered in the lifespan."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._client = httpx.AsyncClient(timeout=_TIMEOUT_SECONDS, follow_redirects=False)

    async def __aenter__(self) -> Forwarder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def forward(self, request: Request, principal: Principal, address: str) -> Response | None:
        """The owner's answer to the same request; None when it could not be reached or does not own the
        record (any more)."""
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {name: value for name in _REQUEST_HEADERS if (value := request.headers.get(name))}
        headers[RELAY_HEADER] = self._relay.sign(principal, http_target(request.method, path))
        try:
            answer = await self._client.request(
                request.method, f"http://{address}{path}", content=await request.body(), headers=headers
            )
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
            log.warning("forwarding %s %s to its owner %s failed: %s", request.method, path, address, failure)
            return None
        if answer.headers.get(NOT_OWNER_HEADER):
            return None
        kept = {name: value for name in _RESPONSE_HEADERS if (value := answer.headers.get(name))}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


def forwarded(endpoint: Endpoint) -> Endpoint:
    """`endpoint`, run on the record's owner when its use-case finds the record owned by another node."""

    @functools.wraps(endpoint)
    async def forwarding(request: Request) -> Response:
        relayed = RELAY_HEADER in request.headers
        for _ in range(_ATTEMPTS):
            try:
                return await endpoint(request)
            except OwnedElsewhere as elsewhere:
                forwarder: Forwarder | None = getattr(request.app.state, "forwarder", None)
                principal: Principal | None = getattr(request.state, "principal", None)
                if relayed or elsewhere.address is None or forwarder is None or principal is None:
                    return _unavailable(str(elsewhere), not_owner=relayed)
                answer = await forwarder.forward(request, principal, elsewhere.address)
                if answer is not None:
                    return answer
        return _unavailable("the record's owner could not be reached: try again", not_owner=False)

    return forwarding


def forwarded_to_owner(endpoint: Endpoint) -> Endpoint:
    """`endpoint` (a use-case that needs no room, such as a delete, but acts on the room's clients) run on
    the record's owner when another node owns it; here when none does or the owner cannot be reached."""

    @functools.wraps(endpoint)
    async def forwarding(request: Request) -> Response:
        forwarder: Forwarder | None = getattr(request.app.state, "forwarder", None)
        ownership: Ownership | None = getattr(request.app.state, "ownership", None)
        if RELAY_HEADER not in request.headers and forwarder is not None and ownership is not None:
            address = await ownership.elsewhere(request.path_params["record_id"])
            if address is not None:
                answer = await forwarder.forward(request, await principal_of(request), address)
                if answer is not None:
                    return answer
        return await endpoint(request)

    return forwarding


def _unavailable(message: str, *, not_owner: bool) -> Response:
    headers = {"Retry-After": _RETRY_AFTER_SECONDS}
    if not_owner:
        headers[NOT_OWNER_HEADER] = "1"
    return JSONResponse({"error": "unavailable", "message": message}, status_code=503, headers=headers)
