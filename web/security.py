"""Authentication of requests and WebSockets, and Origin checks.

The token comes from the session cookie, `Authorization: Bearer`, or a `token` query parameter (for
clients that cannot set headers). It is never logged.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.errors import Forbidden, NotAuthenticated
from auth.principal import Principal
from collab.cluster.relay_auth import HEADER as RELAY_HEADER
from collab.cluster.relay_auth import http_target
from web.abuse_limits import abuse_limits
from web.access_log import note_principal
from web.rate_limits import kind_of
from web.services import services

SESSION_COOKIE = "collab_session"


def token_of(connection: HTTPConnection) -> tuple[str | None, bool]:
    """The caller's token, and whether it came from the cookie (which is what CSRF can abuse)."""
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    query_token = connection.query_params.get("token")
    if query_token:
        return query_token, False
    cookie = connection.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def principal_of(connection: HTTPConnection) -> Principal:
    """The authenticated caller. A change authenticated by the cookie alone must come from an allowed
    Origin: that is what keeps another site's page from acting with the user's cookie. Raises
    `RateLimited` (a `TooManyAttempts`: 429) when the caller is over the budget of this kind of request.
    A request forwarded by the node the client reached (web/relay_http.py) is the principal in its signed
    relay header: that node checked the session, Origin and budget. Kept as `state.principal`."""
    relay_header = connection.headers.get(RELAY_HEADER)  # a credential: never logged
    if relay_header is not None and connection.scope["type"] == "http":
        path = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
        target = http_target(connection.scope["method"], path)
        relayed = services(connection).connections.relayed_principal(relay_header, target)
        note_principal(relayed)
        connection.state.principal = relayed
        return relayed
    token, from_cookie = token_of(connection)
    if token is None:
        raise NotAuthenticated("no session token")
    method = connection.scope.get("method")
    if (
        from_cookie
        and method is not None
        and method not in _SAFE_METHODS
        and not cookie_origin_allowed(connection)
    ):
        raise Forbidden("this origin may not make changes")
    # Also scopes the rest of this request's task to the principal's tenant: on PostgreSQL its transactions
    # then see only that tenant's rows, whatever a query forgets (row-level security, docs/architecture.md).
    principal = await services(connection).sessions.authenticate(token)
    note_principal(principal)  # its user and tenant ids join the request's log lines
    # Every authenticated request passes here once: the one place its user's budget is charged.
    await abuse_limits(connection).requests.spend(principal.user_id, kind_of(connection))
    connection.state.principal = principal
    return principal


def cookie_origin_allowed(connection: HTTPConnection) -> bool:
    # Browsers send Origin with every cross-site and same-site change request; without one, a cookie
    # change is only accepted when the Referer shows the same origin.
    if connection.headers.get("origin") is not None:
        return origin_allowed(connection)
    referer = connection.headers.get("referer")
    return referer is not None and _origin_of(referer) in _own_and_allowed(connection)


def _origin_of(url: str) -> str:
    parts = url.split("/")
    return "/".join(parts[:3]) if len(parts) >= 3 else url


def _own_and_allowed(connection: HTTPConnection) -> set[str]:
    host = connection.headers.get("host", "")
    scheme = "https" if connection.url.scheme in ("https", "wss") else "http"
    return {f"{scheme}://{host}", *services(connection).settings.allowed_origins}


def origin_allowed(connection: HTTPConnection) -> bool:
    """No Origin header (scripts, native clients) passes; a browser's Origin must be ours or allowed."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    return origin.rstrip("/") in _own_and_allowed(connection)
