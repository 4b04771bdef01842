"""The update writer when a commit fails, on SQLite and PostgreSQL, with real documents and databases.

A write the database refuses is refused alone (with every later write of its record) and everything else in
its batch commits; a database that goes away is waited for, never a reason to refuse; and the shutdown gives
up on a database that stays away after `shutdown_grace_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Map
from sqlalchemy import func, make_url, select

from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, PendingWrite, Refused, WriteOutcome
from persistence.database import Database
from persistence.errors import DatabaseUnavailable
from persistence.events import NewEvent, after
from persistence.models import ChangeRow, Collection, Record, Tenant, UpdateRow, new_id
from tests.support.polling import poll_until

ORIGIN = Origin(OriginKind.API, None, None)
GRACE_SECONDS = 1.0


@dataclass
class Outcomes:
    """What the writer told of each write, by name: a consumer of its outcomes."""

    durable: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    names: dict[bytes, str] = field(default_factory=dict)  # by update: each one is a different update
    commits: list[Committed] = field(default_factory=list)

    def consume(self, outcome: WriteOutcome) -> None:
        if isinstance(outcome, Refused):
            self.refused[self.names[outcome.write.update]] = outcome.reason
        else:
            self.commits.append(outcome)
            self.durable.extend(self.names[write.update] for write in outcome.writes)


class Editor:
    """A real pycrdt document per record; each `write` is one real update of it, with its history entry."""

    def __init__(self, outcomes: Outcomes) -> None:
        self.outcomes = outcomes
        self.docs: dict[str, Doc] = {}
        self.sent: dict[str, bytes] = {}

    def write(self, name: str, record_id: str, key: str, value: Any, logged: Any = None) -> PendingWrite:
        """Set `key` to `value`; the history says `logged` (default: the value) was written."""
        doc = self.docs.setdefault(record_id, Doc())
        fields = doc.get("fields", type=Map)
        state = doc.get_state()
        before = fields.get(key)
        fields[key] = value
        update = doc.get_update(state)
        self.sent[name] = update
        self.outcomes.names[update] = name
        return PendingWrite(
            record_id=record_id,
            update=update,
            origin=ORIGIN,
            state_vector_after=doc.get_state(),
            changes=(FieldChange(key, before, value if logged is None else logged, None),),
            fields=dict(fields.to_py() or {}),
        )


async def make_records(database: Database, count: int) -> tuple[str, str, list[str]]:
    tenant_id, collection_id = new_id(), new_id()
    record_ids = [new_id() for _ in range(count)]
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant_id, slug=tenant_id, name="Test tenant"))
        await session.flush()
        session.add(
            Collection(id=collection_id, tenant_id=tenant_id, name="customers", label="Customers", fields=[])
        )
        await session.flush()
        session.add_all(
            Record(id=rid, tenant_id=tenant_id, collection_id=collection_id) for rid in record_ids
        )
    return tenant_id, collection_id, record_ids


async def stored_updates(database: Database, record_id: str) -> list[bytes]:
    async with database.session() as session:
        rows = await session.scalars(
            select(UpdateRow.data).where(UpdateRow.record_id == record_id).order_by(UpdateRow.seq)
        )
        return list(rows)


@pytest.mark.parametrize(
    "bad_value",
    [float("inf"), float("nan"), "x\ud800y"],
    ids=["infinity", "nan", "lone-surrogate"],
)
async def test_a_write_the_database_cannot_take_is_refused_alone_and_the_batch_commits(
    database_url: str, bad_value: Any
) -> None:
    outcomes = Outcomes()
    editor = Editor(outcomes)
    async with Database(database_url) as database:
        await database.migrate()
        tenant, collection, (a, b) = await make_records(database, 2)
        # batch_max 4: the first batch is a1 b1 a2 ghost (and the event); b2 a3 b3 a4 wait in the queue.
        async with SqlUpdateWriter(database, batch_max=4) as writer:
            writer.subscribe(outcomes.consume)
            writes = [
                editor.write("a1", a, "name", "Ann"),
                editor.write("b1", b, "name", "Bob"),
                # The document holds 1 (a real update); its history entry holds what the database refuses.
                editor.write("a2", a, "revenue", 1, logged=bad_value),
                # A write for a record that does not exist: a constraint refuses it, on both databases.
                editor.write("ghost", "no-such-record", "name", "Nobody"),
                editor.write("b2", b, "revenue", 2),
                editor.write("a3", a, "revenue", 3),  # builds on a2: refused with it
                editor.write("b3", b, "stage", "won"),
                editor.write("a4", a, "stage", "lost"),
            ]
            for write in writes:
                writer.submit(write)
            event = NewEvent(tenant, collection, b, "record.updated", datetime.now(UTC), None, {"n": 1})
            stored = writer.store_events([event])
            await asyncio.wait_for(writer.flush(), timeout=30)
            event_ids = await asyncio.wait_for(stored, timeout=30)

        assert outcomes.durable == ["a1", "b1", "b2", "b3"]
        assert set(outcomes.refused) == {"a2", "ghost", "a3", "a4"}
        assert "earlier update" in outcomes.refused["a3"] and "earlier update" in outcomes.refused["a4"]
        assert "earlier update" not in outcomes.refused["a2"]
        assert writer.backlog == 0
        assert [w.record_id for commit in outcomes.commits for w in commit.writes] == [a, b, b, b]
        assert await stored_updates(database, a) == [editor.sent["a1"]]
        assert await stored_updates(database, b) == [editor.sent[n] for n in ("b1", "b2", "b3")]
        async with database.session() as session:
            history = list(await session.scalars(select(ChangeRow.after).order_by(ChangeRow.id)))
            events = await after(session, tenant, collection, 0, 10)
            summary = await session.scalar(select(Record.summary).where(Record.id == b))
        assert history == ["Ann", "Bob", 2, "won"]
        assert [row.id for row in events] == event_ids
        assert [(i, e) for commit in outcomes.commits for i, e in commit.events] == [(event_ids[0], event)]
        assert summary == {"name": "Bob", "revenue": 2, "stage": "won"}


async def test_derived_values_are_stored_repaired_not_refused(database_url: str) -> None:
    """A record whose document already holds a value JSON cannot say (written before the checks) stays
    editable: its summary and a history entry's `before` are stored with it repaired."""
    outcomes = Outcomes()
    editor = Editor(outcomes)
    async with Database(database_url) as database:
        await database.migrate()
        _, _, (a,) = await make_records(database, 1)
        legacy = editor.docs.setdefault(a, Doc()).get("fields", type=Map)
        legacy["revenue"], legacy["score"] = float("inf"), float("nan")  # already in the document
        async with SqlUpdateWriter(database) as writer:
            writer.subscribe(outcomes.consume)
            write = editor.write("fix", a, "revenue", 5)
            writer.submit(write)
            await asyncio.wait_for(writer.flush(), timeout=30)
        assert outcomes.durable == ["fix"] and not outcomes.refused
        async with database.session() as session:
            change = await session.scalar(select(ChangeRow).where(ChangeRow.record_id == a))
            summary = await session.scalar(select(Record.summary).where(Record.id == a))
        assert change is not None and (change.before, change.after) == (None, 5)
        assert summary == {"revenue": 5, "score": None}


class Outage:
    """Takes the test's database away and brings it back, for real.

    SQLite: its folder is moved away, so no connection can open the file (and none can create a new one).
    PostgreSQL: the writer connects through a TCP proxy; closing it drops every connection and refuses new
    ones, and it comes back on the same port.
    """

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.url = make_url(database_url)
        self.sqlite_folder = tmp_path
        self.writer_url = database_url
        self._server: asyncio.Server | None = None
        self._port = 0
        self._links: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Outage:
        if self.url.get_backend_name() == "postgresql":
            await self.back()
            self.writer_url = self.url.set(host="127.0.0.1", port=self._port).render_as_string(False)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.back()
        await self._close_proxy()

    async def away(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            self.sqlite_folder.rename(self._moved)
        else:
            await self._close_proxy()

    async def back(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            if self._moved.exists():
                self._moved.rename(self.sqlite_folder)
        elif self._server is None:
            self._server = await asyncio.start_server(self._link, "127.0.0.1", self._port)
            self._port = self._server.sockets[0].getsockname()[1]

    @property
    def _moved(self) -> Path:
        return self.sqlite_folder.with_name(self.sqlite_folder.name + "-away")

    async def _link(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(self.url.host, self.url.port or 5432)
        self._links |= {client_writer, server_writer}
        for source, sink in ((client_reader, server_writer), (server_reader, client_writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    @staticmethod
    async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def _close_proxy(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for link in self._links:
            link.close()
        self._links.clear()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def prepared(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Outage, list[str]]]:
    async with Database(database_url) as direct:
        await direct.migrate()
        _, _, records = await make_records(direct, 2)
    async with Outage(database_url, tmp_path) as outage:
        yield outage, records


def unavailable_warnings(caplog: pytest.LogCaptureFixture) -> Callable[[], int]:
    def count() -> int:
        return sum("database is unavailable" in r.getMessage() for r in caplog.records)

    return count


async def test_a_database_that_goes_away_is_waited_for_never_a_reason_to_refuse(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="collab.store.writer")
    outcomes = Outcomes()
    editor = Editor(outcomes)
    count = unavailable_warnings(caplog)

    async def tries() -> int:
        return count()

    async with prepared(database_url, tmp_path) as (outage, (a, b)), Database(outage.writer_url) as database:
        async with SqlUpdateWriter(database, shutdown_grace_seconds=60) as writer:
            writer.subscribe(outcomes.consume)
            first = []
            if database.dialect == "postgresql":
                # Connected and working first, so the outage drops a live connection. (An open SQLite
                # connection keeps working when its folder moves: there the writer starts during it.)
                writer.submit(editor.write("a1", a, "name", "Ann"))
                await asyncio.wait_for(writer.flush(), timeout=30)
                first = ["a1"]
            await outage.away()
            for name, record in (("a2", a), ("b1", b), ("a3", a)):
                writer.submit(editor.write(name, record, "stage", name))
            await poll_until(tries, lambda n: n >= 3, "three failed attempts")
            assert outcomes.durable == first and not outcomes.refused
            await outage.back()
            await asyncio.wait_for(writer.flush(), timeout=30)

        assert outcomes.durable == [*first, "a2", "b1", "a3"] and not outcomes.refused
        assert await stored_updates(database, a) == [editor.sent[n] for n in [*first, "a2", "a3"]]


async def test_shutdown_gives_up_after_the_grace_when_the_database_stays_away(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="collab.store.writer")
    outcomes = Outcomes()
    editor = Editor(outcomes)
    async with prepared(database_url, tmp_path) as (outage, (a, b)), Database(outage.writer_url) as database:
        async with SqlUpdateWriter(database, shutdown_grace_seconds=GRACE_SECONDS) as writer:
            writer.subscribe(outcomes.consume)
            await outage.away()
            writer.submit(editor.write("a1", a, "name", "Ann"))
            writer.submit(editor.write("b1", b, "name", "Bob"))
            started = time.monotonic()
            # A request waiting for its write is answered (503) after the grace rather than hanging.
            with pytest.raises(DatabaseUnavailable):
                await asyncio.wait_for(writer.flush(), timeout=30)
            waited = time.monotonic() - started
        stopped = time.monotonic() - started

        assert GRACE_SECONDS * 0.9 <= waited < GRACE_SECONDS + 1.0
        assert stopped - waited < 1.0  # and the shutdown after it does not wait again
        assert not outcomes.durable and not outcomes.refused  # never confirmed, never refused
        assert any("2 updates were never stored nor confirmed" in r.getMessage() for r in caplog.records)
        await outage.back()
        async with database.session() as session:
            assert await session.scalar(select(func.count()).select_from(UpdateRow)) == 0


async def test_an_unexpected_error_stops_the_writer_loudly_and_is_never_retried(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an unavailable database is waited for: any other failure is a bug, said at once, not looped on."""
    caplog.set_level(logging.CRITICAL, logger="collab.store.writer")
    calls = 0

    async def broken_commit(self: SqlUpdateWriter, batch: list[PendingWrite], events: list[NewEvent]) -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError("a bug in the commit")

    async def crash_logged() -> bool:
        return any("update writer stopped" in r.getMessage() for r in caplog.records)

    monkeypatch.setattr(SqlUpdateWriter, "_commit", broken_commit)
    async with Database(database_url) as database:
        await database.migrate()
        _, _, (record_id,) = await make_records(database, 1)
        writer = SqlUpdateWriter(database)
        told_at_once = False
        with pytest.raises(RuntimeError, match="a bug in the commit"):  # and the shutdown re-raises it
            async with writer:
                writer.submit(Editor(Outcomes()).write("a", record_id, "name", "Ada"))
                with contextlib.suppress(TimeoutError):
                    told_at_once = await poll_until(crash_logged, bool, "the crash logged", within=5.0)
        assert told_at_once, "the crash was only told at shutdown"
        assert calls == 1
