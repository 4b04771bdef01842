"""The update writer and history entries of long texts (persistence/bursts.py), on SQLite and PostgreSQL:
typing extends the entry in memory; the writer writes its newest value by itself once it is due, with no
further commit, and before `flush()` returns (requests, eviction, shutdown)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, PendingWrite, WriteOutcome
from persistence.database import Database
from persistence.models import ChangeRow, Collection, Record, Tenant, new_id
from tests.support.polling import poll_until

TEXT = "x" * 10_000
ORIGIN = Origin(OriginKind.LIVE, None, None, 1)


async def _record(database: Database) -> str:
    tenant, collection, record = new_id(), new_id(), new_id()
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant, slug=tenant, name="T"))
        await session.flush()
        session.add(Collection(id=collection, tenant_id=tenant, name="c", label="C", fields=[]))
        await session.flush()
        session.add(Record(id=record, tenant_id=tenant, collection_id=collection))
    return record


def _typed(record_id: str, number: int, before: str, after: str) -> PendingWrite:
    return PendingWrite(
        record_id=record_id,
        update=number.to_bytes(4, "big"),  # the log stores bytes as they come
        origin=ORIGIN,
        state_vector_after=b"",
        changes=(FieldChange("notes", before, after, None),),
        fields={"notes": after},
    )


async def _history(database: Database, record_id: str) -> list[str]:
    async with database.session() as session:
        query = select(ChangeRow.after).where(ChangeRow.record_id == record_id).order_by(ChangeRow.id)
        return list(await session.scalars(query))


async def _stored(writer: SqlUpdateWriter, write: PendingWrite) -> None:
    """Submit and wait for its commit (not `flush()`, which writes the history's waiting values too)."""
    committed = asyncio.get_running_loop().create_future()

    def consume(outcome: WriteOutcome) -> None:
        if isinstance(outcome, Committed) and write in outcome.writes and not committed.done():
            committed.set_result(None)

    writer.subscribe(consume)
    writer.submit(write)
    await asyncio.wait_for(committed, 15)


async def test_flush_writes_what_a_typed_entry_holds_back(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        record = await _record(database)
        async with SqlUpdateWriter(database, burst_seconds=60, history_deferred_seconds=60) as writer:
            await _stored(writer, _typed(record, 1, "", TEXT))
            await _stored(writer, _typed(record, 2, TEXT, TEXT + "a"))
            await _stored(writer, _typed(record, 3, TEXT + "a", TEXT + "ab"))
            assert await _history(database, record) == [TEXT]  # held back: a minute to go
            await writer.flush()
            assert await _history(database, record) == [TEXT + "ab"]
            await _stored(writer, _typed(record, 4, TEXT + "ab", TEXT + "abc"))
        # The shutdown flushes.
        assert await _history(database, record) == [TEXT + "abc"]


async def test_the_writer_writes_a_due_entry_by_itself(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        record = await _record(database)
        async with SqlUpdateWriter(database, burst_seconds=60, history_deferred_seconds=0.2) as writer:
            await _stored(writer, _typed(record, 1, "", TEXT))
            await _stored(writer, _typed(record, 2, TEXT, TEXT + "a"))
            await poll_until(lambda: _history(database, record), lambda h: h == [TEXT + "a"], "the entry")
            assert writer.backlog == 0
