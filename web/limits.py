"""Request bodies: JSON only, and never more than `max_body_bytes`, checked before and while reading.

Starlette's `request.body()` reads a whole body before anyone can measure it: a 100 MB login body added
180 MB to the server before its 400. Here a declared `Content-Length` over the limit is answered 413
before a byte of the body is read, and a chunked body is counted as it arrives and stopped at the limit,
so no body larger than the limit is ever held, whatever route it was sent to.

Every route that reads a body reads JSON, so a body of another type is refused with 415 before reading;
the one exception is a CSV file posted to a collection's import (`text/csv`, up to `UPLOAD_BYTES`).
That also matters for CSRF: a page on another site can post `text/plain` or a form without a preflight,
but not `application/json`, so a cookie-authenticated change no longer rests on the Origin check alone.

The connection stays open after those answers: uvicorn reads the rest of the body and drops it (within
`http_body_timeout_seconds`, server/strangers.py), because closing a socket that still has unread data
resets it, and a client that is still sending (httpx, browsers) then loses the answer. A client that goes
away in the middle of its body ends the request with a 400 nobody receives, rather than a traceback.
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def is_json(content_type: bytes) -> bool:
    """`application/json`, or a JSON-based type such as `application/merge-patch+json`, any parameters."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


def is_csv_upload(path: str, content_type: bytes) -> bool:
    """A CSV file posted to `/api/collections/NAME/import`. Like JSON, `text/csv` is no type a page on
    another site can post without a CORS preflight."""
    return content_type.split(b";", 1)[0].strip().lower() == b"text/csv" and bool(_UPLOAD_PATH.match(path))


_UPLOAD_PATH = re.compile(r"^/api/collections/[^/]+/import$")
UPLOAD_BYTES = 20 * 1024 * 1024
Answer = tuple[Message, Message]


def _answer(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"error": code, "message": message}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


async def _send_answer(send: Send, answer: Answer) -> None:
    for message in answer:
        await send(message)


class BodyTooLarge(HTTPException):
    """Raised into the route that is reading the body; the middleware sends the 413 in its place."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = _answer(413, "too_large", f"request bodies are limited to {max_bytes} bytes")
        self.upload_too_large = _answer(
            413, "too_large", f"uploaded files are limited to {UPLOAD_BYTES} bytes"
        )
        self.not_json = _answer(
            415, "unsupported_media_type", "a request body must be JSON (Content-Type: application/json)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                # uvicorn's parser lets only digits through; anything else would be refused as too large.
                length = int(value) if value.isdigit() else -1
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                content_type = value
        upload = is_csv_upload(scope["path"], content_type)
        max_bytes, too_large = (
            (UPLOAD_BYTES, self.upload_too_large) if upload else (self.max_bytes, self.too_large)
        )
        if not chunked and not length:
            await self.app(scope, receive, send)  # no body: nothing to measure
        elif not upload and not is_json(content_type):
            await _send_answer(send, self.not_json)
        elif length is not None and not 0 <= length <= max_bytes:
            await _send_answer(send, too_large)
        else:
            await _Reading(self, receive, send, max_bytes, too_large).run(scope)


class _Reading:
    """One request whose body is counted while the application reads it."""

    def __init__(
        self, limit: BodyLimit, receive: Receive, send: Send, max_bytes: int, answer: Answer
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.answer = answer
        self.upstream_receive = receive
        self.upstream_send = send
        self.received = 0
        self.complete = False
        self.too_large = False

    async def run(self, scope: Scope) -> None:
        await self.limit.app(scope, self.receive, self.send)

    async def receive(self) -> Message:
        message = await self.upstream_receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.received > self.max_bytes:
                self.too_large = True
                raise BodyTooLarge(413, "request body too large")
        elif message["type"] == "http.disconnect" and not self.complete:
            # Starlette would raise ClientDisconnect, which no handler knows: a 500 and a traceback.
            raise HTTPException(400, "the client left before its request body was complete")
        return message

    async def send(self, message: Message) -> None:
        if not self.too_large:
            await self.upstream_send(message)
        elif message["type"] == "http.response.start":
            # Whatever the route made of the exception, the answer is ours.
            await _send_answer(self.upstream_send, self.answer)
