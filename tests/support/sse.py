"""A Server-Sent Events client for tests, on httpx: reads the feed event by event, under deadlines."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from tests.support.live_server import TLS


@dataclass(frozen=True)
class Event:
    type: str
    id: int | None
    data: dict[str, Any]


class FeedClient:
    def __init__(self, base_url: str, token: str, collection: str, last_event_id: int | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=httpx.Timeout(10, read=None), verify=TLS
        )
        self._collection = collection
        self._stream: Any = None
        self._lines: Any = None
        self.status = 0
        self.ended = False

    async def __aenter__(self) -> FeedClient:
        self._stream = self._http.stream("GET", "/api/events", params={"collection": self._collection})
        response = await self._stream.__aenter__()
        self.status = response.status_code
        self._lines = response.aiter_lines()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stream.__aexit__(exc_type, exc, tb)
        await self._http.aclose()

    async def next(self, within: float = 5.0) -> Event:
        """The next event; `EOFError` when the server ended the stream."""
        return await asyncio.wait_for(self._read_event(), within)

    async def _read_event(self) -> Event:
        fields: dict[str, str] = {}
        while True:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                self.ended = True
                raise EOFError("the server ended the stream") from None
            if line == "":
                if "data" in fields:
                    return Event(
                        fields.get("event", "message"),
                        int(fields["id"]) if "id" in fields else None,
                        json.loads(fields["data"]),
                    )
                fields = {}
                continue
            if line.startswith(":"):
                continue  # a heartbeat comment
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    async def collect(self, count: int, within: float = 5.0, types: tuple[str, ...] = ()) -> list[Event]:
        """The next `count` events (of `types`, when given), all within `within` seconds."""
        found: list[Event] = []
        async with asyncio.timeout(within):
            while len(found) < count:
                event = await self._read_event()
                if not types or event.type in types:
                    found.append(event)
        return found
