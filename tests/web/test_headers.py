"""Browser security headers on every HTTP response (web/headers.py), the policy's WebSocket source taken
from the Host only when it is a plain host name."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from web.headers import SecurityHeaders, content_security_policy

pytestmark = pytest.mark.unit


async def answered(scope: Scope, behind_https: bool = False) -> dict[bytes, bytes]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeaders(app, behind_https)(scope, receive, send)
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
    return dict(sent[0]["headers"])


def http(host: bytes = b"example.com:8000", scheme: str = "http") -> Scope:
    return {"type": "http", "scheme": scheme, "headers": [(b"host", host)]}


async def test_every_response_gets_the_headers() -> None:
    headers = await answered(http())
    assert headers[b"content-type"] == b"text/plain"
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"no-referrer"
    policy = headers[b"content-security-policy"]
    assert b"frame-ancestors 'none'" in policy and b"script-src 'self';" in policy
    assert b"connect-src 'self' ws://example.com:8000 wss://example.com:8000;" in policy
    assert b"strict-transport-security" not in headers


async def test_hsts_over_https_or_behind_a_proxy_that_terminates_it() -> None:
    assert b"strict-transport-security" in await answered(http(scheme="https"))
    assert b"strict-transport-security" in await answered(http(), behind_https=True)


@pytest.mark.parametrize(
    "host", [b"evil.example; script-src *", b"a b", b"x:99999999", b"", b"example.com/path"]
)
def test_a_host_that_is_not_a_host_name_adds_no_source(host: bytes) -> None:
    assert b"ws://" not in content_security_policy(host)


def test_ip_literals_are_host_names() -> None:
    assert b"ws://[::1]:8000 " in content_security_policy(b"[::1]:8000")
    assert b"ws://127.0.0.1 " in content_security_policy(b"127.0.0.1")
    assert b"ws://" not in content_security_policy(None)


async def test_websockets_pass_untouched() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        return None

    scope: Scope = {"type": "websocket", "headers": []}
    await SecurityHeaders(app, True)(scope, nothing, ignore)
    assert seen == [scope]
