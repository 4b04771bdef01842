"""SQLite statements take one trip to aiosqlite's thread each (persistence/sqlite_cursor.py), and SQLAlchemy
still sees everything a cursor tells: rows, RETURNING, rowcount, lastrowid, executemany and errors."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from persistence.database import Database
from persistence.sqlite_cursor import OneHopConnection, OneHopCursor


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'one-hop.db'}")


class Trips:
    """Counts trips to aiosqlite's worker thread, once installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._monkeypatch = monkeypatch

    def install(self) -> None:
        execute = aiosqlite.Connection._execute

        async def counted(self_: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
            self.count += 1
            return await execute(self_, fn, *args, **kwargs)  # type: ignore[arg-type]

        self._monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


async def test_every_statement_is_one_trip_and_reads_back_what_the_cursor_said(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = Trips(monkeypatch)
    async with database, database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert type(raw.driver_connection) is aiosqlite.Connection
        assert type(raw.dbapi_connection) is OneHopConnection
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        counter.install()

        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        assert (inserted.rowcount, inserted.lastrowid) == (1, 1)
        returned = await connection.execute(text("INSERT INTO t (name) VALUES ('bob') RETURNING id, name"))
        assert returned.all() == [(2, "bob")]
        many = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "cy"}, {"name": "di"}]
        )
        assert many.rowcount == 2
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 2"))
        assert updated.rowcount == 2
        rows = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert rows.keys() == ["id", "name"]
        assert rows.all() == [(1, "ann"), (2, "bob"), (3, "cy!"), (4, "di!")]
        assert counter.count == 5, "one trip per statement"

        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        await connection.rollback()


async def test_ending_a_transaction_takes_a_trip_only_when_one_is_open(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = Trips(monkeypatch)
    async with database:
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        counter.install()

        async with database.session() as session:  # reads only: the driver opened no transaction
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
            await session.commit()
        assert counter.count == 1, "the statement; no commit, no rollback when the pool takes it back"

        async with database.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('kept')"))
            await session.commit()
        assert counter.count == 3, "a write's commit is a trip"

        async with database.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('undone')"))
            await session.rollback()
        assert counter.count == 5, "and so is its rollback"

        async with database.engine.connect() as connection:
            rows = await connection.execute(text("SELECT name FROM t"))
            assert rows.scalars().all() == ["kept"]
