"""Errors raised by the persistence layer.

Callers catch these, never SQLAlchemy's or a driver's exceptions, for the conditions listed here:

    PersistenceError                 base of everything below
    ├── InvalidDatabaseUrl           the URL names no database kind collab supports (also a ValueError)
    ├── DatabaseUnavailable          the database cannot be reached or opened (server down, bad
    │                                credentials, unwritable file); carries the URL without its password
    └── SchemaError                  the database holds a schema this code must not touch
        ├── SchemaTooNew             its revision is unknown here: written by a newer collab
        └── SchemaUnknown            it has tables but no migration history: not a collab database,
                                     or one whose first migration was interrupted outside a transaction

A `SchemaError` is raised before anything is written, so the database is left exactly as it was.
"""

from __future__ import annotations


class PersistenceError(Exception):
    """Base class of every error the persistence layer raises on purpose."""


class InvalidDatabaseUrl(PersistenceError, ValueError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"unsupported database URL {url!r}: {reason}")
        self.url = url
        self.reason = reason


class DatabaseUnavailable(PersistenceError):
    """The database could not be reached or opened. `url` never contains a password."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database {url} is unavailable: {reason}")
        self.url = url
        self.reason = reason


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
