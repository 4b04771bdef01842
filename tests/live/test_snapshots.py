"""Snapshots every N updates, after quiet and on eviction; a record that cannot load is never served empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from collab import close_codes
from persistence.database import normalise_url
from tests.support.app_server import AppServer
from tests.support.live_server import LiveServer, S
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient


async def snapshot_reasons(database_url: str, record: str) -> list[str]:
    engine = create_async_engine(normalise_url(database_url))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sqlalchemy.text("SELECT reason FROM snapshots WHERE record_id = :r ORDER BY id"),
                {"r": record},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def wait_for_snapshots(
    database_url: str, record: str, done: Callable[[list[str]], bool], what: str
) -> None:
    await poll_until(lambda: snapshot_reasons(database_url, record), done, what)


async def started(kind: type[S], database_url: str, tmp_path: Path, **env: str) -> S:
    server = kind(
        database_url, tmp_path / "server.log", env={f"COLLAB_{k.upper()}": v for k, v in env.items()}
    )
    await server.start()
    return server


async def test_snapshot_every_n_updates_and_after_quiet(database_url: str, tmp_path: Path) -> None:
    # Killed and started again: the record loads from the snapshots and the log.
    server = await started(
        ServerProcess, database_url, tmp_path, snapshot_every_updates="10", snapshot_quiet_seconds="1"
    )
    try:
        token = await server.login()
        record = await server.create_record(token, {"name": "Snap"})
        client = await YClient(f"{server.ws_url}/{record}", token).connect()
        for n in range(12):
            client.fields["revenue"] = n
        await client.wait_saved()
        await wait_for_snapshots(database_url, record, lambda r: r == ["auto"], "a snapshot after 10 updates")
        client.fields["email"] = "quiet"
        await client.wait_saved()
        await wait_for_snapshots(
            database_url, record, lambda r: r == ["auto", "auto"], "a snapshot after quiet"
        )
        await client.close()
        await server.kill()
        await server.start()
        fresh = await YClient(f"{server.ws_url}/{record}", token).connect()
        assert fresh.fields.to_py() == {"name": "Snap", "revenue": 11.0, "email": "quiet"}
        await fresh.close()
    finally:
        await server.stop()


async def test_an_idle_room_is_snapshotted_and_evicted(database_url: str, tmp_path: Path) -> None:
    server = await started(
        AppServer, database_url, tmp_path, snapshot_quiet_seconds="600", room_idle_seconds="1"
    )
    try:
        token = await server.login()
        record = await server.create_record(token, {"name": "Idle"})
        client = await YClient(f"{server.ws_url}/{record}", token).connect()
        client.fields["stage"] = "lead"
        await client.wait_saved()
        await client.close()
        await wait_for_snapshots(database_url, record, lambda r: r == ["evict"], "a snapshot on eviction")
        again = await YClient(f"{server.ws_url}/{record}", token).connect()  # loaded anew from the snapshot
        assert again.fields.to_py() == {"name": "Idle", "stage": "lead"}
        await again.close()
    finally:
        await server.stop()


async def test_a_record_that_cannot_load_is_refused_not_emptied(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Fragile"})
    engine = create_async_engine(normalise_url(live_server.database_url))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sqlalchemy.text("UPDATE updates SET data = :garbage WHERE record_id = :r"),
                {"garbage": b"\xff\xff\xff\xff", "r": record},
            )
    finally:
        await engine.dispose()
    client = YClient(f"{live_server.ws_url}/{record}", admin_token)
    await client.connect(wait_synced=False)
    assert await client.wait_closed() == close_codes.INTERNAL_ERROR
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).status_code == 503
