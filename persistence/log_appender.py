"""The hot path of the update log: appending batches on one connection held for the writer's lifetime.

Every live edit passes through here, so a commit must cost little. Through an ORM session a one-row
commit cost ~1.2 ms of CPU on this machine (pool checkout and reset, several thread hops of aiosqlite);
through the driver connection it costs ~0.2 ms. So the appender speaks to the driver directly, with the
same tables and value formats SQLAlchemy uses, and takes a fresh connection after any failure.

Field changes are written in the same transaction as their update. Typing makes one change per keystroke;
a person's run of changes to one field within `burst_seconds` extends one entry (persistence/bursts.py),
whose `after`, when it is a long text, is written at most once per `deferred_seconds` (and when the burst
closes or the writer flushes, `everything=True`), so a keystroke's cost does not grow with the text.

The feed's events are written here too, in the next transaction after they are handed over: on SQLite a
second writer (the feed's own session) waited on this connection's write lock for 15 to 250 ms per publish
under load. On PostgreSQL each transaction with events holds their tenants' feed locks to its commit
(`persistence.events.lock_tenants`), so that ids become visible in id order also when several nodes write.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence import events as events_table
from persistence import record_values, stored_json, unique_values
from persistence.bursts import Bursts, Plan, Unwritten, deferrable
from persistence.changes import NewChange
from persistence.database import Database
from persistence.errors import DatabaseUnavailable, PersistenceError, WriteRefused, is_unavailable
from persistence.events import NewEvent
from persistence.stored_json import derived_text
from persistence.tenant_scope import SYSTEM_CONNECTION_SQL
from persistence.unique_values import Taken
from persistence.update_log import NewUpdate

_INSERT_SQLITE = (
    "INSERT INTO updates (record_id, user_id, session_id, origin, created_at, data) VALUES (?, ?, ?, ?, ?, ?)"
)
_TOUCH_SQLITE = (
    "UPDATE records SET updated_at = ?, updated_by = COALESCE(?, updated_by), summary = ?, search_text = ?"
    " WHERE id = ?"
)
_INSERT_POSTGRES = (
    "INSERT INTO updates (record_id, user_id, session_id, origin, created_at, data)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_TOUCH_POSTGRES = (
    "UPDATE records SET updated_at = $1, updated_by = COALESCE($2, updated_by), summary = $3,"
    " search_text = $4 WHERE id = $5"
)
_CHANGE_COLUMNS = (
    "record_id, field, before, after, user_id, session_id, origin, at, conflict, lost_value, lost_user_id,"
    " winner_user_id, comment"
)
_INSERT_CHANGE_SQLITE = (
    f"INSERT INTO changes ({_CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CHANGE_POSTGRES = (
    f"INSERT INTO changes ({_CHANGE_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"
)
_CLAIM_SQLITE = "INSERT INTO client_ids (record_id, client_id, user_id) VALUES (?, ?, ?)"
_CLAIM_POSTGRES = "INSERT INTO client_ids (record_id, client_id, user_id) VALUES ($1, $2, $3)"
_EXTEND_CHANGE_SQLITE = "UPDATE changes SET after = ?, at = ? WHERE id = ?"
_EXTEND_CHANGE_POSTGRES = "UPDATE changes SET after = $1, at = $2 WHERE id = $3"
_EVENT_COLUMNS = "tenant_id, collection_id, record_id, type, at, user_id, fields, upto_change_id, authors"
_EVENT_WIDTH = 9  # columns per event row
_EVENTS_PER_STATEMENT = 1000  # 9,000 parameters: within both databases' limit of 32,766

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Appended:
    """What one append wrote: the newest change id per record, the ids of the events, in order, and the
    unique values each record could not be indexed with (another record holds them)."""

    newest_changes: dict[str, int]
    event_ids: list[int]
    taken: dict[str, list[Taken]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordTouch:
    """A record's row after a batch: who changed it last (None keeps the previous), and its summary."""

    user_id: str | None
    summary: dict[str, Any]
    search_text: str
    # The record's unique values now, (field, key) (persistence/unique_values.py): its rows are replaced
    # by these. None: the record has no unique field, and its rows are left alone.
    unique_keys: tuple[tuple[str, str], ...] | None = None


def _json(value: Any) -> str:
    """A value a write brings (a field's new value, the value that lost a conflict): `UnstorableValue`
    when neither database could hold it, and the writer refuses that write."""
    # Both drivers take JSON columns as text here (SQLAlchemy's asyncpg codec encodes str for `json`).
    # Values come from whatever clients put in a document: types JSON lacks are written as text.
    return stored_json.dumps(value, default=_as_text)


def _derived_json(value: Any) -> str:
    """A value read from the document as it already was (a field's previous value, the list summary, the
    feed's fields): stored with what JSON cannot hold repaired, since refusing a write for a value it
    did not bring would make a stored bad value permanent."""
    return stored_json.dumps_derived(value, default=_as_text)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return str(value)


def _field_name(name: str) -> str:
    # Clients may write any key into a document; the column holds 64 characters and no NUL.
    return name.replace("\x00", "")[:64]


@dataclass(frozen=True, slots=True)
class _EncodedChange:
    """A change with the values it brings already encoded: once per append, before anything is sent (a
    keystroke at the end of a long text carries the whole text; each encoding of 300,000 characters and
    its check cost ~2 ms)."""

    change: NewChange
    after: str | None  # None: a long text, checked but not encoded (persistence/bursts.py)
    lost_value: str


def _encoded(change: NewChange) -> _EncodedChange:
    if deferrable(change.after):
        stored_json.check_text(change.after)  # refused now, as an encoding would be
        return _EncodedChange(change, None, _json(change.lost_value))
    return _EncodedChange(change, _json(change.after), _json(change.lost_value))


def _change_row(encoded: _EncodedChange, at: Any) -> tuple[Any, ...]:
    change = encoded.change
    return (
        change.record_id,
        _field_name(change.field),
        _derived_json(change.before),
        _derived_json(change.after) if encoded.after is None else encoded.after,
        change.user_id,
        change.session_id,
        change.origin,
        at,
        change.conflict,
        encoded.lost_value,
        change.lost_user_id,
        change.winner_user_id,
        None if change.comment is None else derived_text(change.comment),
    )


def _extend_row(entry: Unwritten, stored_time: Callable[[datetime], Any]) -> tuple[Any, ...]:
    # Checked when its change came (`_encoded`); repaired rather than refused here all the same.
    return (_derived_json(entry.after), stored_time(entry.at), entry.change_id)


def _claims(updates: Sequence[NewUpdate]) -> list[tuple[str, int, str | None]]:
    return [(u.record_id, client, u.claimed_by) for u in updates for client in u.claims]


def _sqlite_time(moment: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime writes and reads back (UTC, no zone suffix).
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%S.%f")


def _utc(moment: datetime) -> datetime:
    # Times read back from SQLite come without a zone; all stored times are UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _event_statements(
    events: Sequence[NewEvent], placeholder: Callable[[int], str], stored_time: Callable[[datetime], Any]
) -> Iterator[tuple[str, list[Any]]]:
    """Multi-row INSERTs of the events, with their parameters (a round trip per event cost more than the
    rest of a publish under load).

    Ids come back through RETURNING, whose row order neither database promises; the rows get their ids in
    VALUES order, so the sorted ids of a statement are its events' in order."""
    for start in range(0, len(events), _EVENTS_PER_STATEMENT):
        part = events[start : start + _EVENTS_PER_STATEMENT]
        rows = ", ".join(
            "("
            + ", ".join(placeholder(_EVENT_WIDTH * row + column) for column in range(1, _EVENT_WIDTH + 1))
            + ")"
            for row in range(len(part))
        )
        sql = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES {rows} RETURNING id"
        yield sql, [value for event in part for value in _event_row(event, stored_time(event.at))]


def _event_row(event: NewEvent, at: Any) -> tuple[Any, ...]:
    return (
        event.tenant_id,
        event.collection_id,
        event.record_id,
        event.type,
        at,
        event.user_id,
        _derived_json(event.fields),
        event.upto_change_id,
        None if event.authors is None else _derived_json(list(event.authors)),
    )


class LogAppender:
    def __init__(self, database: Database, burst_seconds: float = 3.0, deferred_seconds: float = 1.0) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None
        self._driver: Any = None
        self._bursts = Bursts(timedelta(seconds=burst_seconds), timedelta(seconds=deferred_seconds))

    async def __aenter__(self) -> LogAppender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._bursts.unwritten:  # the SQL writer flushed them already; a bare appender's user may not
                await self.append([], {}, datetime.now(UTC), everything=True)
        except PersistenceError as error:  # the update log holds those keystrokes: the history is behind
            log.error("stopping with history entries not brought up to date: %s", error)
        finally:
            await self._drop()

    def history_due_in(self, now: datetime) -> float | None:
        """Seconds until a history entry's unwritten value is due (an `append` writes it), or None."""
        return self._bursts.due_in(now)

    @property
    def history_unwritten(self) -> bool:
        """Whether a history entry's newest value waits to be written (`append(..., everything=True)`)."""
        return self._bursts.unwritten

    def forget_unwritten(self) -> None:
        """The database refused writing them (a bug, as they are stored repaired): stop retrying."""
        self._bursts.forget_unwritten()

    async def append(
        self,
        updates: Sequence[NewUpdate],
        touched: Mapping[str, RecordTouch],
        at: datetime,
        changes: Sequence[NewChange] = (),
        events: Sequence[NewEvent] = (),
        everything: bool = False,
    ) -> Appended:
        """Commit the updates (in order), their field changes, what `touched` says of each record, and the
        feed's events, in one transaction, with the history values that are due (`everything`: all that
        wait). On failure nothing is committed and the next call reconnects; the failure is
        `DatabaseUnavailable` (try again later) or `WriteRefused` (this cannot commit)."""
        # Before anything is sent: a value no database can hold costs no round trip and no reconnection
        # (the writer splits a refused batch to find the write; on PostgreSQL that took seconds otherwise).
        encoded = [_encoded(change) for change in changes]
        bursts = self._bursts.plan(at)  # applied only once committed
        taken: dict[str, list[Taken]] = {}
        try:
            driver = await self._driver_connection()
            if self._database.dialect == "sqlite":
                event_ids = await self._append_sqlite(
                    driver, updates, touched, encoded, events, bursts, everything, taken
                )
            else:
                event_ids = await self._append_postgres(
                    driver, updates, touched, encoded, events, bursts, everything, taken
                )
        except BaseException as exc:
            await self._drop()
            if isinstance(exc, PersistenceError) or not isinstance(exc, Exception):
                raise
            # The one place a driver's exception is translated for the writer.
            if is_unavailable(exc):
                raise DatabaseUnavailable(self._database.display_url, _reason(exc)) from exc
            raise WriteRefused(_reason(exc)) from exc
        bursts.commit()
        return Appended(bursts.newest(), event_ids, taken)

    async def _append_sqlite(
        self,
        driver: Any,
        updates: Sequence[NewUpdate],
        touched: Mapping[str, RecordTouch],
        changes: Sequence[_EncodedChange],
        events: Sequence[NewEvent],
        bursts: Plan,
        everything: bool,
        taken: dict[str, list[Taken]],
    ) -> list[int]:
        # The whole transaction in one call on aiosqlite's worker thread: one hop there and back instead
        # of one per statement (a commit made about eight, 46 futex calls per update at 100 updates/s).
        # aiosqlite has no public way to run a function on its thread; `_execute` is what its own
        # methods use. The loop does not touch `self._bursts` while this runs: appends are sequential.
        def write() -> list[int]:
            return self._write_sqlite(
                driver._conn, updates, touched, changes, events, bursts, everything, taken
            )

        result: list[int] = await driver._execute(write)
        return result

    def _write_sqlite(
        self,
        connection: sqlite3.Connection,
        updates: Sequence[NewUpdate],
        touched: Mapping[str, RecordTouch],
        changes: Sequence[_EncodedChange],
        events: Sequence[NewEvent],
        bursts: Plan,
        everything: bool,
        taken: dict[str, list[Taken]],
    ) -> list[int]:
        created = _sqlite_time(bursts.at)
        if updates:
            connection.executemany(
                _INSERT_SQLITE,
                [(u.record_id, u.user_id, u.session_id, u.origin, created, u.data) for u in updates],
            )
            if claims := _claims(updates):
                connection.executemany(_CLAIM_SQLITE, claims)
        if touched:
            connection.executemany(
                _TOUCH_SQLITE,
                [
                    (created, t.user_id, _derived_json(t.summary), derived_text(t.search_text), record)
                    for record, t in touched.items()
                ],
            )
            rewrite = record_values.Rewrite()
            for record, t in touched.items():
                stored = connection.execute(record_values.SELECT_SQLITE, (record,))
                rewrite.add(record, stored, record_values.sqlite_parameters(record, t.summary))
            if rewrite.delete:
                connection.executemany(record_values.DELETE_FIELD_SQLITE, rewrite.delete)
            if rewrite.update:
                connection.executemany(record_values.UPDATE_SQLITE, rewrite.update)
            if rewrite.insert:
                connection.executemany(record_values.INSERT_SQLITE, rewrite.insert)
            _index_unique_sqlite(connection, touched, taken)
        for encoded in changes:
            change = encoded.change
            burst = bursts.extends(change)
            if burst is not None:
                if encoded.after is not None:
                    connection.execute(_EXTEND_CHANGE_SQLITE, (encoded.after, created, burst.change_id))
                bursts.extended(change, burst, written=encoded.after is not None)
                continue
            if (closed := bursts.closing(change)) is not None:
                connection.execute(_EXTEND_CHANGE_SQLITE, _extend_row(closed, _sqlite_time))
            cursor = connection.execute(_INSERT_CHANGE_SQLITE, _change_row(encoded, created))
            bursts.opened(change, cursor.lastrowid or 0)
        if due := bursts.due(everything):
            connection.executemany(_EXTEND_CHANGE_SQLITE, [_extend_row(e, _sqlite_time) for e in due])
        event_ids = []
        for sql, parameters in _event_statements(events, lambda _: "?", _sqlite_time):
            event_ids += sorted(row[0] for row in connection.execute(sql, parameters).fetchall())
        connection.commit()
        return event_ids

    async def _append_postgres(
        self,
        driver: Any,
        updates: Sequence[NewUpdate],
        touched: Mapping[str, RecordTouch],
        changes: Sequence[_EncodedChange],
        events: Sequence[NewEvent],
        bursts: Plan,
        everything: bool,
        taken: dict[str, list[Taken]],
    ) -> list[int]:
        event_ids = []
        at = bursts.at
        async with driver.transaction():
            if updates:
                await driver.executemany(
                    _INSERT_POSTGRES,
                    [(u.record_id, u.user_id, u.session_id, u.origin, at, u.data) for u in updates],
                )
                if claims := _claims(updates):
                    await driver.executemany(_CLAIM_POSTGRES, claims)
            if touched:
                await driver.executemany(
                    _TOUCH_POSTGRES,
                    [
                        (at, t.user_id, _derived_json(t.summary), derived_text(t.search_text), record)
                        for record, t in touched.items()
                    ],
                )
                stored: dict[str, list[Any]] = {}
                for row in await driver.fetch(record_values.SELECT_POSTGRES, list(touched)):
                    stored.setdefault(row[0], []).append(tuple(row)[1:])
                rewrite = record_values.Rewrite()
                for record, t in touched.items():
                    new = record_values.postgres_parameters(record, t.summary)
                    rewrite.add(record, iter(stored.get(record, ())), new)
                if rewrite.delete:
                    await driver.executemany(record_values.DELETE_FIELD_POSTGRES, rewrite.delete)
                if rewrite.update:
                    await driver.executemany(record_values.UPDATE_POSTGRES, rewrite.update)
                if rewrite.insert:
                    await driver.executemany(record_values.INSERT_POSTGRES, rewrite.insert)
                await self._index_unique_postgres(driver, touched, taken)
            for encoded in changes:
                change = encoded.change
                burst = bursts.extends(change)
                if burst is not None:
                    if encoded.after is not None:
                        await driver.execute(_EXTEND_CHANGE_POSTGRES, encoded.after, at, burst.change_id)
                    bursts.extended(change, burst, written=encoded.after is not None)
                    continue
                if (closed := bursts.closing(change)) is not None:
                    await driver.execute(_EXTEND_CHANGE_POSTGRES, *_extend_row(closed, _utc))
                change_id = await driver.fetchval(_INSERT_CHANGE_POSTGRES, *_change_row(encoded, at))
                bursts.opened(change, change_id)
            if due := bursts.due(everything):
                await driver.executemany(_EXTEND_CHANGE_POSTGRES, [_extend_row(e, _utc) for e in due])
            if events:  # late in the transaction (held to its commit): other nodes wait as little as can be
                await events_table.lock_tenants(driver, (event.tenant_id for event in events))
            for sql, parameters in _event_statements(events, lambda number: f"${number}", _utc):
                event_ids += sorted(row[0] for row in await driver.fetch(sql, *parameters))
        return event_ids

    async def _index_unique_postgres(
        self, driver: Any, touched: Mapping[str, RecordTouch], taken: dict[str, list[Taken]]
    ) -> None:
        for record, touch in touched.items():
            if touch.unique_keys is None:
                continue
            await driver.execute(unique_values.DELETE_POSTGRES, record)
            for name, key in touch.unique_keys:
                status = await driver.execute(unique_values.INSERT_POSTGRES, name, key, record)
                if status.endswith(" 0"):  # "INSERT 0 0": another record holds it (or this one is deleted)
                    rows = await driver.fetch(unique_values.HOLDER_POSTGRES, name, key, record)
                    for holder_id, summary in rows:
                        taken.setdefault(record, []).append(Taken(name, key, holder_id, _summary(summary)))

    async def _driver_connection(self) -> Any:
        if self._driver is None:
            self._connection = await self._database.engine.connect()
            raw = await self._connection.get_raw_connection()
            self._driver = raw.driver_connection
            if self._database.dialect == "postgresql":
                # Batches hold every tenant's writes: system work, set once for this connection, which
                # never goes back to the pool (`_drop` invalidates it), at no cost per commit.
                await self._driver.execute(SYSTEM_CONNECTION_SQL)
        return self._driver

    async def _drop(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is None:
            return
        try:
            await connection.invalidate()
            await connection.close()
        except Exception as exc:  # a connection that is already gone: the caller's error is the one to tell
            log.warning("dropping the log's database connection failed: %s", _reason(exc))


def _index_unique_sqlite(
    connection: sqlite3.Connection, touched: Mapping[str, RecordTouch], taken: dict[str, list[Taken]]
) -> None:
    """Replace the unique values of the records that have unique fields; a value another record holds is
    left out and reported (`taken`), never a reason to refuse the write."""
    for record, touch in touched.items():
        if touch.unique_keys is None:
            continue
        connection.execute(unique_values.DELETE_SQLITE, (record,))
        for name, key in touch.unique_keys:
            cursor = connection.execute(unique_values.INSERT_SQLITE, (name, key, record))
            if cursor.rowcount == 0:
                rows = connection.execute(unique_values.HOLDER_SQLITE, (name, key, record)).fetchall()
                for holder_id, summary in rows:
                    taken.setdefault(record, []).append(Taken(name, key, holder_id, _summary(summary)))


def _summary(stored: Any) -> dict[str, Any] | None:
    """A summary as the driver hands it back (JSON text on both), or None when it does not read."""
    if isinstance(stored, str):
        try:
            stored = stored_json.loads(stored)
        except ValueError:
            return None
    return stored if isinstance(stored, dict) else None


def _reason(exc: BaseException) -> str:
    # The first line of the driver's own message: it names the problem (a constraint, a column, an
    # encoding), never the whole statement or its parameters, which may hold anything a client sent.
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(original).__name__}: {original}".splitlines()[0][:300]
