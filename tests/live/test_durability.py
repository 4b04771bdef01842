"""Nothing confirmed is ever lost: SIGKILL and SIGTERM while clients write, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import random
from collections.abc import Mapping

import pytest

from tests.support.live_server import LiveServer
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

WRITERS = 4
WRITER_FIELDS = [f"w{i}" for i in range(WRITERS)]
KILLS = 3
IN_FLIGHT_MAX = 200


class Writer:
    """A client that appends unique tokens to its own rich-text field and remembers which of them the server
    confirmed with "saved" (a field of the collection: keys that are no field are corrected away)."""

    def __init__(self, url: str, token: str, name: str) -> None:
        self.client = YClient(url, token)
        self.name = name
        self.tokens: list[str] = []
        self.clocks: list[int] = []  # this client's own clock once each token is written, ascending
        self.clock = 0

    @property
    def count(self) -> int:
        return len(self.tokens)

    def write_one(self) -> None:
        token = f"{self.name}-{self.count},"
        text = self.client.fields[self.name]
        text += token
        self.clock += len(token)  # one clock per character (ASCII) of this client's own inserts
        self.tokens.append(token.rstrip(","))
        self.clocks.append(self.clock)

    def confirmed(self) -> set[str]:
        return set(self.tokens[: self.confirmed_count()])

    def confirmed_count(self) -> int:
        """How many tokens are confirmed, without scanning them (checked on every message received)."""
        return bisect.bisect_right(self.clocks, self.client.saved_own)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.count - self.confirmed_count() >= IN_FLIGHT_MAX:
                # Writes are always in flight when the server dies, but never so many that a slow machine
                # spends the test draining a backlog instead of checking what was confirmed.
                await self._until_confirmed_more_or(stop)
                continue
            self.write_one()
            # Let the event loop deliver messages between writes; a burst of 5 keeps batches realistic.
            if self.count % 5 == 0:
                await asyncio.sleep(0.005)

    async def _until_confirmed_more_or(self, stop: asyncio.Event) -> None:
        self.client.changed.clear()
        waits = {asyncio.ensure_future(self.client.changed.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


def tokens_in(fields: Mapping[str, object]) -> set[str]:
    return {token for key in WRITER_FIELDS for token in str(fields.get(key) or "").split(",") if token}


async def durable_record(server: LiveServer, token: str, name: str) -> str:
    """A record of a collection with one rich-text field per writer."""
    async with server.client(token) as http:
        created = await http.post(
            "/api/collections",
            json={
                "name": "durable",
                "label": "Durable",
                "fields": [
                    {"key": "name", "label": "Name", "type": "text"},
                    *({"key": key, "label": key, "type": "richtext"} for key in WRITER_FIELDS),
                ],
            },
        )
        assert created.status_code in (201, 409), created.text
    return await server.create_record(
        token, {"name": name, **dict.fromkeys(WRITER_FIELDS, "")}, collection="durable"
    )


async def stored_fields(server: LiveServer, token: str, record: str) -> dict[str, object]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}")
        response.raise_for_status()
        fields: dict[str, object] = response.json()["fields"]
        return fields


@pytest.mark.server_process  # SIGKILL while clients write
async def test_sigkill_loses_nothing_confirmed(live_server: ServerProcess, admin_token: str) -> None:
    record = await durable_record(live_server, admin_token, "Durable")
    rng = random.Random(7)
    writers = [Writer(f"{live_server.ws_url}/{record}", admin_token, key) for key in WRITER_FIELDS]
    for writer in writers:
        await writer.client.connect()
    for _ in range(KILLS):
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in writers]
        await write_until_confirmed_while(writers, rng.randint(20, 60))
        await live_server.kill()  # mid-flight: the writers are still writing
        stop.set()
        await asyncio.gather(*tasks)
        confirmed = set().union(*(w.confirmed() for w in writers))
        await live_server.start()
        stored = await stored_fields(live_server, admin_token, record)  # before anyone reconnects
        lost = confirmed - tokens_in(stored)
        assert not lost, f"{len(lost)} confirmed updates lost"
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.client.close()
            await writer.client.connect()  # same address: the server came back on its port
    expected = {token for w in writers for token in w.tokens}
    for writer in writers:
        await writer.client.wait_saved()
        await writer.client.wait_until(
            lambda w=writer: tokens_in(w.client.fields.to_py()) >= expected, "convergence"
        )
    stored = await stored_fields(live_server, admin_token, record)
    assert tokens_in(stored) == expected
    for writer in writers:
        assert writer.client.fields.to_py() == writers[0].client.fields.to_py()
        await writer.client.close()


async def write_until_confirmed_while(writers: list[Writer], minimum: int) -> None:
    """Wait (writers already running) until each writer has at least `minimum` new confirmed keys."""
    start = [w.confirmed_count() for w in writers]
    async with asyncio.timeout(30):
        for writer, base in zip(writers, start, strict=True):
            await writer.client.wait_until(
                lambda w=writer, b=base: w.confirmed_count() >= b + minimum, "confirms", within=30
            )


@pytest.mark.server_process  # SIGTERM while clients write
async def test_sigterm_with_writes_in_flight_loses_nothing(
    live_server: ServerProcess, admin_token: str
) -> None:
    record = await durable_record(live_server, admin_token, "Graceful")
    url = f"{live_server.ws_url}/{record}"
    writers = [Writer(url, admin_token, key) for key in WRITER_FIELDS]
    observer = await YClient(url, admin_token).connect()
    for writer in writers:
        await writer.client.connect()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in writers]
    await write_until_confirmed_while(writers, 30)
    code = await live_server.terminate()
    stop.set()
    await asyncio.gather(*tasks)
    # uvicorn re-raises the SIGTERM it caught once its graceful shutdown is done.
    assert code in (0, -15)
    assert "all accepted updates are stored" in live_server.log_tail()
    accepted = tokens_in(observer.fields.to_py())  # everything the server applied and broadcast
    confirmed = set().union(*(w.confirmed() for w in writers))
    await live_server.start()
    stored = await stored_fields(live_server, admin_token, record)
    assert not (accepted | confirmed) - tokens_in(stored)
    for client in [observer, *(w.client for w in writers)]:
        with contextlib.suppress(Exception):
            await client.close()
