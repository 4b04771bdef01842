"""The change feed across nodes: a stream on one node carries every node's events, in id order, once.

Two `collab serve` processes on one PostgreSQL database; writes go over HTTP (POST creates, PATCH edits),
which any node serves. The bus (Redis) only wakes the other node up: with Redis unreachable the nodes read
SQL on their own, a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from collab.cluster.bus import new_node_id
from tests.support.nodes import (
    POSTGRES_ONLY,
    UNREACHABLE_REDIS_URL,
    cluster_env,
    running_nodes,
)
from tests.support.server_process import ServerProcess
from tests.support.sse import Event, FeedClient
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]

RECORD_EVENTS = ("record.created", "record.updated", "record.deleted", "record.restored")
ACROSS_SECONDS = 1.5  # the target: a write on one node reaches a stream on the other within it
COALESCE_SECONDS = 1.0  # the default: an edit's `record.updated` waits about this long for more typing


def _ids() -> list[str]:
    # Random node ids, as a node makes itself when COLLAB_NODE_ID is unset.
    return [new_node_id(), new_node_id()]


async def _next_of(feed: FeedClient, record: str, kind: str, within: float) -> Event:
    async with asyncio.timeout(within):
        while True:
            event = await feed.next(within)
            if event.type == kind and event.data.get("record") == record:
                return event


async def _patch(node: ServerProcess, token: str, record: str, fields: dict[str, object]) -> None:
    async with node.client(token) as http:
        answer = await http.patch(
            f"/api/records/{record}", json={"fields": fields}, headers={"If-Match": "*"}
        )
        answer.raise_for_status()


async def test_a_stream_on_one_node_gets_the_writes_on_the_other_within_a_second_and_a_half(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path, node_ids=_ids()) as (a, b):
        token = await a.login()
        loop = asyncio.get_running_loop()
        async with (
            FeedClient(b.base_url, token, "customers") as on_b,
            FeedClient(a.base_url, token, "customers") as on_a,
        ):
            assert on_b.status == on_a.status == 200
            took = []
            for n in range(5):
                started = loop.time()
                record = await a.create_record(token, {"name": f"Made on A {n}"})
                created = await _next_of(on_b, record, "record.created", ACROSS_SECONDS)
                took.append(loop.time() - started)
                assert created.data["fields"] == {"name": f"Made on A {n}"}
                assert created.data["by"]["email"] == "admin@example.com"
            print(f"\ncreated on A, seen on B after (s): {[round(t, 3) for t in took]}")

            # An edit's event is made once the coalescing second is over, on the node that took the edit.
            started = loop.time()
            await _patch(a, token, record, {"stage": "lead"})
            on_own_node = await _next_of(on_a, record, "record.updated", COALESCE_SECONDS + ACROSS_SECONDS)
            seen_on_a = loop.time()
            updated = await _next_of(on_b, record, "record.updated", ACROSS_SECONDS)
            seen_on_b = loop.time()
            assert updated.id == on_own_node.id and updated.data["fields"] == {"stage": "lead"}
            print(
                f"edited on A: on A after {seen_on_a - started:.3f} s,"
                f" on B {seen_on_b - seen_on_a:.3f} s later"
            )
            assert seen_on_b - started < COALESCE_SECONDS + ACROSS_SECONDS

            # Presence is not stored: it crosses on the bus.
            client = await YClient(f"{a.ws_url}/{record}", token).connect()
            try:
                async with asyncio.timeout(ACROSS_SECONDS + 2):
                    while True:
                        event = await on_b.next()
                        if event.type == "presence" and event.data["record"] == record:
                            assert event.data["count"] == 1
                            break
            finally:
                await client.close()


async def test_a_stream_resumed_on_the_other_node_after_a_kill_misses_nothing_and_repeats_nothing(
    database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(18)
    env = cluster_env(COLLAB_HTTP_WRITES_PER_SECOND="0")  # one user writing as fast as four writers can
    async with running_nodes(database_url, tmp_path, env=env, node_ids=_ids()) as (a, b):
        token = await a.login()
        stop = asyncio.Event()

        async def write(node: ServerProcess, name: str) -> None:
            made: list[str] = []  # patched on the node that made them: their room is there
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    made.append(await node.create_record(token, {"name": f"{name} {n}"}))
                    await _patch(node, token, made[-1], {"revenue": n})
                    if rng.random() < 0.3:
                        await _patch(node, token, rng.choice(made), {"email": f"{name}.{n}@example.com"})
                except httpx.TransportError:
                    if node is b:
                        raise
                    return  # node A was killed under it
                await asyncio.sleep(rng.uniform(0, 0.02))  # writers apart, not in lockstep

        seen: list[Event] = []
        async with FeedClient(a.base_url, token, "customers") as on_a:
            writers = [
                asyncio.create_task(write(node, f"{node_name}{w}"))
                for node, node_name in ((a, "A"), (b, "B"))
                for w in range(2)
            ]
            try:
                while len([e for e in seen if e.id is not None]) < 30:
                    seen.append(await on_a.next(10))
                await a.kill()  # kill -9 while both nodes write
                with contextlib.suppress(EOFError, httpx.HTTPError, TimeoutError):
                    while True:  # what the stream still carried when A died
                        seen.append(await on_a.next(2))
                last = max(e.id for e in seen if e.id is not None)
                async with FeedClient(b.base_url, token, "customers", last_event_id=last) as on_b:
                    resumed: list[Event] = []
                    while len([e for e in resumed if e.id is not None]) < 30:
                        resumed.append(await on_b.next(10))
                    stop.set()
                    await asyncio.gather(*writers)
                    marker = await b.create_record(token, {"name": "The end"})
                    async with asyncio.timeout(10):
                        while not any(e.data.get("record") == marker for e in resumed):
                            resumed.append(await on_b.next(10))
            finally:
                stop.set()
                for writer in writers:
                    writer.cancel()
                await asyncio.gather(*writers, return_exceptions=True)

        streamed = [e.id for e in [*seen, *resumed] if e.id is not None]
        assert streamed == sorted(set(streamed)), "every id once, in order"
        stored = await _event_ids(database_url, after=streamed[0] - 1, upto=streamed[-1])
        assert streamed == stored, f"missed {sorted(set(stored) - set(streamed))}"
        print(
            f"\nstreamed {len(streamed)} events across the kill ({len(seen)} from A), none missed or repeated"
        )


@pytest.mark.parametrize("redis", ["unreachable", "none"])
async def test_without_redis_a_stream_on_one_node_gets_the_other_nodes_writes_within_two_seconds(
    database_url: str, tmp_path: Path, redis: str
) -> None:
    if redis == "unreachable":  # configured, but nothing listens there
        env = cluster_env(redis_url=UNREACHABLE_REDIS_URL)
    else:  # several nodes on PostgreSQL alone
        env = {
            key: value
            for key, value in cluster_env(COLLAB_CLUSTER="true").items()
            if key != "COLLAB_REDIS_URL"
        }
    async with running_nodes(database_url, tmp_path, env=env, node_ids=_ids()) as (a, b):
        token = await a.login()
        loop = asyncio.get_running_loop()
        async with FeedClient(b.base_url, token, "customers") as on_b:
            took = []
            for n in range(5):
                started = loop.time()
                record = await a.create_record(token, {"name": f"Made on A {n}"})
                await _next_of(on_b, record, "record.created", 2.0)
                took.append(loop.time() - started)
            print(f"\nRedis {redis}: created on A, seen on B after (s): {[round(t, 3) for t in took]}")


async def _event_ids(database_url: str, after: int, upto: int) -> list[int]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT e.id FROM events e JOIN collections c ON c.id = e.collection_id"
            " WHERE c.name = 'customers' AND e.id > $1 AND e.id <= $2 ORDER BY e.id",
            after,
            upto,
        )
    finally:
        await connection.close()
    return [row["id"] for row in rows]
