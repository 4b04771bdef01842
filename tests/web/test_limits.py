"""Request bodies measured before and while they are read (web/limits.py), and NUL refused before any
route sees it (web/input_guard.py): ASGI in and out, no server."""

from __future__ import annotations

import json

import pytest
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from web.input_guard import RejectNul, holds_nul
from web.limits import BodyLimit, is_json

pytestmark = pytest.mark.unit

LIMIT = 100


class Exchange:
    """One request through a middleware: the chunks the client sends, what comes back."""

    def __init__(self, *chunks: bytes, disconnect: bool = False) -> None:
        self.incoming: list[Message] = [
            {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
            for n, chunk in enumerate(chunks)
        ]
        if disconnect:
            self.incoming[-1]["more_body"] = True
            self.incoming.append({"type": "http.disconnect"})
        self.sent: list[Message] = []
        self.read = b""

    async def receive(self) -> Message:
        return self.incoming.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        status: int = self.sent[0]["status"]
        return status

    @property
    def error(self) -> str:
        error: str = json.loads(self.sent[1]["body"])["error"]
        return error

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A route that reads the whole body, then answers 200."""
        while True:
            message = await receive()
            self.read += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def scope(*headers: tuple[bytes, bytes], path: str = "/api/records", query: bytes = b"") -> Scope:
    return {"type": "http", "path": path, "query_string": query, "headers": list(headers)}


JSON = (b"content-type", b"application/json")


async def test_a_body_within_the_limit_reaches_the_route() -> None:
    exchange = Exchange(b"x" * 60, b"x" * 40)
    await BodyLimit(exchange.app, LIMIT)(
        scope(JSON, (b"content-length", b"100")), exchange.receive, exchange.send
    )
    assert exchange.status == 200 and len(exchange.read) == 100


async def test_a_declared_length_over_the_limit_is_answered_before_reading() -> None:
    exchange = Exchange(b"x" * 101)
    await BodyLimit(exchange.app, LIMIT)(
        scope(JSON, (b"content-length", b"101")), exchange.receive, exchange.send
    )
    assert (exchange.status, exchange.error, exchange.read) == (413, "too_large", b"")
    assert len(exchange.incoming) == 1, "not a byte was read"


async def test_a_chunked_body_is_stopped_at_the_limit() -> None:
    exchange = Exchange(b"x" * 60, b"x" * 60, b"x" * 60)
    chunked = (b"transfer-encoding", b"chunked")
    with pytest.raises(HTTPException):  # raised into the route; Starlette's handler answers it
        await BodyLimit(exchange.app, LIMIT)(scope(JSON, chunked), exchange.receive, exchange.send)
    assert len(exchange.incoming) == 1, "the rest was never read"


async def test_only_json_bodies_are_read() -> None:
    exchange = Exchange(b"a=1")
    form = (b"content-type", b"application/x-www-form-urlencoded")
    await BodyLimit(exchange.app, LIMIT)(
        scope(form, (b"content-length", b"3")), exchange.receive, exchange.send
    )
    assert (exchange.status, exchange.error) == (415, "unsupported_media_type")
    assert is_json(b"application/merge-patch+json; charset=utf-8") and is_json(b"Application/JSON")
    assert not is_json(b"text/plain") and not is_json(b"application/jsonp")


async def test_no_body_passes_whatever_its_type() -> None:
    exchange = Exchange(b"")
    await BodyLimit(exchange.app, LIMIT)(scope(), exchange.receive, exchange.send)
    assert exchange.status == 200


async def test_a_client_that_leaves_mid_body_gets_a_400_not_a_traceback() -> None:
    exchange = Exchange(b"x" * 10, disconnect=True)
    with pytest.raises(HTTPException) as raised:
        await BodyLimit(exchange.app, LIMIT)(
            scope(JSON, (b"content-length", b"50")), exchange.receive, exchange.send
        )
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    ("path", "query"), [("/api/re\x00cords", b""), ("/api/records", b"q=a%00b"), ("/", b"Q=%00")]
)
async def test_nul_in_the_path_or_query_is_refused(path: str, query: bytes) -> None:
    exchange = Exchange(b"")
    await RejectNul(exchange.app)(scope(path=path, query=query), exchange.receive, exchange.send)
    assert (exchange.status, exchange.error) == (400, "bad_request")


async def test_text_without_nul_passes() -> None:
    exchange = Exchange(b"")
    await RejectNul(exchange.app)(scope(query=b"q=100%25"), exchange.receive, exchange.send)
    assert exchange.status == 200


def test_nul_anywhere_in_a_json_value() -> None:
    assert holds_nul({"a": ["b", {"c\x00": 1}]}) and holds_nul("\x00")
    assert not holds_nul({"a": [1, None, True, "text"]})
