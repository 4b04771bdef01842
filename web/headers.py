"""Browser security headers on every HTTP response: the page, the API, static files, errors, streams.

- `Content-Security-Policy`: scripts only from our own origin (the bundle; no inline script, no eval),
  connections only to ourselves (fetch, the event stream, and the WebSocket, named as ws(s) of the Host
  because browsers before CSP 3 do not count it as 'self'), no plugins, no `<base>`, and no framing by
  anyone (`frame-ancestors 'none'`; another site framed the Users page with its role selectors).
  Styles allow inline: CodeMirror puts its theme in a `<style>` element and y-codemirror colours the
  others' carets with `style` attributes; neither can run script.
- `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`, `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: no-referrer` (no record URL leaves the app in a Referer).
- `Strict-Transport-Security` when the server is reached over HTTPS, or behind a proxy that terminates
  TLS (`session_cookie_secure`).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# A Host that may be written into the policy: a name or an IP literal, and a port. Anything else (a
# header written to inject directives) leaves the WebSocket to 'self'.
_HOST = re.compile(rb"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_FIXED = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def content_security_policy(host: bytes | None) -> bytes:
    sockets = f" ws://{host.decode()} wss://{host.decode()}" if host and _HOST.match(host) else ""
    return _POLICY.format(sockets=sockets).encode()


class SecurityHeaders:
    def __init__(self, app: ASGIApp, behind_https: bool) -> None:
        self.app = app
        self.behind_https = behind_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        added = [(b"content-security-policy", content_security_policy(host)), *_FIXED]
        if self.behind_https or scope.get("scheme") == "https":
            added.append(_HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
