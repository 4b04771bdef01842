"""The database a collab process talks to: one async engine, its sessions, and its migrations.

`Database` is an async context manager entered once, in the application's lifespan::

    async with Database("sqlite:///data/collab.db") as db:
        await db.migrate()
        async with db.session() as session:
            ...

SQLite (through aiosqlite) and PostgreSQL (through asyncpg) are supported; plain `sqlite://`,
`postgresql://` and `postgres://` URLs are given the async driver.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import NullPool

from persistence import stored_json, tenant_scope
from persistence.errors import DatabaseUnavailable, InvalidDatabaseUrl, SchemaTooNew, SchemaUnknown
from persistence.sqlite_cursor import use_one_hop_cursors

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite"}
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+asyncpg"}

# FULL: a committed update survives an OS crash too, not only a process kill (see NOTES, durability).
# foreign_keys is off by default in SQLite. busy_timeout lets a writer wait for another's lock.
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    # Reads through a memory map of the file's first 256 MiB (the OS page cache, shared by every
    # connection, without a copy per page read) and a 16 MiB page cache per connection instead of 2:
    # a list's index probes took half the time on 100,000 records (bench/list.py).
    "PRAGMA mmap_size=268435456",
    "PRAGMA cache_size=-16384",
)

# What a serving collab's PostgreSQL connections are called in pg_stat_activity: `collab restore` refuses
# while any is connected (persistence/backup.py).
APPLICATION_NAME = "collab"

# Any constant works; it only has to be the same for every collab process migrating one database.
_MIGRATION_LOCK_KEY = 0x636F6C6C6162  # "collab"


def normalise_url(url: str) -> URL:
    """Parse `url` and give it the async driver collab uses; raise `InvalidDatabaseUrl` otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidDatabaseUrl("<unparsable>", "not a database URL") from exc
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername in _SQLITE_DRIVERS:
        if parsed.database in (None, "", ":memory:"):
            # The in-memory pool shares one connection between all sessions, so their transactions mix.
            raise InvalidDatabaseUrl(shown, "an in-memory SQLite database is not supported; name a file")
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+asyncpg")
    raise InvalidDatabaseUrl(shown, "use sqlite:///PATH or postgresql://USER@HOST/DB")


def alembic_config() -> Config:
    """Alembic configuration for collab's migrations, without an ini file.

    New revisions: `alembic.command.revision(alembic_config(), "message")`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


@dataclass(frozen=True)
class PoolSettings:
    """PostgreSQL's connection pool: `size` kept open, `overflow` more opened under load, and how long a
    session waits for a free connection (then `sqlalchemy.exc.TimeoutError`, which `errors.is_unavailable`
    counts as "try again later") or for a new connection to open."""

    size: int = 10
    overflow: int = 10
    timeout_seconds: float = 10.0
    # asyncpg waits 60 s by default for a host that drops packets: fail sooner with a clear error.
    connect_timeout_seconds: float = 10.0


class Database:
    """One engine and its session factory; `async with` creates them and disposes of every connection."""

    def __init__(self, url: str, pool: PoolSettings | None = None, *, role: str | None = None) -> None:
        """`role`: on PostgreSQL, the role the pooled connections run as (`tenant_scope.APP_ROLE` for a
        serving collab: then row-level security applies to them); migrations always run as the login
        user, who owns the tables."""
        self.url = normalise_url(url)
        self.pool = pool or PoolSettings()
        self.role = role
        self.display_url = self.url.render_as_string(hide_password=True)
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def dialect(self) -> str:
        """`"sqlite"` or `"postgresql"`."""
        return self.url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database is not open; use `async with Database(url) as db`")
        return self._engine

    def session(self) -> AsyncSession:
        """A new session (use it as `async with`); objects stay readable after commit."""
        if self._sessions is None:
            raise RuntimeError("Database is not open; use `async with Database(url) as db`")
        return self._sessions()

    async def __aenter__(self) -> Self:
        if self._engine is not None:
            raise RuntimeError("Database is already open")
        self._engine = self._create_engine()
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    async def migrate(self) -> None:
        """Bring the schema up to the newest revision; a no-op when it is there already.

        Raises `SchemaTooNew` or `SchemaUnknown`, having changed nothing, when the database holds a schema
        this code does not know; `DatabaseUnavailable` when it cannot be reached.
        """
        # A connection of its own: on SQLite the whole upgrade must run in one transaction, which the
        # pooled connections (left in the driver's default transaction mode) do not give.
        engine = self._create_engine(migrating=True)
        try:
            async with self._connect(engine) as connection:
                await connection.run_sync(self._upgrade, alembic_config())
        finally:
            await engine.dispose()

    async def schema_revisions(self) -> tuple[str, ...]:
        """The revisions recorded in the database (empty for a database never migrated)."""
        async with self._connect(self.engine) as connection:
            return await connection.run_sync(_current_revisions)

    def _upgrade(self, connection: Connection, config: Config) -> None:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Two processes starting at once: the second waits, then finds nothing left to do.
                # (On SQLite, BEGIN IMMEDIATE in _begin_immediately already serialises them.)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            self._check_upgradable(connection, ScriptDirectory.from_config(config))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def _check_upgradable(self, connection: Connection, script: ScriptDirectory) -> None:
        current = _current_revisions(connection)
        known = {revision.revision for revision in script.walk_revisions()}
        unknown = tuple(revision for revision in current if revision not in known)
        if unknown:
            raise SchemaTooNew(self.display_url, unknown, head=script.get_current_head() or "none")
        if not current:
            tables = tuple(sorted(set(inspect(connection).get_table_names()) - {"alembic_version"}))
            if tables:
                raise SchemaUnknown(self.display_url, tables)

    @asynccontextmanager
    async def _connect(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """Connect, turning failures to reach the database into `DatabaseUnavailable`."""
        try:
            connection = await engine.connect()
        except (OSError, DBAPIError) as exc:  # OSError covers refused, unresolvable and timed out.
            raise DatabaseUnavailable(self.display_url, _reason(exc)) from exc
        try:
            yield connection
        except DBAPIError as exc:
            if exc.connection_invalidated:  # lost mid-way
                raise DatabaseUnavailable(self.display_url, _reason(exc)) from exc
            raise
        finally:
            await connection.close()

    def _create_engine(self, *, migrating: bool = False) -> AsyncEngine:
        options: dict[str, Any] = {"poolclass": NullPool} if migrating else {}
        # JSON columns: values both databases accept on the way in, values every response can render on
        # the way out (rows written before may hold Infinity or NaN); see stored_json.
        options |= {"json_serializer": stored_json.dumps, "json_deserializer": stored_json.loads}
        if self.dialect == "postgresql":
            # synchronous_commit is deliberately left at the server's setting (on by default): `off`
            # can lose committed updates on a crash.
            server_settings = {"application_name": APPLICATION_NAME}
            if not migrating:
                options |= {
                    "pool_size": self.pool.size,
                    "max_overflow": self.pool.overflow,
                    "pool_timeout": self.pool.timeout_seconds,
                }
                if self.role is not None:
                    # A startup parameter rather than SET ROLE: no round trip, and RESET ROLE (or RESET
                    # ALL) comes back to it, not to the login user.
                    server_settings["role"] = self.role
            engine = _create_async_engine(
                self.url,
                connect_args={
                    "timeout": self.pool.connect_timeout_seconds,
                    "server_settings": server_settings,
                },
                **options,
            )
            if not migrating:
                # Every transaction of the pool gets the task's tenant scope (persistence/tenant_scope.py).
                event.listen(engine.sync_engine, "begin", tenant_scope.apply)
            return engine
        self._create_sqlite_folder()
        engine = _create_async_engine(self.url, **options)
        event.listen(engine.sync_engine, "connect", use_one_hop_cursors)  # first: the pragmas use it too
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        if migrating:
            event.listen(engine.sync_engine, "connect", _disable_driver_transactions)
            event.listen(engine.sync_engine, "begin", _begin_immediately)
        return engine

    def _create_sqlite_folder(self) -> None:
        if self.url.query.get("uri"):  # a `file:` URI is not a path
            return
        assert self.url.database is not None  # normalise_url rejects a missing database
        try:
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnavailable(self.display_url, _reason(exc)) from exc


@functools.cache
def head_revision() -> str:
    """The newest migration this code ships: the revision a database it serves must be at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def _current_revisions(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _set_sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            _execute_pragma(cursor, pragma)
    finally:
        cursor.close()


# Switching a brand-new file to WAL takes an exclusive lock that SQLite does not wait for (busy_timeout
# does not apply): two first connections at once (two processes starting, or a pool's first two) and the
# loser fails with "database is locked". Once the file is WAL the pragma returns at once, so this retry
# only ever runs in that race, at first start; a short blocking pause there is harmless.
_LOCKED_RETRIES = 50
_LOCKED_PAUSE_SECONDS = 0.02


def _execute_pragma(cursor: Any, pragma: str) -> None:
    for attempt in range(_LOCKED_RETRIES):
        try:
            cursor.execute(pragma)
            return
        except Exception as exc:
            if "database is locked" not in str(exc) or attempt == _LOCKED_RETRIES - 1:
                raise
            time.sleep(_LOCKED_PAUSE_SECONDS)


def _disable_driver_transactions(dbapi_connection: Any, _record: object) -> None:
    # The sqlite3 driver starts no transaction before DDL, so each CREATE would commit on its own and an
    # interrupted first migration would leave tables without a version row. SQLAlchemy's documented
    # recipe: turn the driver's handling off and emit BEGIN ourselves (_begin_immediately).
    dbapi_connection.isolation_level = None


def _begin_immediately(connection: Connection) -> None:
    # IMMEDIATE takes the write lock before the version check, so concurrent migrations run one by one.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _reason(exc: BaseException) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(original).__name__}: {original}".splitlines()[0]
