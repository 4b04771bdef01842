"""`collab backup` while writers edit, and `collab restore`, on SQLite and PostgreSQL.

"Every record equals its state at the backup", made precise: each writer sets its record's `revenue` to
1, 2, 3… one at a time. Every value confirmed saved before the backup began is in the backup, no value sent
after it ended is; so after a restore each record's `revenue` lies between the last value confirmed before
the backup and the last value sent before it ended, and the record holds nothing else.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from collab.settings import Settings
from persistence.backup import Target, backup_revision
from persistence.database import normalise_url
from server.backups import ScheduledBackups
from tests.support.app_server import AppServer
from tests.support.live_server import ROOT, running
from tests.support.polling import poll_until
from tests.support.yclient import YClient

RECORDS = 3
WRITES_AROUND_THE_BACKUP = 3


def collab(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--database-url", database_url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


class Writer:
    """Sets `revenue` on one record to 1, 2, 3…, each once the previous one was confirmed saved."""

    def __init__(self, client: YClient) -> None:
        self.client = client
        self.sent = 0
        self.confirmed = 0
        self.moved = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sent += 1
            self.client.fields["revenue"] = self.sent
            await self.client.wait_saved()
            self.confirmed = self.sent
            self.moved.set()

    async def until_confirmed(self, value: int) -> None:
        while self.confirmed < value:
            self.moved.clear()
            await asyncio.wait_for(self.moved.wait(), 20)


async def test_a_backup_under_writers_restores_every_record_at_its_backup_state(
    database_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "backups" / "collab.backup"
    async with running(AppServer(database_url, tmp_path / "server.log")) as server:
        token = await server.login()
        records = [await server.create_record(token, {"name": f"r{i}"}) for i in range(RECORDS)]
        clients = [await YClient(f"{server.ws_url}/{record}", token).connect() for record in records]
        writers = [Writer(client) for client in clients]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(writer.run(stop)) for writer in writers]
        try:
            await asyncio.gather(*(w.until_confirmed(WRITES_AROUND_THE_BACKUP) for w in writers))
            confirmed_before = [writer.confirmed for writer in writers]
            output = await server.cli("backup", str(dest))
            sent_by_the_end = [writer.sent for writer in writers]
            after = [sent + WRITES_AROUND_THE_BACKUP for sent in sent_by_the_end]
            await asyncio.gather(*(w.until_confirmed(a) for w, a in zip(writers, after, strict=True)))
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await asyncio.gather(*(client.close() for client in clients))
    assert "backup written" in output and dest.is_file()

    restored = collab(database_url, "restore", str(dest), "--yes")
    assert restored.returncode == 0, restored.stderr

    async with running(AppServer(database_url, tmp_path / "server-after.log")) as server:
        token = await server.login()
        async with server.client(token) as http:
            fields = [(await http.get(f"/api/records/{record}")).json()["fields"] for record in records]
    for i, (got, low, high) in enumerate(zip(fields, confirmed_before, sent_by_the_end, strict=True)):
        assert set(got) == {"name", "revenue"} and got["name"] == f"r{i}"
        assert low <= got["revenue"] <= high, (got, low, high)


async def test_restore_refuses_a_backup_of_a_newer_schema(database_url: str, tmp_path: Path) -> None:
    assert collab(database_url, "tenant", "add", "acme").returncode == 0  # migrated, one tenant more
    await _set_revision(database_url, "f00dfeedbeef")
    dest = tmp_path / "newer.backup"
    assert collab(database_url, "backup", str(dest)).returncode == 0
    await _set_revision(database_url, None)
    assert collab(database_url, "tenant", "add", "after").returncode == 0

    refused = collab(database_url, "restore", str(dest), "--yes")
    assert refused.returncode == 2
    assert "f00dfeedbeef" in refused.stderr and "does not know" in refused.stderr
    assert await _tenants(database_url) >= {"acme", "after"}  # unchanged


async def test_restore_asks_for_the_database_name(database_url: str, tmp_path: Path) -> None:
    assert collab(database_url, "tenant", "add", "before").returncode == 0
    dest = tmp_path / "collab.backup"
    assert collab(database_url, "backup", str(dest)).returncode == 0
    assert collab(database_url, "tenant", "add", "after").returncode == 0
    name = Target.parse(database_url).name

    for answer in ("", "yes\n", f"{name}x\n"):
        refused = collab(database_url, "restore", str(dest), stdin=answer)
        assert refused.returncode == 1 and "not confirmed" in refused.stderr
        assert "after" in await _tenants(database_url)

    confirmed = collab(database_url, "restore", str(dest), stdin=f"{name}\n")
    assert confirmed.returncode == 0, confirmed.stderr
    tenants = await _tenants(database_url)
    assert "before" in tenants and "after" not in tenants


async def test_restore_refuses_while_a_server_is_running(database_url: str, tmp_path: Path) -> None:
    dest = tmp_path / "collab.backup"
    async with running(AppServer(database_url, tmp_path / "server.log")):
        assert collab(database_url, "backup", str(dest)).returncode == 0
        assert collab(database_url, "tenant", "add", "after").returncode == 0
        refused = collab(database_url, "restore", str(dest), "--yes")
        assert refused.returncode == 2 and "server is connected" in refused.stderr
    assert "after" in await _tenants(database_url)
    restored = collab(database_url, "restore", str(dest), "--yes")  # once it stopped, it may
    assert restored.returncode == 0, restored.stderr
    assert "after" not in await _tenants(database_url)


async def test_scheduled_backups_keep_the_newest(database_url: str, tmp_path: Path) -> None:
    assert collab(database_url, "tenant", "add", "acme").returncode == 0
    folder = tmp_path / "scheduled"
    moments = iter(datetime(2026, 12, 3, hour, tzinfo=UTC) for hour in range(9, 12))
    settings = Settings.from_env({}, database_url=database_url, backup_dir=str(folder), backup_keep=2)
    backups = ScheduledBackups(settings, now=lambda: next(moments))
    written = [await backups.back_up_once() for _ in range(3)]
    assert sorted(path.name for path in folder.iterdir()) == [
        "collab-20261203T100000.backup",
        "collab-20261203T110000.backup",
    ]
    assert written[0].name == "collab-20261203T090000.backup" and not written[0].exists()
    for path in written[1:]:
        assert backup_revision(path, Target.parse(database_url).dialect)


async def test_a_server_backs_up_on_schedule(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "scheduled"
    every = timedelta(seconds=1) / timedelta(hours=1)
    env = {"COLLAB_BACKUP_DIR": str(folder), "COLLAB_BACKUP_EVERY_HOURS": str(every)}
    async with running(AppServer(database_url, tmp_path / "server.log", env)):

        async def listing() -> list[Path]:
            return sorted(folder.glob("collab-*.backup")) if folder.exists() else []

        found = await poll_until(listing, lambda paths: len(paths) >= 1, "a scheduled backup")
    assert "backup: " in (tmp_path / "server.log").read_text() and found


async def _set_revision(database_url: str, revision: str | None) -> None:
    """Pretend a newer collab migrated the database (`revision`), or put the real head back (None)."""
    from persistence.database import head_revision

    await _execute(
        database_url,
        "UPDATE alembic_version SET version_num = :revision",
        {"revision": revision or head_revision()},
    )


async def _tenants(database_url: str) -> set[str]:
    engine = create_async_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(text("SELECT slug FROM tenants"))).all())
    finally:
        await engine.dispose()


async def _execute(database_url: str, sql: str, parameters: dict[str, str]) -> None:
    engine = create_async_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), parameters)
    finally:
        await engine.dispose()
