"""Backups of a collab database while it serves, and restoring one onto a stopped server's database.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one read transaction, so the
copy is one consistent snapshot while the server goes on writing (WAL: readers never block writers).
PostgreSQL: `pg_dump --format=custom`, which dumps one snapshot (a repeatable-read transaction); restored with
`pg_restore --clean --if-exists --single-transaction`, so a failed restore leaves the database as it was.
The password reaches the PostgreSQL tools through `PGPASSWORD` only, never their command line.

Restoring gives every record a new epoch (`records.epoch`) right after the data, so that no browser's copy
of a record, synced before the restore, is merged back (it would resurrect later edits and duplicate text):
on SQLite in the connection that still holds the restored file exclusively, on PostgreSQL in a transaction
right after `pg_restore`'s. A backup from before epochs existed gets them from the migration when the
server starts. A database restored by other means needs `bump_epochs` (`collab epoch bump`).

A backup's schema revision is read from the backup's own content (its `alembic_version` rows), so it cannot
disagree with the data; a restore refuses a revision this code does not know (a newer collab wrote it).

"Is a server running on the target?" — SQLite: every connection of a serving collab holds a shared lock
on the WAL database (its pool keeps connections open), so an exclusive lock that cannot be had means
another process has the file open. PostgreSQL: collab's engine connects with `application_name='collab'`
(persistence/database.py), so `pg_stat_activity` lists a serving collab; a lock file would go stale when
a process is killed, these two cannot.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from persistence.database import APPLICATION_NAME, alembic_config, normalise_url
from persistence.errors import PersistenceError
from persistence.tenant_scope import ENSURE_ROLE_SQL

PG_DUMP = "pg_dump"
PG_RESTORE = "pg_restore"


class BackupError(PersistenceError):
    """A backup or restore could not be made, or was refused; the message says why."""


@dataclass(frozen=True)
class Target:
    """A database URL as the backup tools need it."""

    url: URL

    @classmethod
    def parse(cls, url: str) -> Target:
        return cls(normalise_url(url))

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def name(self) -> str:
        """What an operator types to confirm a restore: the database's name, or the SQLite file's name."""
        database = self.url.database or ""
        return Path(database).name if self.dialect == "sqlite" else database

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")


def backup(url: str, dest: Path) -> str:
    """Write a consistent backup of the database at `url` to `dest`; return its schema revision."""
    target = Target.parse(url)
    if dest.exists():
        raise BackupError(f"{dest} exists already; choose a new file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if target.dialect == "sqlite":
        _sqlite_copy(target.sqlite_path, dest)
    else:
        _run([PG_DUMP, "--format=custom", "--no-owner", "--file", str(dest), *_pg_args(target)], target)
    return backup_revision(dest, target.dialect)


def backup_revision(src: Path, dialect: str) -> str:
    """The schema revision recorded inside the backup at `src`."""
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    if dialect == "sqlite":
        try:
            with closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as connection:
                rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{src} is not a collab SQLite backup: {exc}") from exc
        revisions = [row[0] for row in rows]
    else:
        listing = subprocess.run(
            [PG_RESTORE, "--data-only", "--table=alembic_version", "--file=-", str(src)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if listing.returncode != 0:
            raise BackupError(f"{src} is not a collab PostgreSQL backup: {_first_line(listing.stderr)}")
        revisions = _copied_rows(listing.stdout, "alembic_version")
    if len(revisions) != 1:
        raise BackupError(f"{src} records no single schema revision ({revisions}); not a collab backup")
    return revisions[0]


def known_revisions() -> set[str]:
    return {revision.revision for revision in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def check_restorable(url: str, src: Path) -> str:
    """The revision of the backup at `src`; raises `BackupError` when it must not be restored onto `url`:
    a schema this code does not know (a newer collab wrote it), or a server connected to the target."""
    target = Target.parse(url)
    revision = backup_revision(src, target.dialect)
    if revision not in known_revisions():
        raise BackupError(
            f"{src} holds schema revision {revision}, which this collab does not know (a newer version "
            "wrote it); restore it with that version"
        )
    if server_running(url):
        raise BackupError(f"a collab server is connected to {target.name!r}; stop it before restoring")
    return revision


def restore(url: str, src: Path) -> str:
    """Replace the database at `url` with the backup at `src`; return the restored revision.

    Checks `check_restorable` first, so a refused restore changes nothing.
    """
    target = Target.parse(url)
    revision = check_restorable(url, src)
    if target.dialect == "sqlite":
        target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(src, target.sqlite_path, exclusive=True, then=_sqlite_new_epoch)
    else:
        asyncio.run(_ensure_app_role(target))  # the dump grants it its rows: onto a new cluster too
        _run(
            [PG_RESTORE, "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", *_pg_args(target), str(src)],
            target,
        )  # fmt: skip
        asyncio.run(_pg_new_epoch(target))
    return revision


def bump_epochs(url: str) -> int:
    """Give every record of the (stopped) database at `url` one new epoch; return how many records.

    For a database restored by other means than `restore` (a file copied back, a point-in-time recovery):
    browsers then refuse to merge their copies from before. Refused while a server is connected."""
    target = Target.parse(url)
    if server_running(url):
        raise BackupError(f"a collab server is connected to {target.name!r}; stop it first")
    if target.dialect != "sqlite":
        return asyncio.run(_pg_new_epoch(target))
    if not target.sqlite_path.is_file():
        raise BackupError(f"no SQLite database at {target.sqlite_path}")
    with closing(sqlite3.connect(target.sqlite_path, timeout=5, isolation_level=None)) as connection:
        return _sqlite_new_epoch(connection)


def _sqlite_new_epoch(connection: sqlite3.Connection) -> int:
    columns = {row[1] for row in connection.execute("PRAGMA table_info(records)")}
    if "epoch" not in columns:  # a schema from before epochs: its migration gives them
        return 0
    connection.execute("BEGIN IMMEDIATE")
    done = connection.execute("UPDATE records SET epoch = ?", (secrets.token_hex(16),))
    connection.execute("COMMIT")
    return done.rowcount


async def _pg_new_epoch(target: Target) -> int:
    engine = create_async_engine(target.url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            present = await connection.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = 'records' AND column_name = 'epoch'"
                )
            )
            if not present:  # a schema from before epochs: its migration gives them
                return 0
            done = await connection.execute(
                text("UPDATE records SET epoch = :epoch"), {"epoch": secrets.token_hex(16)}
            )
            return int(getattr(done, "rowcount", 0) or 0)
    finally:
        await engine.dispose()


def server_running(url: str) -> bool:
    """Whether a collab process has the database at `url` open (see the module's docstring)."""
    target = Target.parse(url)
    if target.dialect == "sqlite":
        if not target.sqlite_path.exists():
            return False
        connection = sqlite3.connect(target.sqlite_path, timeout=0.2, isolation_level=None)
        try:
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            connection.close()
    return asyncio.run(_pg_collab_connections(target)) > 0


async def _ensure_app_role(target: Target) -> None:
    engine = create_async_engine(target.url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(ENSURE_ROLE_SQL))
    finally:
        await engine.dispose()


async def _pg_collab_connections(target: Target) -> int:
    engine = create_async_engine(target.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": APPLICATION_NAME},
            )
    finally:
        await engine.dispose()
    return int(found or 0)


def _sqlite_copy(
    source: Path,
    dest: Path,
    *,
    exclusive: bool = False,
    then: Callable[[sqlite3.Connection], object] | None = None,
) -> None:
    """Copy `source` onto `dest`; `then` runs on the writing connection before anyone else may open it."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    # pages=-1 (the default): one step, one read transaction, hence one snapshot.
    with (
        closing(sqlite3.connect(source, timeout=5)) as reader,
        closing(sqlite3.connect(dest, timeout=5, isolation_level=None)) as writer,
    ):
        if exclusive:  # nobody may open the target half-restored
            writer.execute("PRAGMA locking_mode=EXCLUSIVE")
        reader.backup(writer)
        if then is not None:
            then(writer)
        if not exclusive:  # a backup is one self-contained file, without -wal and -shm beside it
            writer.execute("PRAGMA journal_mode=DELETE")


def _pg_args(target: Target) -> list[str]:
    url = target.url
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return [*args, "--no-password"]


def _run(argv: list[str], target: Target) -> None:
    env = dict(os.environ)
    if target.url.password is not None:
        env["PGPASSWORD"] = str(target.url.password)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed for {target.name!r}: {_first_line(done.stderr)}")


def _copied_rows(sql: str, table: str) -> list[str]:
    """The first column of `table`'s rows in a plain SQL dump's COPY block."""
    rows: list[str] = []
    inside = False
    for line in sql.splitlines():
        if line.startswith("COPY ") and f"{table} (" in line:
            inside = True
        elif inside and line == "\\.":
            break
        elif inside:
            rows.append(line.split("\t")[0])
    return rows


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["no message"])[0]
