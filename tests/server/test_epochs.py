"""`collab restore` and `collab epoch bump` give every record a new epoch, on SQLite and PostgreSQL: no
browser's copy synced before can match, so none is merged back into the restored records."""

from __future__ import annotations

from pathlib import Path

from tests.server.test_backup import collab
from tests.support.app_server import AppServer
from tests.support.live_server import running


async def _epochs(server: AppServer, token: str, records: list[str]) -> list[str]:
    async with server.client(token) as http:
        return [(await http.get(f"/api/records/{record}")).json()["epoch"] for record in records]


async def test_restore_and_bump_give_every_record_a_new_epoch(database_url: str, tmp_path: Path) -> None:
    dest = tmp_path / "collab.backup"
    async with running(AppServer(database_url, tmp_path / "server.log")) as server:
        token = await server.login()
        records = [await server.create_record(token, {"name": f"r{i}"}) for i in range(3)]
        before = await _epochs(server, token, records)
        assert "backup written" in await server.cli("backup", str(dest))
        bump_while_serving = collab(database_url, "epoch", "bump")
        assert bump_while_serving.returncode == 2 and "server is connected" in bump_while_serving.stderr

    restored = collab(database_url, "restore", str(dest), "--yes")
    assert restored.returncode == 0, restored.stderr
    async with running(AppServer(database_url, tmp_path / "server-restored.log")) as server:
        token = await server.login()
        after_restore = await _epochs(server, token, records)
    assert all(new != old for new, old in zip(after_restore, before, strict=True))

    bumped = collab(database_url, "epoch", "bump")
    assert bumped.returncode == 0 and "3 records have a new epoch" in bumped.stdout, bumped.stderr
    async with running(AppServer(database_url, tmp_path / "server-bumped.log")) as server:
        token = await server.login()
        after_bump = await _epochs(server, token, records)
    assert all(new != old for new, old in zip(after_bump, after_restore, strict=True))
