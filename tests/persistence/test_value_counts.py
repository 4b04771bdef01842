"""Each field's kept count of values per typed column (`value_counts`, migration 0017): kept right by the
database as value rows are written, replaced (a commit), removed (trash, purge) and written again
(undelete), filled for rows stored before, and exact under concurrent writers on PostgreSQL (as the
application's role, under row-level security)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update

from persistence import record_values
from persistence.database import Database
from persistence.log_appender import LogAppender, RecordTouch
from persistence.models import Collection, Record, RecordValue, Tenant, ValueCount, new_id
from persistence.tenant_scope import APP_ROLE, tenant_scope

# The kept count of each typed column, and the column it counts.
_COUNTED = {
    "texts": RecordValue.text_folded,
    "numbers": RecordValue.number_value,
    "dates": RecordValue.date_value,
    "bools": RecordValue.bool_value,
    "decimals": RecordValue.decimal_key,
}


async def _tenant_with_collection(database: Database) -> tuple[str, str]:
    tenant, collection = new_id(), new_id()
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant, slug=tenant, name="T"))
        await session.flush()
        session.add(Collection(id=collection, tenant_id=tenant, name="c", label="C", fields=[]))
    return tenant, collection


async def _kept(database: Database, collection: str) -> dict[tuple[str, str], int]:
    """{(field, counted column): kept count}, zero counts left out."""
    async with database.session() as session:
        rows = (
            await session.execute(
                select(ValueCount.field, *(func.sum(getattr(ValueCount, name)) for name in _COUNTED))
                .where(ValueCount.collection_id == collection)
                .group_by(ValueCount.field)
            )
        ).all()
    return {(row[0], name): int(row[i + 1]) for row in rows for i, name in enumerate(_COUNTED) if row[i + 1]}


async def _counted(database: Database, collection: str) -> dict[tuple[str, str], int]:
    """The same, counted from the value rows."""
    async with database.session() as session:
        rows = (
            await session.execute(
                select(RecordValue.field, *(func.count(column) for column in _COUNTED.values()))
                .where(RecordValue.collection_id == collection)
                .group_by(RecordValue.field)
            )
        ).all()
    return {(row[0], name): int(row[i + 1]) for row in rows for i, name in enumerate(_COUNTED) if row[i + 1]}


async def _kept_and_counted(database: Database, collection: str) -> dict[tuple[str, str], int]:
    kept = await _kept(database, collection)
    assert kept == await _counted(database, collection)
    return kept


async def test_the_counts_follow_writes_commits_trash_undelete_and_purge(database: Database) -> None:
    tenant, collection = await _tenant_with_collection(database)
    summaries: list[dict[str, Any]] = [
        {"email": "a@example.com", "age": 3, "active": True, "day": "2026-01-02"},
        {"email": "b@example.com", "age": 4.5, "active": False},
        {"email": "", "age": "12.50", "tags": ["x", "y"]},  # an empty text is no value; a decimal text is
        {"age": None},
    ]
    records = [
        Record(id=new_id(), tenant_id=tenant, collection_id=collection, summary=summary)
        for summary in summaries
    ]
    async with database.session() as session, session.begin():
        session.add_all(records)
        await session.flush()
        session.add_all(row for record in records for row in record_values.orm_rows(record, record.summary))
    kept = await _kept_and_counted(database, collection)
    assert kept[("email", "texts")] == 2 and kept[("age", "numbers")] == 2 and kept[("day", "dates")] == 1
    assert ("email", "numbers") not in kept and kept[("active", "bools")] == 2

    # A commit replaces a record's rows (the log appender: delete, then insert).
    async with database.session() as session, session.begin():
        records[0].summary = {"age": 5}
        await session.execute(delete(RecordValue).where(RecordValue.record_id == records[0].id))
        session.add_all(record_values.orm_rows(records[0], records[0].summary))
    kept = await _kept_and_counted(database, collection)
    assert kept[("email", "texts")] == 1 and kept[("age", "numbers")] == 2 and ("day", "dates") not in kept

    # Trash removes a record's rows, undelete writes them again, purge deletes a trashed record.
    now = dt.datetime.now(dt.UTC)
    async with database.session() as session, session.begin():
        for record in records[1:3]:
            await session.execute(update(Record).where(Record.id == record.id).values(deleted_at=now))
            await record_values.remove(session, record.id)
    kept = await _kept_and_counted(database, collection)
    assert ("email", "texts") not in kept and kept[("age", "numbers")] == 1
    async with database.session() as session, session.begin():
        await session.execute(update(Record).where(Record.id == records[1].id).values(deleted_at=None))
        restored = await session.get(Record, records[1].id)
        assert restored is not None
        await record_values.restore(session, restored)
        await session.execute(delete(Record).where(Record.id == records[2].id))
    kept = await _kept_and_counted(database, collection)
    assert kept[("email", "texts")] == 1 and kept[("age", "numbers")] == 2 and ("age", "decimals") not in kept

    # An update of a value row (no writer makes one) counts too.
    async with database.session() as session, session.begin():
        await session.execute(
            update(RecordValue)
            .where(RecordValue.record_id == records[1].id, RecordValue.field == "email")
            .values(text_folded=None)
        )
    assert ("email", "texts") not in await _kept_and_counted(database, collection)


async def test_the_migration_counts_the_values_stored_before(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda config, _revision: real_upgrade(config, "0016"))
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
            for number in range(3):
                record = new_id()
                await connection.execute(
                    text(
                        "INSERT INTO records (id, tenant_id, collection_id, created_at, updated_at,"
                        " search_text, epoch) VALUES (:id, :tenant, :collection, :now, :now, '', 'e')"
                    ),
                    {"id": record, "tenant": tenant, "collection": collection, "now": now},
                )
                await connection.execute(
                    text(
                        "INSERT INTO record_values (record_id, tenant_id, collection_id, field, number_value)"
                        " VALUES (:id, :tenant, :collection, 'age', :number)"
                    ),
                    {
                        "id": record,
                        "tenant": tenant,
                        "collection": collection,
                        "number": None if number else 1.0,
                    },
                )
        monkeypatch.setattr(command, "upgrade", real_upgrade)
        await database.migrate()
        assert await _kept_and_counted(database, collection) == {("age", "numbers"): 1}


async def test_concurrent_writers_keep_the_counts_exact(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    async with Database(database_url) as owner:
        await owner.migrate()
        tenant, collection = await _tenant_with_collection(owner)
    writers, each = 8, 25
    async with Database(database_url, role=APP_ROLE) as database:

        async def write(number: int) -> None:
            with tenant_scope(tenant):
                # All in one stripe: the writers update the same rows of value_counts.
                record = Record(id="ab" + new_id()[2:], tenant_id=tenant, collection_id=collection)
                async with database.session() as session, session.begin():
                    session.add(record)
                for step in range(each):  # commits that replace the record's values, as the appender does
                    summary = {"email": f"{step}@example.com"} if step % 2 else {"age": step}
                    async with database.session() as session, session.begin():
                        await record_values.remove(session, record.id)
                        session.add_all(record_values.orm_rows(record, summary))

        await asyncio.gather(*(write(number) for number in range(writers)))
        with tenant_scope(tenant):
            kept = await _kept_and_counted(database, collection)
    assert kept == {("age", "numbers"): writers}  # each writer's last commit (step 24) set `age`


async def test_commits_rewrite_changed_values_only_and_the_counts_stay_exact(database: Database) -> None:
    tenant, collection = await _tenant_with_collection(database)
    record = Record(id=new_id(), tenant_id=tenant, collection_id=collection)
    async with database.session() as session, session.begin():
        session.add(record)
    summaries: list[dict[str, Any]] = [
        {"email": "a@example.com", "age": 3, "active": True, "tags": ["x", "y"]},
        {"email": "a@example.com", "age": 4, "active": True, "tags": ["x", "y"]},  # one value changed
        {"email": "a@example.com", "age": "12.50", "active": True, "tags": ["y"]},  # a type; an item gone
        {"email": "a@example.com", "age": "12.50", "day": "2026-01-02"},  # fields gone, one added
        {"email": "a@example.com", "age": "12.50", "day": "2026-01-02"},  # nothing changed
        {},
    ]
    async with LogAppender(database) as appender:
        for summary in summaries:
            touch = RecordTouch(None, summary, "")
            await appender.append([], {record.id: touch}, dt.datetime.now(dt.UTC))
            async with database.session() as session:
                stored = await session.scalars(select(RecordValue).where(RecordValue.record_id == record.id))
                rows = {(v.field, v.text_value, v.number_value, v.bool_value, v.decimal_key) for v in stored}
            expected = {(r[0], r[1], r[3], r[5], r[6]) for r in record_values.rows_of(summary)}
            assert rows == expected
            await _kept_and_counted(database, collection)
