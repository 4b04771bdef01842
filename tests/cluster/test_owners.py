"""Record owners across two `collab serve` nodes on one PostgreSQL database: one room per record, in one
node; clients of the other node are relayed to it and see the same record."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from collab import close_codes
from tests.live.test_durability import Writer, write_until_confirmed_while
from tests.support.nodes import POSTGRES_ONLY, cluster_env, running_nodes
from tests.support.owners import lock_holder, owner_of, scalar
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]


async def test_clients_of_one_record_on_both_nodes_converge(database_url: str, tmp_path: Path) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        bob = await YClient(f"{b.ws_url}/{record}", token).connect()
        ann.fields["revenue"] = 5000
        bob.fields["stage"] = "lead"
        await ann.wait_saved()
        await bob.wait_saved()
        await ann.wait_until(lambda: ann.fields.get("stage") == "lead", "bob's edit on ann")
        await bob.wait_until(lambda: bob.fields.get("revenue") == 5000, "ann's edit on bob")
        # A third client, on the other node, loads what both wrote.
        late = await YClient(f"{b.ws_url}/{record}", token).connect()
        assert dict(late.fields) == {"revenue": 5000, "stage": "lead"}
        assert await owner_of(database_url, record) == "node0"  # one room, on the first node asked
        for client in (ann, bob, late):
            await client.close()


def _conflict_notices(client: YClient) -> list[dict[str, Any]]:
    return [notice for notice in client.notices if notice.get("kind") == "conflicts"]


async def test_a_conflict_of_writers_on_two_nodes_is_in_history_as_on_one(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        admin = await a.login()
        record = await a.create_record(admin, {"name": "Panda", "revenue": 1000})
        ann_token = await a.add_user("ann@example.com", "editor")
        bob_token = await a.add_user("bob@example.com", "editor")
        ann = await YClient(f"{a.ws_url}/{record}", ann_token).connect()
        bob = await YClient(f"{b.ws_url}/{record}", bob_token).connect()  # relayed to a
        # Ann edits offline while Bob edits live on the other node; Ann comes back: one value replaces the
        # other, and both are told.
        await ann.close()
        ann.fields["revenue"] = 5000
        bob.fields["revenue"] = 6000
        await bob.wait_saved()
        await ann.connect()
        await ann.wait_saved()
        await ann.wait_until(lambda: bool(_conflict_notices(ann)), "a conflicts notice (ann)")
        await bob.wait_until(lambda: bool(_conflict_notices(bob)), "a conflicts notice (bob)")
        final = ann.fields["revenue"]
        await bob.wait_until(lambda: bob.fields.get("revenue") == final, "one value on both nodes")
        for node in (a, b):  # either node tells the same history
            async with node.client(admin) as http:
                response = await http.get(f"/api/records/{record}/history", params={"field": "revenue"})
                response.raise_for_status()
            conflicts = [c for c in response.json()["changes"] if c["conflict"]]
            assert len(conflicts) == 1, conflicts
            values = {
                conflicts[0]["winner"]["value"]: conflicts[0]["winner"]["user"]["email"],
                conflicts[0]["lost"]["value"]: conflicts[0]["lost"]["user"]["email"],
            }
            assert values == {5000: "ann@example.com", 6000: "bob@example.com"}
            assert conflicts[0]["winner"]["value"] == final
        await ann.close()
        await bob.close()


WRITERS = 20
FIELDS = [f"w{n}" for n in range(WRITERS)]


def _tokens(fields: Mapping[str, object]) -> set[str]:
    return {token for key in FIELDS for token in str(fields.get(key) or "").split(",") if token}


async def _record_of_writers(node: ServerProcess, token: str) -> str:
    async with node.client(token) as http:
        created = await http.post(
            "/api/collections",
            json={
                "name": "durable",
                "label": "Durable",
                "fields": [{"key": key, "label": key, "type": "richtext"} for key in FIELDS],
            },
        )
        assert created.status_code == 201, created.text
    return await node.create_record(token, dict.fromkeys(FIELDS, ""), collection="durable")


async def test_kill_of_the_owner_under_writers_on_both_nodes_loses_nothing_saved(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await _record_of_writers(a, token)
        writers = [Writer(f"{a.ws_url}/{record}", token, key) for key in FIELDS[: WRITERS // 2]]
        writers += [Writer(f"{b.ws_url}/{record}", token, key) for key in FIELDS[WRITERS // 2 :]]
        for writer in writers:  # the first claims the record for a; b's are relayed to a
            await writer.client.connect()
        assert await owner_of(database_url, record) == "node0"
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer.run(stop)) for writer in writers]
        await write_until_confirmed_while(writers, 10)
        await a.kill()  # mid-flight: every writer is still writing
        closed = [writer.client.wait_closed() for writer in writers[WRITERS // 2 :]]
        assert set(await asyncio.gather(*closed)) == {close_codes.SERVICE_RESTART}  # relayed: told to return
        stop.set()
        await asyncio.gather(*tasks)
        confirmed = set().union(*(writer.confirmed() for writer in writers))
        stored = await _stored(b, token, record)  # read from storage by the survivor, before anyone is back
        lost = confirmed - _tokens(stored)
        assert not lost, f"{len(lost)} saved edits lost"
        # Everyone comes back (a's clients through the balancer to b): b owns the record now.
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.client.close()
            writer.client.url = f"{b.ws_url}/{record}?token={token}"
            await writer.client.connect()
        expected = {token for writer in writers for token in writer.tokens}
        for writer in writers:
            await writer.client.wait_saved()
            await writer.client.wait_until(
                lambda w=writer: _tokens(w.client.fields.to_py()) >= expected, "convergence"
            )
        assert await owner_of(database_url, record) == "node1"
        assert _tokens(await _stored(b, token, record)) == expected
        for writer in writers:
            await writer.client.close()


async def _stored(node: ServerProcess, token: str, record: str) -> dict[str, object]:
    async with node.client(token) as http:
        response = await http.get(f"/api/records/{record}")
        response.raise_for_status()
        fields: dict[str, object] = response.json()["fields"]
        return fields


async def test_sigterm_drains_then_closes_with_1012_and_hands_the_record_over(
    database_url: str, tmp_path: Path
) -> None:
    env = cluster_env(COLLAB_SHUTDOWN_DRAIN_SECONDS="3")
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        bob = await YClient(f"{b.ws_url}/{record}", token).connect()  # relayed to a
        assert a.process is not None
        a.process.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"{a.base_url}/readyz")  # at once: the balancer stops sending
            assert (ready.status_code, ready.json()["status"]) == (503, "stopping")
            # Still serving while the balancer notices: an edit made now is saved.
            ann.fields["stage"] = "lead"
            await ann.wait_saved()
        assert await ann.wait_closed() == close_codes.SERVICE_RESTART
        assert await bob.wait_closed() == close_codes.SERVICE_RESTART
        assert await asyncio.wait_for(a.process.wait(), 30) == 0
        assert await owner_of(database_url, record) is None  # released on the way out
        bob.url = f"{b.ws_url}/{record}?token={token}"
        await bob.connect()
        assert bob.fields.get("stage") == "lead"
        bob.fields["revenue"] = 1
        await bob.wait_saved()
        assert await owner_of(database_url, record) == "node1"
        await bob.close()


async def test_a_node_that_loses_its_locks_closes_their_rooms_and_the_record_moves(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        ann.fields["stage"] = "lead"
        await ann.wait_saved()
        # The database ends a's lock connection (a network cut, an administrator): its locks are gone.
        holder = await lock_holder(database_url, record)
        assert holder is not None
        assert await scalar(database_url, "SELECT pg_terminate_backend(:pid)", pid=holder)
        # A record whose lock is gone is never served on: its room closes, its clients come back.
        assert await ann.wait_closed(within=10) == close_codes.SERVICE_RESTART
        bob = await YClient(f"{b.ws_url}/{record}", token).connect()  # b may own it now
        bob.fields["revenue"] = 1
        await bob.wait_saved()
        await until_connected(ann)
        await ann.wait_until(lambda: ann.fields.get("revenue") == 1, "bob's edit on ann")
        assert dict(bob.fields) == {"stage": "lead", "revenue": 1}
        await ann.close()
        await bob.close()


async def until_connected(client: YClient, within: float = 15.0) -> None:
    """Reconnect as y-websocket does: a refusal to come back later (1013, 1012) is tried again after a
    growing pause (its reconnect back-off, not a synchronisation: a client that retried at once would be
    rate limited, 4429)."""
    attempt = 0
    async with asyncio.timeout(within):
        while True:
            if attempt:
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
            attempt += 1
            await client.connect(wait_synced=False)
            synced = asyncio.ensure_future(client.synced.wait())
            closed = asyncio.ensure_future(client.closed.wait())
            await asyncio.wait({synced, closed}, return_when=asyncio.FIRST_COMPLETED)
            synced.cancel()
            closed.cancel()
            if client.synced.is_set():
                return
            assert client.close_code in (close_codes.TRY_AGAIN_LATER, close_codes.SERVICE_RESTART)


async def test_an_idle_room_evicted_releases_its_record(database_url: str, tmp_path: Path) -> None:
    env = cluster_env(COLLAB_ROOM_IDLE_SECONDS="0.5")
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        ann.fields["stage"] = "lead"
        await ann.wait_saved()
        assert await owner_of(database_url, record) == "node0"
        await ann.close()
        await poll_until(lambda: owner_of(database_url, record), lambda owner: owner is None, "release")
        assert await lock_holder(database_url, record) is None
        bob = await YClient(f"{b.ws_url}/{record}", token).connect()
        assert (await owner_of(database_url, record), bob.fields.get("stage")) == ("node1", "lead")
        await bob.close()


async def test_a_record_deleted_on_the_other_node_closes_its_sockets(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        async with b.client(token) as http:
            assert (await http.delete(f"/api/records/{record}")).status_code == 204
        assert await ann.wait_closed() == close_codes.NOT_FOUND
