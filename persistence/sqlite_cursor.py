"""SQLite statements through SQLAlchemy in one trip to aiosqlite's worker thread instead of four.

SQLAlchemy's aiosqlite adapter makes an aiosqlite cursor per statement (a trip to the thread), executes
(a trip), fetches the rows (a trip) and closes the cursor (a trip): each trip is a future, a queue hand-off,
a wake-up of the event loop through its self-pipe and a loop turn. A WebSocket join made 25.7 such trips
(`bench.join_profile`), 21 of them for its five or six statements. `OneHopCursor` runs the whole statement,
rows included, in one function on the thread (through aiosqlite's `_execute`, as its own methods and the
log appender do) with a plain `sqlite3` cursor that lives only for that call, and keeps what SQLAlchemy
reads afterwards (description, rows, rowcount, lastrowid).

It relies on SQLAlchemy's and aiosqlite's internals (`AsyncAdapt_dbapi_cursor`, `Connection._execute`),
so both are pinned in pyproject.toml and `tests/persistence/test_sqlite_cursor.py` checks that it is the
cursor in use.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the worker thread: the statement, and everything SQLAlchemy may read of its cursor."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statements each take one trip to the worker thread (see above)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:
        # Not the parent's: it opens an aiosqlite cursor (a trip) that this class never uses.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._statement(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        await self._statement(operation, seq_of_parameters, many=True)

    async def _statement(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await connection._execute(_run, connection._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        # The sqlite3 cursor is closed already, on the thread; the rows and description stay readable.
        return None

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        return None  # sqlite3 has one result set per statement

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3's own is a no-op too


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, with `OneHopCursor` for its cursors, whose commit and
    rollback take no trip when no transaction is open.

    The driver opens a transaction only before a write, so a session that only read, and the pool's reset
    of every connection it takes back, end with nothing to commit or roll back: `sqlite3` itself then does
    nothing, yet each was a trip to the thread (3 of a cold join's 10). `in_transaction` reads SQLite's
    autocommit flag; nothing runs on the connection meanwhile (SQLAlchemy ends a transaction only between
    statements, and a connection being reset is nobody's)."""

    __slots__ = ()
    _cursor_cls = OneHopCursor

    def rollback(self) -> None:
        if self._open_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._open_transaction():
            super().commit()

    def _open_transaction(self) -> bool:
        driver = self._connection._connection  # None once closed: the parent does nothing then either
        return driver is not None and driver.in_transaction


def use_one_hop_cursors(dbapi_connection: Any, _record: object) -> None:
    """A `connect` event listener: the new connection's adapter makes `OneHopCursor`s. (The adapter's
    class is swapped: it has no instance attributes, and SQLAlchemy offers no hook to choose it.)"""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneHopConnection
