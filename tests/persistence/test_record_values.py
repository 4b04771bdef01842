"""Typed values for lists: derived from summaries, and filled by migration 0008 for records stored before."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from persistence.database import Database
from persistence.models import RecordValue, new_id
from persistence.record_values import values_of


@pytest.mark.unit
def test_each_value_fills_the_columns_of_its_type() -> None:
    long = "Ä" * 150 + "x" * 100
    rows = {
        row[0]: row[1:]
        for row in values_of(
            {
                "name": "Ada Lovelace",
                "day": "2024-02-29",
                "not_a_day": "2023-02-29",
                "long": long,
                "amount": 12.5,
                "count": 3,
                "flag": False,
                "empty": "",
                "gone": None,
                "list": [1, 2],
                "nul\x00key": "a\x00b",
            }
        )
    }
    assert rows == {
        "name": ("Ada Lovelace", "ada lovelace", None, None, None),
        "day": ("2024-02-29", "2024-02-29", None, dt.date(2024, 2, 29), None),
        "not_a_day": ("2023-02-29", "2023-02-29", None, None, None),
        "long": (long[:200], long.casefold()[:200], None, None, None),
        "amount": (None, None, 12.5, None, None),
        "count": (None, None, 3, None, None),
        "flag": (None, None, None, None, False),
        "nulkey": ("ab", "ab", None, None, None),
    }


async def test_the_migration_fills_values_from_the_summaries_of_live_records(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda config, _revision: real_upgrade(config, "0007"))
    tenant, collection = new_id(), new_id()
    live, deleted, unsummarised = new_id(), new_id(), new_id()
    summary: dict[str, Any] = {"name": "Ada", "revenue": 300, "active": True, "next_call": "2024-03-01"}
    async with Database(database_url) as database:
        await database.migrate()
        async with database.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO tenants (id, slug, name, created_at) VALUES (:id, :id, 'T', :now)"),
                {"id": tenant, "now": dt.datetime.now(dt.UTC)},
            )
            await connection.execute(
                text(
                    "INSERT INTO collections (id, tenant_id, name, label, fields, created_at)"
                    " VALUES (:id, :tenant, 'customers', 'Customers', '[]', :now)"
                ),
                {"id": collection, "tenant": tenant, "now": dt.datetime.now(dt.UTC)},
            )
            for record, stored, gone in (
                (live, summary, None),
                (deleted, {"name": "Gone"}, dt.datetime.now(dt.UTC)),
                (unsummarised, None, None),
            ):
                await connection.execute(
                    text(
                        "INSERT INTO records (id, tenant_id, collection_id, created_at, updated_at,"
                        " deleted_at, summary, search_text)"
                        " VALUES (:id, :tenant, :collection, :now, :now, :gone, :summary, '')"
                    ),
                    {
                        "id": record,
                        "tenant": tenant,
                        "collection": collection,
                        "now": dt.datetime.now(dt.UTC),
                        "gone": gone,
                        "summary": None if stored is None else json.dumps(stored),
                    },
                )
        monkeypatch.setattr(command, "upgrade", real_upgrade)
        await database.migrate()
        async with database.session() as session:
            rows = list(await session.scalars(select(RecordValue).order_by(RecordValue.field)))
    assert {(row.record_id, row.tenant_id, row.collection_id) for row in rows} == {(live, tenant, collection)}
    by_field = {row.field: row for row in rows}
    assert set(by_field) == set(summary)
    assert by_field["name"].text_value == "Ada" and by_field["name"].text_folded == "ada"
    assert float(by_field["revenue"].number_value or 0) == 300
    assert by_field["active"].bool_value is True
    assert by_field["next_call"].date_value == dt.date(2024, 3, 1)
