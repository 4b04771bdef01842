"""Redis trouble under load: restarted mid-run, and its subscribers cut at random (their messages lost).

Two nodes; each record has a live writer on each node; records are created over HTTP on node A while a feed
stream reads node B. Redis carries hints only, so whatever it loses: every acknowledged edit is stored,
every replica (client) converges, and B's stream has every record A created, once.
"""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.support.cluster import HOST, free_port, own_redis
from tests.support.nodes import POSTGRES_ONLY, cluster_env, running_nodes
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]

ROUNDS = 8  # per phase: Redis up and cut at random, Redis down, Redis back and cut at random


async def cut_subscribers(port: int) -> None:
    """Drop every pub/sub connection: messages published until each node reconnects are lost."""
    redis = Redis(host=HOST, port=port)
    try:
        await redis.client_kill_filter(_type="pubsub")
    finally:
        await redis.aclose()


async def test_a_restarted_redis_and_lost_messages_lose_no_edit_and_no_event(
    database_url: str, tmp_path: Path
) -> None:
    chance = random.Random(18)
    port = free_port()
    async with own_redis(port) as redis_process:
        env = cluster_env(redis_url=f"redis://{HOST}:{port}/0")
        async with running_nodes(database_url, tmp_path, env=env) as (a, b):
            token = await a.login()
            records = [await a.create_record(token, {"name": f"Record {n}"}) for n in range(2)]
            # On each record: one writer through A (revenue), one through B (name).
            writers = [
                (
                    await YClient(f"{a.ws_url}/{record}", token).connect(),
                    await YClient(f"{b.ws_url}/{record}", token).connect(),
                )
                for record in records
            ]
            created: list[str] = []
            async with FeedClient(b.base_url, token, "customers") as feed:

                async def round_of(n: int, cut: bool) -> None:
                    for on_a, on_b in writers:
                        on_a.fields["revenue"] = n
                        on_b.fields["name"] = f"B {n}"
                    created.append(await a.create_record(token, {"name": f"Made {n}"}))
                    if cut and chance.random() < 0.5:
                        await cut_subscribers(port)

                for n in range(ROUNDS):
                    await round_of(n, cut=True)
                redis_process.kill()  # Redis restarted mid-run: down for a phase, then a new, empty one
                await redis_process.wait()
                for n in range(ROUNDS, 2 * ROUNDS):
                    await round_of(n, cut=False)
                async with own_redis(port):
                    for n in range(2 * ROUNDS, 3 * ROUNDS):
                        await round_of(n, cut=True)
                    last = 3 * ROUNDS - 1
                    for pair in writers:
                        for client in pair:
                            await client.wait_saved()
                    # Every replica converges on both writers' last values.
                    for on_a, on_b in writers:
                        for client in (on_a, on_b):
                            await client.wait_until(
                                lambda c=client: (
                                    c.fields.get("revenue") == last and c.fields.get("name") == f"B {last}"
                                ),
                                "both writers' last edits",
                            )
                    # B's stream has every record A created, once each, in id order, and the live
                    # edits' last values (their events come about a second after the edits).
                    seen: dict[str, int] = {}
                    edited: set[tuple[str, str]] = set()
                    wanted = {(record, key) for record in records for key in ("revenue", "name")}
                    while set(created) - seen.keys() or wanted - edited:
                        event = await feed.next(within=10)
                        record = event.data.get("record", "")
                        if event.type == "record.created":
                            assert record not in seen, "an event delivered twice"
                            seen[record] = int(event.id or 0)
                        elif event.type == "record.updated":
                            fields = event.data.get("fields", {})
                            if fields.get("revenue") == last:
                                edited.add((record, "revenue"))
                            if fields.get("name") == f"B {last}":
                                edited.add((record, "name"))
                    ids = [seen[record] for record in created]
                    assert ids == sorted(ids)
                    # Now nothing else happens on B: the last creation's message is lost for sure (B's
                    # subscription is cut just before it), and only B's own reading of SQL brings it.
                    await cut_subscribers(port)
                    last_made = await a.create_record(token, {"name": "Made last"})
                    while True:
                        event = await feed.next(within=10)
                        if event.type == "record.created" and event.data.get("record") == last_made:
                            break
                        assert event.data.get("record") not in seen, "an event delivered twice"
            # What a reload from storage gives is what was acknowledged.
            async with httpx.AsyncClient(
                base_url=b.base_url, headers={"Authorization": f"Bearer {token}"}
            ) as http:
                for record in records:
                    stored = (await http.get(f"/api/records/{record}")).json()["fields"]
                    assert stored["revenue"] == last and stored["name"] == f"B {last}"
            for pair in writers:
                for client in pair:
                    await client.close()
