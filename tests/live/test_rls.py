"""A service path that forgets its tenant filter still shows nobody another tenant's record on PostgreSQL:
row-level security (persistence/tenant_scope.py) is the second wall. On SQLite, which has none, the same
broken path does leak: that shows the break is real, and what the wall on PostgreSQL stops."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from collab.errors import RecordNotFound
from collab.records import records
from persistence.models import Collection, Record
from tests.support.live_server import LiveServer


async def _find_record_of_any_tenant(
    session: AsyncSession, principal: Principal, record_id: str, *, include_deleted: bool = False
) -> tuple[Record, Collection]:
    """`records.find_record` with its tenant filter dropped: the bug the database must catch."""
    query = select(Record, Collection).join(Collection, Collection.id == Record.collection_id)
    row = (await session.execute(query.where(Record.id == record_id))).first()
    if row is None:
        raise RecordNotFound(record_id)
    return row[0], row[1]


async def test_a_lookup_without_its_tenant_filter_shows_no_other_tenants_record(
    live_server: LiveServer, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live_server.cli("tenant", "add", "rival")
    rival_admin = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    theirs = await live_server.create_record(rival_admin, {"name": "Rival secret"})
    monkeypatch.setattr(records, "find_record", _find_record_of_any_tenant)
    async with live_server.client(admin_token) as http:
        record = await http.get(f"/api/records/{theirs}")
        history = await http.get(f"/api/records/{theirs}/history")
    async with live_server.client(rival_admin) as http:  # its own tenant still reads it
        assert (await http.get(f"/api/records/{theirs}")).status_code == 200
    if live_server.database_url.startswith("sqlite"):
        assert record.status_code == 200 and record.json()["fields"]["name"] == "Rival secret"
        return
    assert (record.status_code, history.status_code) == (404, 404)
    assert "Rival secret" not in record.text + history.text
