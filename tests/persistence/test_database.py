import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from persistence.database import Database, alembic_config, normalise_url
from persistence.errors import DatabaseUnavailable, InvalidDatabaseUrl, SchemaTooNew, SchemaUnknown
from persistence.models import Base, Tenant

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migrate_creates_the_schema_of_the_models(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert await database.schema_revisions() == (HEAD,)


async def test_migrate_twice_changes_nothing(database: Database) -> None:
    async with database.session() as session, session.begin():
        session.add(Tenant(slug="acme", name="Acme"))
    await database.migrate()
    async with database.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM tenants")) == 1
    assert await database.schema_revisions() == (HEAD,)


async def test_concurrent_migrations_run_one_after_the_other(database_url: str) -> None:
    # The file exists (in WAL mode) before the race: two first connections to a brand-new SQLite file both
    # switch it to WAL, and the loser's PRAGMA fails at once with "database is locked" (SQLite does not
    # wait for that lock), which failed this test now and then; what it checks is the migrations' lock.
    async with Database(database_url) as first:
        await first.schema_revisions()
    async with Database(database_url) as first, Database(database_url) as second:
        await asyncio.gather(first.migrate(), second.migrate())
        assert await first.schema_revisions() == (HEAD,)


async def test_an_interrupted_migration_leaves_nothing_behind(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = command.upgrade

    def upgrade_then_crash(*args: Any, **kwargs: Any) -> None:
        real_upgrade(*args, **kwargs)
        raise RuntimeError("crash after the DDL, before the commit")

    async with Database(database_url) as db:
        monkeypatch.setattr(command, "upgrade", upgrade_then_crash)
        with pytest.raises(RuntimeError, match="crash"):
            await db.migrate()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(lambda sync: inspect(sync).get_table_names()) == []
        monkeypatch.setattr(command, "upgrade", real_upgrade)
        await db.migrate()
        assert await db.schema_revisions() == (HEAD,)


async def test_a_newer_schema_is_refused_and_left_untouched(database_url: str) -> None:
    async with Database(database_url) as db:
        await db.migrate()
        async with db.session() as session, session.begin():
            session.add(Tenant(slug="acme", name="Acme"))
            await session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))

    async with Database(database_url) as db:
        with pytest.raises(SchemaTooNew, match="9999_future") as raised:
            await db.migrate()
        assert raised.value.revisions == ("9999_future",)
        assert raised.value.head == HEAD
        async with db.session() as session:
            assert await session.scalar(text("SELECT version_num FROM alembic_version")) == "9999_future"
            assert await session.scalar(text("SELECT slug FROM tenants")) == "acme"


async def test_tables_without_migration_history_are_refused_and_kept(database_url: str) -> None:
    async with Database(database_url) as db:
        async with db.session() as session, session.begin():
            await session.execute(text("CREATE TABLE notes (body VARCHAR(20))"))
            await session.execute(text("INSERT INTO notes VALUES ('keep me')"))
        with pytest.raises(SchemaUnknown, match="notes"):
            await db.migrate()
        async with db.session() as session:
            assert await session.scalar(text("SELECT body FROM notes")) == "keep me"
        assert await db.schema_revisions() == ()


async def test_durability_settings_are_in_effect(database: Database) -> None:
    async with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA synchronous")) == 2  # FULL
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 5000
        else:
            assert await connection.scalar(text("SHOW synchronous_commit")) != "off"


async def test_an_unreachable_database_is_reported_without_its_password(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        (tmp_path / "not-a-folder").write_text("")
        url = f"sqlite:///{tmp_path / 'not-a-folder' / 'collab.db'}"
        with pytest.raises(DatabaseUnavailable):  # entering is what fails
            async with Database(url) as db:
                await db.migrate()
    else:
        # Port 1 on the loopback: nothing listens there, so the connection is refused at once.
        async with Database("postgresql://collab:s3cret@127.0.0.1:1/collab") as db:
            with pytest.raises(DatabaseUnavailable) as raised:
                await db.migrate()
        assert "s3cret" not in str(raised.value)
        assert raised.value.url == "postgresql+asyncpg://collab:***@127.0.0.1:1/collab"


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("sqlite:///data/collab.db", "sqlite+aiosqlite:///data/collab.db"),
        ("sqlite+aiosqlite:////abs/collab.db", "sqlite+aiosqlite:////abs/collab.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_get_the_async_driver(url: str, normalised: str) -> None:
    assert normalise_url(url).render_as_string(hide_password=False) == normalised


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "not a url"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        Database(url)


async def test_first_connections_to_a_new_sqlite_file_at_once_all_open(tmp_path: Path) -> None:
    """Two processes starting at once on a new file: switching it to WAL must not fail the loser."""
    for round_ in range(40):
        url = f"sqlite+aiosqlite:///{tmp_path / f'new-{round_}.db'}"
        databases = [Database(url) for _ in range(6)]
        try:
            await asyncio.gather(*(database.__aenter__() for database in databases))
            await asyncio.gather(*(database.schema_revisions() for database in databases))
        finally:
            await asyncio.gather(*(database.__aexit__(None, None, None) for database in databases))
