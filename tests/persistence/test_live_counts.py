"""Each collection's count of live records (`record_counts`, migration 0014): kept right by the
database across insert, delete, undelete, purge and a move, filled for records stored before, and exact
under concurrent writers on PostgreSQL (as the application's role, under row-level security)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update

from persistence.database import Database
from persistence.models import Collection, Record, RecordCount, Tenant, new_id
from persistence.tenant_scope import APP_ROLE, tenant_scope


async def _tenant_with_collections(database: Database, count: int = 1) -> tuple[str, list[str]]:
    tenant = new_id()
    collections = [new_id() for _ in range(count)]
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant, slug=tenant, name="T"))
        await session.flush()
        for number, collection in enumerate(collections):
            session.add(Collection(id=collection, tenant_id=tenant, name=f"c{number}", label="C", fields=[]))
    return tenant, collections


async def _kept_and_counted(database: Database, collection: str) -> tuple[int, int]:
    async with database.session() as session:
        kept = await session.scalar(
            select(func.coalesce(func.sum(RecordCount.live), 0)).where(
                RecordCount.collection_id == collection
            )
        )
        counted = await session.scalar(
            select(func.count())
            .select_from(Record)
            .where(Record.collection_id == collection, Record.deleted_at.is_(None))
        )
    assert kept is not None and counted is not None
    return kept, counted


async def test_the_count_follows_insert_delete_undelete_purge_and_move(database: Database) -> None:
    tenant, (first, second) = await _tenant_with_collections(database, 2)
    ids = [new_id() for _ in range(5)]
    async with database.session() as session, session.begin():
        session.add_all(Record(id=id_, tenant_id=tenant, collection_id=first) for id_ in ids)
        # Born deleted (an import of a trash, say): not live.
        session.add(
            Record(id=new_id(), tenant_id=tenant, collection_id=first, deleted_at=dt.datetime.now(dt.UTC))
        )
    assert await _kept_and_counted(database, first) == (5, 5)
    now = dt.datetime.now(dt.UTC)
    async with database.session() as session, session.begin():
        await session.execute(update(Record).where(Record.id.in_(ids[:2])).values(deleted_at=now))
        # Deleting again, or editing a deleted record, changes nothing.
        await session.execute(update(Record).where(Record.id == ids[0]).values(deleted_at=now, summary={}))
        await session.execute(update(Record).where(Record.id == ids[2]).values(summary={"a": 1}))
    assert await _kept_and_counted(database, first) == (3, 3)
    async with database.session() as session, session.begin():
        await session.execute(update(Record).where(Record.id == ids[0]).values(deleted_at=None))
    assert await _kept_and_counted(database, first) == (4, 4)
    async with database.session() as session, session.begin():
        await session.execute(delete(Record).where(Record.id.in_([ids[1], ids[3]])))  # purged, live
    assert await _kept_and_counted(database, first) == (3, 3)
    async with database.session() as session, session.begin():
        await session.execute(update(Record).where(Record.id == ids[4]).values(collection_id=second))
    assert await _kept_and_counted(database, first) == (2, 2)
    assert await _kept_and_counted(database, second) == (1, 1)


async def test_the_migration_counts_the_records_stored_before(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda config, _revision: real_upgrade(config, "0013"))
    tenant, collection = new_id(), new_id()
    now = dt.datetime.now(dt.UTC)
    async with Database(database_url) as database:
        await database.migrate()
        async with database.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:id, :id, 'T', :now)"),
                {"id": tenant, "now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO collections (id, tenant_id, name, label, fields, created_at)"
                    " VALUES (:id, :tenant, 'c', 'C', '[]', :now)"
                ),
                {"id": collection, "tenant": tenant, "now": now},
            )
            for gone in (None, None, None, now):
                await connection.execute(
                    text(
                        "INSERT INTO records (id, tenant_id, collection_id, created_at, updated_at,"
                        " deleted_at, search_text, epoch) VALUES (:id, :tenant, :collection, :now, :now,"
                        " :gone, '', 'e')"
                    ),
                    {"id": new_id(), "tenant": tenant, "collection": collection, "now": now, "gone": gone},
                )
        monkeypatch.setattr(command, "upgrade", real_upgrade)
        await database.migrate()
        assert await _kept_and_counted(database, collection) == (3, 3)


async def test_concurrent_writers_keep_the_count_exact(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    async with Database(database_url) as owner:
        await owner.migrate()
        tenant, (collection,) = await _tenant_with_collections(owner)
    writers, each = 8, 25
    async with Database(database_url, role=APP_ROLE) as database:

        async def write(number: int) -> None:
            with tenant_scope(tenant):
                for step in range(each):
                    async with database.session() as session, session.begin():
                        record = Record(id=new_id(), tenant_id=tenant, collection_id=collection)
                        session.add(record)
                        if step % 5 == number % 5:  # and some are deleted again, in their own transaction
                            await session.flush()
                            await session.execute(
                                update(Record)
                                .where(Record.id == record.id)
                                .values(deleted_at=dt.datetime.now(dt.UTC))
                            )

        await asyncio.gather(*(write(number) for number in range(writers)))
        with tenant_scope(tenant):
            kept, counted = await _kept_and_counted(database, collection)
    assert kept == counted == writers * each - writers * each // 5
