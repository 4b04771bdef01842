"""Errors raised by the persistence layer.

Callers catch these, never SQLAlchemy's or a driver's exceptions, for the conditions listed here. Each
knows its HTTP status and WebSocket close code as collab/errors.py describes (`status` None: no answer of
its own, a 500 with its traceback logged); persistence sits below everything, so the close codes are plain
numbers here, checked against collab/close_codes.py by tests/web/test_errors.py.

    PersistenceError                 500 / 1011  base of everything below
    ├── InvalidDatabaseUrl           500 / 1011  the URL names no database kind collab supports (also a
    │                                            ValueError)
    ├── DatabaseUnavailable          503 / 1013  the database cannot be reached or opened (server down, bad
    │                                            credentials, unwritable file), or did not answer within the
    │                                            writer's grace; carries the URL without its password
    ├── WriteRefused                 500 / 1011  the database (or its driver) refused what was sent: a value
    │   │                                        it cannot hold, a constraint; sending it again cannot succeed
    │   └── UnstorableValue          500 / 1011  a value JSON or a text column cannot hold (NaN, ±Infinity, a
    │                                            lone surrogate), found before anything was sent
    └── SchemaError                  500 / 1011  the database holds a schema this code must not touch
        ├── SchemaTooNew                         its revision is unknown here: written by a newer collab
        └── SchemaUnknown                        it has tables but no migration history: not a collab
                                                 database, or one whose first migration was interrupted
                                                 outside a transaction

A `SchemaError` is raised before anything is written, so the database is left exactly as it was.
`is_unavailable` is the one place that tells a driver's "not reachable now" from "refused this"; the update
writer retries only what it calls unavailable, and fails everything else at once.
"""

from __future__ import annotations

import sqlite3
from typing import ClassVar

from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class PersistenceError(Exception):
    """Base class of every error the persistence layer raises on purpose."""

    status: ClassVar[int | None] = None
    error_code: ClassVar[str] = "internal"
    close_code: ClassVar[int] = 1011  # close_codes.INTERNAL_ERROR
    close_reason: ClassVar[str | None] = "internal error"


class InvalidDatabaseUrl(PersistenceError, ValueError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"unsupported database URL {url!r}: {reason}")
        self.url = url
        self.reason = reason


class DatabaseUnavailable(PersistenceError):
    """The database could not be reached or opened. `url` never contains a password."""

    status = 503
    error_code = "unavailable"
    close_code = 1013  # close_codes.TRY_AGAIN_LATER
    close_reason = "database unavailable"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database {url} is unavailable: {reason}")
        self.url = url
        self.reason = reason


class WriteRefused(PersistenceError):
    """The database answered, and refused this write; `reason` says why, without any value in it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnstorableValue(WriteRefused, ValueError):
    pass


class SchemaError(PersistenceError):
    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"database {url}: {message}")
        self.url = url


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer version: running older code against it could corrupt it."""

    def __init__(self, url: str, revisions: tuple[str, ...], head: str) -> None:
        super().__init__(
            url,
            f"schema revision {', '.join(revisions)} is unknown to this version of collab (newest known: "
            f"{head}); it was probably written by a newer collab. Upgrade collab or use another database. "
            "Nothing was changed.",
        )
        self.revisions = revisions
        self.head = head


class SchemaUnknown(SchemaError):
    """Tables exist but Alembic's version table does not record any revision."""

    def __init__(self, url: str, tables: tuple[str, ...]) -> None:
        super().__init__(
            url,
            f"it already has tables ({', '.join(tables)}) but no collab schema revision; refusing to "
            "migrate it. Use an empty database. Nothing was changed.",
        )
        self.tables = tables


# PostgreSQL SQLSTATE classes and codes that mean "not now" rather than "not this": connection exceptions,
# insufficient resources (disk full, too many connections), operator intervention (shutdown, cancelled
# statement), system errors; and the transient conflicts a retry resolves.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# SQLite result codes with the same meaning: another writer holds the lock, the file cannot be opened,
# read or written, the disk is full.
_UNAVAILABLE_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL",
                       "SQLITE_NOMEM", "SQLITE_PROTOCOL", "SQLITE_READONLY")  # fmt: skip


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or did not answer in time (try again later),
    as opposed to having refused what was sent. Looks through SQLAlchemy's wrapper and the causes."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        if _says_unavailable(link):
            return True
        if isinstance(link, DBAPIError) and isinstance(link.orig, BaseException):
            pending.append(link.orig)
        # Only explicit causes (`raise ... from`): an implicit context may be an unrelated earlier error.
        if link.__cause__ is not None:
            pending.append(link.__cause__)
    return False


def _says_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseUnavailable | OSError):  # OSError: refused, reset, unresolvable, timed out
        return True
    if isinstance(exc, PoolTimeout):  # every pooled connection busy for `pool_timeout`: a retry can pass
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None)  # asyncpg's server errors carry it
    if isinstance(sqlstate, str) and (
        sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
    ):
        return True
    if isinstance(exc, AsyncpgInterfaceError) and "closed" in str(exc):  # "connection is closed"
        return True
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name.startswith(_UNAVAILABLE_SQLITE)
    return False
