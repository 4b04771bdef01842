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


async def test_every_statement_is_one_trip_and_reads_back_what_the_cursor_said(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = 0
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        nonlocal trips
        trips += 1
        return await execute(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    async with database, database.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert type(raw.driver_connection) is aiosqlite.Connection
        assert type(raw.dbapi_connection) is OneHopConnection
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)

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
        assert trips == 5, "one trip per statement"

        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        await connection.rollback()
