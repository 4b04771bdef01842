"""Nothing confirmed is ever lost: SIGKILL and SIGTERM while clients write, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import random

from tests.support.live_server import LiveServer
from tests.support.yclient import YClient

WRITERS = 4
KILLS = 3
IN_FLIGHT_MAX = 200


class Writer:
    """A client that writes unique keys and remembers which of them the server confirmed with "saved"."""

    def __init__(self, url: str, token: str, name: str) -> None:
        self.client = YClient(url, token)
        self.name = name
        self.clock_of: dict[str, int] = {}
        self.count = 0

    def write_one(self) -> None:
        key = f"{self.name}-{self.count}"
        self.count += 1
        self.client.fields[key] = self.count
        self.clock_of[key] = self.count  # each map set is one more clock tick of this client

    def confirmed(self) -> set[str]:
        stored = self.client.saved_own
        return {key for key, clock in self.clock_of.items() if clock <= stored}

    def confirmed_count(self) -> int:
        """How many keys are confirmed, without scanning them: the clocks of the keys are 1, 2, … count.
        It is checked on every message the writer receives, and the keys grow into the thousands."""
        return min(self.client.saved_own, self.count)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.count - self.client.saved_own >= IN_FLIGHT_MAX:
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


async def stored_fields(server: LiveServer, token: str, record: str) -> dict[str, object]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}")
        response.raise_for_status()
        fields: dict[str, object] = response.json()["fields"]
        return fields


async def test_sigkill_loses_nothing_confirmed(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Durable"})
    rng = random.Random(7)
    writers = [Writer(f"{live_server.ws_url}/{record}", admin_token, f"w{i}") for i in range(WRITERS)]
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
        lost = confirmed - stored.keys()
        assert not lost, f"{len(lost)} confirmed updates lost"
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.client.close()
            await writer.client.connect()  # same address: the server came back on its port
    expected = {key for w in writers for key in w.clock_of} | {"name"}
    for writer in writers:
        await writer.client.wait_saved()
        await writer.client.wait_until(
            lambda w=writer: set(w.client.fields.keys()) >= expected, "convergence"
        )
    stored = await stored_fields(live_server, admin_token, record)
    assert set(stored) == expected
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


async def test_sigterm_with_writes_in_flight_loses_nothing(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Graceful"})
    url = f"{live_server.ws_url}/{record}"
    writers = [Writer(url, admin_token, f"w{i}") for i in range(WRITERS)]
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
    accepted = set(observer.fields.keys())  # everything the server applied and broadcast
    confirmed = set().union(*(w.confirmed() for w in writers))
    await live_server.start()
    stored = await stored_fields(live_server, admin_token, record)
    assert not (accepted | confirmed) - stored.keys()
    for client in [observer, *(w.client for w in writers)]:
        with contextlib.suppress(Exception):
            await client.close()
