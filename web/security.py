"""Authentication of requests and WebSockets, and Origin checks.

The token comes from the session cookie, `Authorization: Bearer`, or a `token` query parameter (for
clients that cannot set headers). It is never logged.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.errors import NotAuthenticated
from auth.principal import Principal
from auth.sessions import authenticate
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


async def principal_of(connection: HTTPConnection) -> Principal:
    token, _ = token_of(connection)
    if token is None:
        raise NotAuthenticated("no session token")
    async with services(connection).database.session() as session:
        principal = await authenticate(session, token)
        await session.commit()
    return principal


def origin_allowed(connection: HTTPConnection) -> bool:
    """No Origin header (scripts, native clients) passes; a browser's Origin must be ours or allowed."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    host = connection.headers.get("host", "")
    scheme = "https" if connection.url.scheme in ("https", "wss") else "http"
    if origin == f"{scheme}://{host}":
        return True
    return origin in services(connection).settings.allowed_origins
