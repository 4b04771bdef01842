"""A rolling restart through the balancer: SIGTERM one node while clients edit; they move to the other node,
nothing acknowledged is lost and nothing is duplicated; the node comes back and takes new clients."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from pathlib import Path

import pytest
import websockets

from tests.support.cluster import running_cluster
from tests.support.live_server import SECRETS_SEEN
from tests.support.nodes import POSTGRES_ONLY, cluster_env
from tests.support.polling import poll_until
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]

RECORDS = 2
WRITERS_PER_RECORD = 3
FIELDS = [f"w{n}" for n in range(WRITERS_PER_RECORD)]
DRAIN_SECONDS = 3.0  # as docker-compose.yml: HAProxy (1 s checks, 2 failures) takes the node out first
IN_FLIGHT_MAX = 50
RECONNECT_WITHIN = 20.0


class Writer:
    """A client that appends unique tokens to its own rich-text field through the balancer, reconnects
    (through the balancer) whenever its socket closes, and knows which tokens the server confirmed."""

    def __init__(self, url: str, token: str, field: str, name: str) -> None:
        self.client = YClient(url, token)
        self.field = field
        self.name = name
        self.tokens: list[str] = []
        self.clocks: list[int] = []  # this client's own clock once each token is written, ascending
        self.clock = 0
        self.reconnects = 0
        self.close_codes: list[int | None] = []  # how each socket ended before a reconnect

    def write_one(self) -> None:
        token = f"{self.name}-{len(self.tokens)},"
        text = self.client.fields[self.field]
        text += token
        self.clock += len(token)  # one clock per (ASCII) character of this client's own inserts
        self.tokens.append(token.rstrip(","))
        self.clocks.append(self.clock)

    def confirmed_count(self) -> int:
        return bisect.bisect_right(self.clocks, self.client.saved_own)

    def confirmed(self) -> list[str]:
        return self.tokens[: self.confirmed_count()]

    async def reconnect(self) -> None:
        """Through the balancer again, under a deadline: a node on its way out may refuse for a moment."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECONNECT_WITHIN
        while True:
            with contextlib.suppress(Exception):
                await self.client.close()
            try:
                await self.client.connect()
                self.reconnects += 1
                return
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)  # a retry interval, not a synchronisation

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.client.closed.is_set():
                self.close_codes.append(self.client.close_code)
                await self.reconnect()
                continue
            if len(self.tokens) - self.confirmed_count() >= IN_FLIGHT_MAX:
                await self._until_changed_or(stop)
                continue
            self.write_one()
            await asyncio.sleep(0.02)  # a typist's pace: ~50 edits/s per writer, 300/s in all

    async def _until_changed_or(self, stop: asyncio.Event) -> None:
        self.client.changed.clear()
        waits = {
            asyncio.ensure_future(self.client.changed.wait()),
            asyncio.ensure_future(self.client.closed.wait()),
            asyncio.ensure_future(stop.wait()),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()


def tokens_of(fields: dict[str, object]) -> list[str]:
    """Every token in the record's writer fields, duplicates kept."""
    return [token for key in FIELDS for token in str(fields.get(key) or "").split(",") if token]


async def until_each_confirms_more(writers: list[Writer], than: dict[Writer, int], what: str) -> None:
    async def counts() -> list[int]:
        return [writer.confirmed_count() - than.get(writer, 0) for writer in writers]

    await poll_until(counts, lambda gained: min(gained) >= 5, what, within=30.0)


async def test_a_rolling_restart_through_the_balancer_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    env = cluster_env(COLLAB_SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS))
    async with running_cluster(database_url, tmp_path, env=env) as cluster:
        balancer = cluster.balancer
        await balancer.wait_states({"node1": "UP", "node2": "UP"})
        token = await cluster.nodes[0].login()
        SECRETS_SEEN.add(token)
        async with cluster.client(token) as http:
            created = await http.post(
                "/api/collections",
                json={
                    "name": "rolling",
                    "label": "Rolling",
                    "fields": [{"key": key, "label": key, "type": "richtext"} for key in FIELDS],
                },
            )
            assert created.status_code == 201, created.text
            records = []
            for _ in range(RECORDS):
                made = await http.post(
                    "/api/records", json={"collection": "rolling", "fields": dict.fromkeys(FIELDS, "")}
                )
                assert made.status_code == 201, made.text
                records.append(made.json()["id"])
        writers = [
            Writer(f"{balancer.ws_url}/{record}", token, field, f"r{r}{field}")
            for r, record in enumerate(records)
            for field in FIELDS
        ]
        for writer in writers:
            await writer.client.connect()
        # leastconn spreads them: the node going away has clients of its own to hand over.
        sessions = await balancer.current_sessions()
        assert sessions["node1"] > 0 and sessions["node2"] > 0, sessions
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer.run(stop)) for writer in writers]
        try:
            await until_each_confirms_more(writers, {}, "every writer confirmed before the restart")

            # SIGTERM: /readyz 503 at once, HAProxy takes the node out, its sockets close (1012) after
            # it stored what it accepted, and its clients reconnect through the balancer to node2.
            leaving = cluster.nodes[0]
            terminated = asyncio.create_task(leaving.terminate(within=60.0))
            await balancer.wait_states({"node1": "DOWN"}, within=DRAIN_SECONDS + 10)
            assert await terminated == 0
            before = {writer: writer.confirmed_count() for writer in writers}
            await until_each_confirms_more(writers, before, "every writer confirmed on the other node")
            # Told to reconnect (1012, "server restarting"), never dropped (1006) nor failed (1011).
            codes = [code for writer in writers for code in writer.close_codes]
            assert codes and set(codes) == {1012}, codes

            # The node comes back on its port; HAProxy's checks see it up; new clients reach it.
            await leaving.start()
            await balancer.wait_states({"node1": "UP", "node2": "UP"})
            async with cluster.client() as http:
                assert (await http.get("/readyz")).status_code == 200
            newcomers = [await YClient(f"{balancer.ws_url}/{record}", token).connect() for record in records]
            sessions = await balancer.current_sessions()
            assert sessions["node1"] >= len(newcomers), sessions  # leastconn: the empty node takes them
            before = {writer: writer.confirmed_count() for writer in writers}
            await until_each_confirms_more(writers, before, "every writer confirmed after the node returned")
        finally:
            stop.set()
            await asyncio.gather(*tasks)

        # Everything each writer wrote is confirmed in the end, and every client holds the same record.
        for writer in writers:
            if writer.client.closed.is_set():
                await writer.reconnect()
            await writer.client.wait_saved(within=30.0)
        for newcomer, record in zip(newcomers, records, strict=True):
            mine = [w for w in writers if w.client.url.split("?")[0].endswith(record)]
            expected = {t for w in mine for t in w.tokens}
            await newcomer.wait_until(
                lambda n=newcomer, e=expected: set(tokens_of(n.fields.to_py())) >= e,
                "the newcomer on the returned node converging",
                within=30.0,
            )
            await newcomer.close()

        # A reload from storage alone (both nodes stopped, one started afresh) gives exactly what was
        # written: every acknowledged token, each once.
        for writer in writers:
            await writer.client.close()
        for node in cluster.nodes:
            await node.kill()
        await cluster.nodes[1].start()
        for record in records:
            mine = [w for w in writers if w.client.url.split("?")[0].endswith(record)]
            async with cluster.nodes[1].client(token) as http:
                response = await http.get(f"/api/records/{record}")
                response.raise_for_status()
            stored = tokens_of(response.json()["fields"])
            assert len(stored) == len(set(stored)), "a token stored twice"
            confirmed = {t for w in mine for t in w.confirmed()}
            assert confirmed <= set(stored), f"{len(confirmed - set(stored))} acknowledged edits lost"
            assert set(stored) == {t for w in mine for t in w.tokens}
