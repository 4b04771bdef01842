"""HTTP writes to a record whose room lives on another node: forwarded to the owner (web/relay_http.py).

Two `collab serve` nodes on one PostgreSQL database; a live client on the owner A, the HTTP write made on B.
The client sees the edit without being disconnected, and the ETag answers are the owner's, with Redis up
or unreachable (no bus is involved).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest

from collab import close_codes
from tests.support.nodes import (
    POSTGRES_ONLY,
    UNREACHABLE_REDIS_URL,
    cluster_env,
    env_with_redis,
    running_nodes,
)
from tests.support.owners import owner_of
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]


@pytest.mark.parametrize("redis", ["up", "unreachable"])
async def test_a_patch_on_the_other_node_is_applied_by_the_owner_without_disconnecting_anyone(
    database_url: str, tmp_path: Path, redis: str
) -> None:
    env = env_with_redis(redis)
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token, {"name": "Panda"})
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()
        ann.fields["revenue"] = 1
        await ann.wait_saved()
        assert await owner_of(database_url, record) == "node0"
        async with b.client(token) as http:
            tag = (await http.get(f"/api/records/{record}")).headers["etag"]
            patched = await http.patch(
                f"/api/records/{record}", json={"fields": {"stage": "customer"}}, headers={"If-Match": tag}
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["fields"] == {"name": "Panda", "revenue": 1, "stage": "customer"}
            new_tag = patched.headers["etag"]
            assert new_tag != tag
            # The old tag is stale now: the owner's 412, with the current tag and fields, comes back as is.
            stale = await http.patch(
                f"/api/records/{record}", json={"fields": {"stage": "lead"}}, headers={"If-Match": tag}
            )
            assert stale.status_code == 412, stale.text
            assert stale.headers["etag"] == new_tag
            assert stale.json()["fields"]["stage"] == "customer"
            missing = await http.patch(f"/api/records/{record}", json={"fields": {"stage": "lead"}})
            assert missing.status_code == 428, missing.text
        await ann.wait_until(lambda: ann.fields.get("stage") == "customer", "the forwarded edit, live")
        assert ann.close_code is None  # never disconnected: the room stayed where it was
        assert await owner_of(database_url, record) == "node0"
        async with a.client(token) as http:  # the owner's own tag agrees with what B answered
            assert (await http.get(f"/api/records/{record}")).headers["etag"] == new_tag
        if redis == "up":  # what forwarding costs: PATCHes on the owner against PATCHes forwarded to it
            here, forwarded = await _patch_times(a, token, record), await _patch_times(b, token, record)
            print(f"\nPATCH median: on the owner {here * 1000:.1f} ms, forwarded {forwarded * 1000:.1f} ms")
        await ann.close()


async def _patch_times(node: ServerProcess, token: str, record: str, count: int = 20) -> float:
    """The median time of `count` PATCHes through `node` (a GET for the tag, then the PATCH: timed)."""
    times = []
    async with node.client(token) as http:
        for n in range(count):
            tag = (await http.get(f"/api/records/{record}")).headers["etag"]
            started = time.perf_counter()
            answer = await http.patch(
                f"/api/records/{record}", json={"fields": {"revenue": n}}, headers={"If-Match": tag}
            )
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    return statistics.median(times)


async def test_a_forged_relay_header_is_refused(database_url: str, tmp_path: Path) -> None:
    async with running_nodes(database_url, tmp_path, count=1) as (a,):
        token = await a.login()
        record = await a.create_record(token, {"name": "Panda"})
        async with httpx.AsyncClient(base_url=a.base_url) as http:
            forged = await http.patch(
                f"/api/records/{record}",
                json={"fields": {"stage": "lead"}},
                headers={"If-Match": '"x"', "X-Collab-Relay": "e30.AAAA"},
            )
        assert forged.status_code == 403, forged.text


async def test_a_restore_and_a_put_back_on_the_other_node_run_in_the_owners_room(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await a.create_record(token, {"name": "Panda", "stage": "lead"})
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()  # the room lives on A
        async with b.client(token) as http:
            taken = await http.post(f"/api/records/{record}/snapshots")
            assert taken.status_code == 201, taken.text
            snapshot = taken.json()["id"]
            ann.fields["stage"] = "customer"
            await ann.wait_saved()
            restored = await http.post(f"/api/records/{record}/snapshots/{snapshot}/restore")
            assert restored.status_code == 200, restored.text
            assert restored.json()["fields"]["stage"] == "lead"
            assert restored.headers["etag"]
            await ann.wait_until(lambda: ann.fields.get("stage") == "lead", "the restore, live")
            # Put the value before the restore back, from the history, on B too.
            changes = (await http.get(f"/api/records/{record}/history", params={"field": "stage"})).json()
            restore_change = changes["changes"][0]
            assert restore_change["after"] == "lead", restore_change
            put_back = await http.post(f"/api/records/{record}/history/{restore_change['id']}/restore")
            assert put_back.status_code == 200, put_back.text
            assert put_back.json()["fields"]["stage"] == "customer"
        await ann.wait_until(lambda: ann.fields.get("stage") == "customer", "the put-back, live")
        assert ann.close_code is None
        assert await owner_of(database_url, record) == "node0"
        await ann.close()


async def test_with_redis_down_a_delete_on_the_other_node_closes_the_owners_sockets(
    database_url: str, tmp_path: Path
) -> None:
    env = cluster_env(redis_url=UNREACHABLE_REDIS_URL)  # no bus: only forwarding helps
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()  # the room lives on A
        async with b.client(token) as http:
            assert (await http.delete(f"/api/records/{record}")).status_code == 204
            assert (await http.get(f"/api/records/{record}")).status_code == 404
        assert await ann.wait_closed() == close_codes.NOT_FOUND


async def test_a_snapshot_taken_on_the_other_node_is_taken_by_the_owner(
    database_url: str, tmp_path: Path
) -> None:
    """Only the owner can flush what its room accepted before writing the snapshot ("every update
    accepted so far"): the snapshot is taken there."""
    async with running_nodes(database_url, tmp_path) as (a, b):
        token = await a.login()
        record = await a.create_record(token, {"name": "Panda"})
        ann = await YClient(f"{a.ws_url}/{record}", token).connect()  # the room lives on A
        ann.fields["stage"] = "customer"
        async with b.client(token) as http:
            taken = await http.post(f"/api/records/{record}/snapshots")
            assert taken.status_code == 201, taken.text
            snapshot = taken.json()["id"]
            viewed = await http.get(f"/api/records/{record}/snapshots/{snapshot}")
            assert viewed.status_code == 200, viewed.text
        line = f"snapshot {snapshot} of record {record}"
        assert line in a.log_path.read_text(errors="replace")
        assert line not in b.log_path.read_text(errors="replace")
        await ann.close()
