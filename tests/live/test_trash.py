"""The trash against a live server: delete → listed with who and when → restore; history and audit show
both; another tenant never sees it; the purge removes what the retention no longer keeps (the clock moved,
never slept), and never a record restored meanwhile."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from collab import close_codes
from collab.services.trash import TrashPurge
from persistence import trash
from persistence.database import Database
from persistence.models import AuditEntry, ChangeRow, ClientIdRow, Record, SnapshotRow, UpdateRow, utcnow
from persistence.tenant_scope import APP_ROLE, system_scope
from tests.support.live_server import LiveServer
from tests.support.yclient import YClient

MISSING = "0" * 32


async def trash_page(server: LiveServer, token: str, **params: Any) -> dict[str, Any]:
    async with server.client(token) as http:
        response = await http.get("/api/collections/customers/trash", params=params)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page


async def audit(server: LiveServer, token: str) -> list[dict[str, Any]]:
    async with server.client(token) as http:
        entries: list[dict[str, Any]] = (await http.get("/api/admin/audit")).json()["entries"]
        return entries


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_delete_lists_it_in_the_trash_and_restore_brings_it_back_with_history_and_audit(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 5})
    editor = await live_server.add_user("ed@example.com", "editor")
    viewer = await live_server.add_user("vic@example.com", "viewer")
    await live_server.cli("tenant", "add", "rival", "--admin-email", "boss@rival.example")
    rival = await live_server.add_user("ann@rival.example", "admin", tenant="rival")
    assert (await trash_page(live_server, editor))["records"] == []

    watcher = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    async with live_server.client(editor) as http:
        me = (await http.get("/api/auth/me")).json()["user"]
        before = utcnow()
        assert (await http.delete(f"/api/records/{record}")).status_code == 204
    assert await watcher.wait_closed() == close_codes.NOT_FOUND
    assert watcher._socket.close_reason == f"record deleted by {me['name']}"  # the page names who
    await watcher.close()

    page = await trash_page(live_server, editor)
    assert page["retention_days"] == 30 and page["next_cursor"] is None
    [item] = page["records"]
    assert (item["id"], item["title"], item["collection"]) == (record, "Panda", "customers")
    assert item["deleted_by"] == {"id": me["id"], "name": me["name"]}
    deleted_at = when(item["deleted_at"])
    assert before - timedelta(seconds=5) <= deleted_at <= utcnow() + timedelta(seconds=5)
    assert when(item["purge_at"]) == deleted_at + timedelta(days=30)

    async with live_server.client(viewer) as http:  # viewers neither see nor restore the trash
        assert (await http.get("/api/collections/customers/trash")).status_code == 403
    async with live_server.client(rival) as http:  # another tenant: as if nothing were there
        foreign = await http.get("/api/collections/customers/trash")
        assert foreign.status_code == 404 or record not in {r["id"] for r in foreign.json()["records"]}
        assert (await http.post(f"/api/records/{record}/undelete")).status_code == 404
        assert (await http.get(f"/api/records/{record}/history")).status_code == 404
    async with live_server.client(editor) as http:
        assert (await http.get("/api/collections/nothing-here/trash")).status_code == 404
        assert (await http.get("/api/collections/customers/trash", params={"limit": 0})).status_code == 400
        bad = await http.get("/api/collections/customers/trash", params={"cursor": "garbage"})
        assert bad.status_code == 400

        back = await http.post(f"/api/records/{record}/undelete")
        assert back.status_code == 200 and back.json()["fields"] == {"name": "Panda", "revenue": 5}
        listed = (await http.get("/api/records", params={"collection": "customers"})).json()["records"]
        assert record in {r["id"] for r in listed}
        changes = (await http.get(f"/api/records/{record}/history")).json()["changes"]
    assert (await trash_page(live_server, editor))["records"] == []
    lifecycle = [(c["origin"], c["user"]["id"]) for c in changes if c["field"] == ""]
    assert lifecycle[:2] == [("undelete", me["id"]), ("delete", me["id"])]

    entries = [e for e in await audit(live_server, admin_token) if e["action"].startswith("record.")]
    assert [e["action"] for e in entries[:2]] == ["record.restore", "record.delete"]
    for entry in entries[:2]:
        assert entry["actor"]["id"] == me["id"]
        assert entry["detail"] == {"record": record, "collection": "customers", "title": "Panda"}
    assert not [e for e in await audit(live_server, rival) if e["action"].startswith("record.")]


async def test_the_trash_pages_newest_deletion_first(live_server: LiveServer, admin_token: str) -> None:
    ids = [await live_server.create_record(admin_token, {"name": f"R{i}"}) for i in range(5)]
    async with live_server.client(admin_token) as http:
        for record in ids:
            assert (await http.delete(f"/api/records/{record}")).status_code == 204
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await trash_page(live_server, admin_token, **params)
        seen += [item["id"] for item in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids)) and cursor is None


async def count(database: Database, model: Any, record_id: str) -> int:
    column = model.id if model is Record else model.record_id
    with system_scope():
        async with database.session() as session:
            found: int = await session.scalar(select(func.count()).where(column == record_id)) or 0
            return found


async def test_the_purge_removes_what_retention_no_longer_keeps_and_never_a_restored_record(
    live_server: LiveServer, admin_token: str
) -> None:
    gone = await live_server.create_record(admin_token, {"name": "Gone", "notes": "long text"})
    kept = await live_server.create_record(admin_token, {"name": "Kept"})
    young = await live_server.create_record(admin_token, {"name": "Young"})
    raced = await live_server.create_record(admin_token, {"name": "Raced"})
    editing = await YClient(f"{live_server.ws_url}/{gone}", admin_token).connect()
    editing.fields["revenue"] = 7
    await editing.wait_saved()
    await editing.close()
    async with live_server.client(admin_token) as http:
        for record in (gone, kept, raced):
            assert (await http.delete(f"/api/records/{record}")).status_code == 204
        assert (await http.post(f"/api/records/{kept}/undelete")).status_code == 200

    moved = utcnow() + timedelta(days=30, hours=1)  # the clock, moved past the retention
    async with Database(live_server.database_url, role=APP_ROLE) as database:
        assert await count(database, UpdateRow, gone) >= 2 and await count(database, ClientIdRow, gone) >= 1
        # Found due, then restored before its purge transaction: the purge checks again and leaves it.
        with system_scope():
            async with database.session() as session:
                [due] = [d for d in await trash.due(session, moved, 100) if d.record_id == raced]
        async with live_server.client(admin_token) as http:
            assert (await http.post(f"/api/records/{raced}/undelete")).status_code == 200
        with system_scope():
            async with database.session() as session:
                assert not await trash.purge(session, raced, due.deleted_at)
                await session.commit()

        async with live_server.client(admin_token) as http:
            assert (await http.delete(f"/api/records/{young}")).status_code == 204
        purge = TrashPurge(database, lambda _: False, 30, 3600, now=lambda: moved)
        assert await purge.purge_once() == 2  # gone and young: both deleted before the moved clock
        for model in (Record, UpdateRow, ChangeRow, ClientIdRow, SnapshotRow):
            assert await count(database, model, gone) == 0, model
        for record in (kept, raced):
            assert await count(database, Record, record) == 1
            assert await count(database, UpdateRow, record) >= 1
        assert await purge.purge_once() == 0
        # At the real time nothing deleted today is due.
        assert await TrashPurge(database, lambda _: False, 30, 3600).purge_once() == 0
        with system_scope():
            async with database.session() as session:
                runs = list(
                    await session.scalars(select(AuditEntry).where(AuditEntry.action == "trash.purge"))
                )
    [run] = runs
    assert run.detail["count"] == 2 and {r["record"] for r in run.detail["records"]} == {gone, young}

    for record, name in ((kept, "Kept"), (raced, "Raced")):
        async with live_server.client(admin_token) as http:
            back = await http.get(f"/api/records/{record}")
            assert back.status_code == 200 and back.json()["fields"] == {"name": name}
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{gone}")).status_code == 404
        assert (await http.post(f"/api/records/{gone}/undelete")).status_code == 404
        entries = (await http.get("/api/admin/audit")).json()["entries"]
    assert {(e["action"], e["detail"].get("record")) for e in entries} >= {("record.delete", gone)}
    assert (await trash_page(live_server, admin_token))["records"] == []


async def test_a_record_open_in_a_room_waits_for_the_next_purge(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Held"})
    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/records/{record}")).status_code == 204
    moved = utcnow() + timedelta(days=31)
    async with Database(live_server.database_url, role=APP_ROLE) as database:
        held = TrashPurge(database, lambda record_id: record_id == record, 30, 3600, now=lambda: moved)
        assert await held.purge_once() == 0
        assert await count(database, Record, record) == 1
        assert await TrashPurge(database, lambda _: False, 30, 3600, now=lambda: moved).purge_once() == 1
        assert await count(database, Record, record) == 0
