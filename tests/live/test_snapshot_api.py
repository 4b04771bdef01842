"""Snapshots over HTTP against a live server: take, list, view, compare, restore, and log retention."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.database import normalise_url
from tests.interop.node_client import NodeClient
from tests.support.app_server import AppServer
from tests.support.live_server import LiveServer, running
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

MISSING = "0" * 32


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live server whose automatic snapshots never interleave with the ones a test takes."""
    quiet = {"COLLAB_SNAPSHOT_QUIET_SECONDS": "3600"}
    async with running(AppServer(database_url, tmp_path / "server.log", env=quiet)) as live:
        yield live


async def sql(database_url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(normalise_url(database_url))
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(sqlalchemy.text(query), params)]
    finally:
        await engine.dispose()


async def snapshot(server: LiveServer, token: str, record: str) -> dict[str, Any]:
    async with server.client(token) as http:
        response = await http.post(f"/api/records/{record}/snapshots")
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


async def fields_of(server: LiveServer, token: str, record: str) -> dict[str, Any]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}")
        assert response.status_code == 200, response.text
        fields: dict[str, Any] = response.json()["fields"]
        return fields


async def test_take_list_view_and_compare(server: LiveServer) -> None:
    admin = await server.login()
    editor = await server.add_user("ed@example.com", "editor")
    viewer = await server.add_user("vi@example.com", "viewer")
    record = await server.create_record(admin, {"name": "v1", "revenue": 1})
    other_record = await server.create_record(admin, {"name": "elsewhere"})
    async with server.client(viewer) as http:
        assert (await http.post(f"/api/records/{record}/snapshots")).status_code == 403

    first = await snapshot(server, editor, record)
    assert first["reason"] == "manual" and first["created_by"]["email"] == "ed@example.com"
    async with NodeClient(name="ed") as ed, NodeClient(name="watcher") as watcher:
        await ed.connect(server.ws_url, record, token=editor)
        await watcher.connect(server.ws_url, record, token=viewer)
        await ed.set("name", "v2")
        await ed.set("revenue", 2)
        await ed.text_insert("notes", None, "second")
        # The server has applied it (the watcher has it); nobody waited for it to be stored.
        await watcher.wait_field("notes", "second")
        second = await snapshot(server, admin, record)
        await ed.set("name", "v3")
        await ed.delete("revenue")
        await watcher.wait_field("name", "v3")
    third = await snapshot(server, admin, record)
    foreign = await snapshot(server, admin, other_record)

    async with server.client(viewer) as http:  # viewers may not read snapshots (a setting allows it)
        assert (await http.get(f"/api/records/{record}/snapshots")).status_code == 403
    async with server.client(editor) as http:
        page = (await http.get(f"/api/records/{record}/snapshots", params={"limit": 2})).json()
        assert [s["id"] for s in page["snapshots"]] == [third["id"], second["id"]]
        assert page["snapshots"][0] == third and page["next_before"] == second["id"]
        rest = await http.get(f"/api/records/{record}/snapshots", params={"before": page["next_before"]})
        assert rest.json() == {"snapshots": [first], "next_before": None}
        assert (await http.get(f"/api/records/{record}/snapshots", params={"limit": 0})).status_code == 400

        viewed = (await http.get(f"/api/records/{record}/snapshots/{second['id']}")).json()
        assert viewed["id"] == second["id"] and viewed["at"] == second["at"]
        assert viewed["fields"] == {"name": "v2", "revenue": 2, "notes": "second"}
        oldest = (await http.get(f"/api/records/{record}/snapshots/{first['id']}")).json()
        assert oldest["fields"] == {"name": "v1", "revenue": 1}

        missing = (await http.get(f"/api/records/{MISSING}")).json()
        for bad in [str(foreign["id"]), "99999999", "99999999999999999999999", "-1", "abc", "1e3"]:
            response = await http.get(f"/api/records/{record}/snapshots/{bad}")
            assert response.status_code == 404 and response.json() == missing, bad
            compared = await http.get(f"/api/records/{record}/snapshots/{first['id']}/compare?with={bad}")
            assert compared.status_code in (400, 404), bad
        cross = await http.get(f"/api/records/{record}/snapshots/{first['id']}/compare?with={foreign['id']}")
        assert cross.status_code == 404

        with_now = (await http.get(f"/api/records/{record}/snapshots/{second['id']}/compare")).json()
        assert with_now["snapshot"]["id"] == second["id"] and with_now["other"]["id"] is None
        by_field = {f["field"]: f for f in with_now["fields"]}
        assert by_field["name"] == {"field": "name", "snapshot": "v2", "other": "v3", "changed": True}
        assert by_field["revenue"] == {"field": "revenue", "snapshot": 2, "other": None, "changed": True}
        assert by_field["notes"] == {
            "field": "notes",
            "snapshot": "second",
            "other": "second",
            "changed": False,
        }
        assert by_field["stage"]["changed"] is False  # every field of the collection is listed
        assert [f["field"] for f in with_now["fields"]][:2] == ["name", "email"]  # in schema order

        between = await http.get(
            f"/api/records/{record}/snapshots/{first['id']}/compare", params={"with": second["id"]}
        )
        changed = {f["field"]: (f["snapshot"], f["other"]) for f in between.json()["fields"] if f["changed"]}
        assert changed == {"name": ("v1", "v2"), "revenue": (1, 2), "notes": (None, "second")}


async def test_restore_by_an_admin_reaches_open_editors(server: LiveServer) -> None:
    admin = await server.login()
    editor = await server.add_user("ed@example.com", "editor")
    record = await server.create_record(admin, {"name": "Before", "revenue": 10, "notes": "original text"})
    taken = await snapshot(server, admin, record)
    async with NodeClient(name="ed") as ed:
        await ed.connect(server.ws_url, record, token=editor)
        await ed.set("name", "After")
        await ed.set("stage", "lead")
        await ed.text_insert("notes", None, " and more")
        await ed.wait_saved()
        path = f"/api/records/{record}/snapshots/{taken['id']}/restore"
        async with server.client(editor) as http:
            assert (await http.post(path)).status_code == 403
        async with server.client(admin) as http:
            restored = await http.post(path)
        assert restored.status_code == 200, restored.text
        expected = {"name": "Before", "revenue": 10, "notes": "original text"}
        assert restored.json()["fields"] == expected
        assert restored.json()["updated_by"]["email"] == "admin@example.com"
        await ed.wait_field("name", "Before")
        await ed.wait_field("notes", "original text")
        assert await ed.fields() == expected  # `stage`, absent from the snapshot, is cleared
        # The document was not reset: the editor keeps typing into the same text.
        await ed.text_insert("notes", 0, "> ")
        await ed.wait_saved()
    async with server.client(admin) as http:
        after = await http.get(f"/api/records/{record}")
        assert after.json()["fields"]["notes"] == "> original text"
        changes = (await http.get(f"/api/records/{record}/history")).json()["changes"]
    restore_changes = {c["field"] for c in changes if c["origin"] == "restore"}
    assert restore_changes >= {"name", "stage"}
    assert {c["user"]["email"] for c in changes if c["origin"] == "restore"} == {"admin@example.com"}


def count_tokens(text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for token in re.findall(r"\[[A-Z][0-9]\]", text):
        found[token] = found.get(token, 0) + 1
    return found


async def test_a_stale_offline_client_neither_duplicates_nor_resurrects_after_a_restore(
    server: LiveServer,
) -> None:
    admin = await server.login()
    sam = await server.add_user("sam@example.com", "editor")
    record = await server.create_record(admin, {"name": "n0", "notes": "[T0]"})
    async with NodeClient(name="ann") as ann, NodeClient(name="stale") as stale:
        await ann.connect(server.ws_url, record, token=admin)
        await stale.connect(server.ws_url, record, token=sam)
        await ann.text_insert("notes", None, " [A1]")
        await stale.wait_field("notes", "[T0] [A1]")
        await ann.wait_saved()
        taken = await snapshot(server, admin, record)

        await stale.offline()
        await ann.text_delete("notes", 0, len("[T0] "))
        await ann.text_insert("notes", None, " [A2]")
        await ann.set("name", "n2")
        await ann.wait_saved()
        async with server.client(admin) as http:
            restored = await http.post(f"/api/records/{record}/snapshots/{taken['id']}/restore")
        assert restored.json()["fields"] == {"name": "n0", "notes": "[T0] [A1]"}
        await ann.wait_field("notes", "[T0] [A1]")

        # Offline, the stale client still holds "[T0] [A1]" as it was, and writes around it.
        await stale.text_insert("notes", 0, "[S0] ")
        await stale.text_insert("notes", None, " [S1]")
        await stale.set("revenue", 7)
        await stale.online()
        await ann.wait_field("revenue", 7)
        await stale.wait_saved()
        await ann.wait_saved()
        state = await ann.fields()
        assert await stale.fields() == state

    stored = await fields_of(server, admin, record)
    assert stored == state
    counts = count_tokens(state["notes"])
    # Each token at most once; [A2] was removed by the restore and nobody wrote it again.
    assert counts == {"[T0]": 1, "[A1]": 1, "[S0]": 1, "[S1]": 1}, state["notes"]
    assert state["name"] == "n0" and state["revenue"] == 7


async def test_old_log_rows_are_folded_into_a_snapshot_and_deleted(database_url: str, tmp_path: Path) -> None:
    env = {
        "COLLAB_LOG_RETENTION_DAYS": str(1 / 86400),  # one second
        "COLLAB_RETENTION_CHECK_SECONDS": "0.2",
        "COLLAB_SNAPSHOT_QUIET_SECONDS": "3600",
    }
    server = ServerProcess(database_url, tmp_path / "server.log", env=env)  # restarted below
    await server.start()
    try:
        admin = await server.login()
        record = await server.create_record(admin, {"name": "Old", "notes": "abc"})
        client = await YClient(f"{server.ws_url}/{record}", admin).connect()
        for n in range(5):
            client.fields["revenue"] = n
        await client.wait_saved()
        expected = await fields_of(server, admin, record)
        assert expected == {"name": "Old", "notes": "abc", "revenue": 4}

        def rows_of_record() -> Any:
            return sql(database_url, "SELECT count(*) FROM updates WHERE record_id = :r", r=record)

        await poll_until(rows_of_record, lambda rows: rows[0][0] == 0, "the old log rows to be deleted")
        reasons = await sql(database_url, "SELECT reason FROM snapshots WHERE record_id = :r", r=record)
        assert ("retention",) in reasons
        assert await fields_of(server, admin, record) == expected

        client.fields["revenue"] = 5  # a row after the fold: loading is the snapshot plus it
        await client.wait_saved()
        await client.close()
        await server.restart()
        admin = await server.login()
        expected["revenue"] = 5
        assert await fields_of(server, admin, record) == expected
        fresh = await YClient(f"{server.ws_url}/{record}", admin).connect()
        assert fresh.fields.to_py() == {"name": "Old", "notes": "abc", "revenue": 5.0}
        await fresh.close()
        async with server.client(admin) as http:
            listed = (await http.get(f"/api/records/{record}/snapshots")).json()["snapshots"]
        assert "retention" in {s["reason"] for s in listed}
    finally:
        await server.kill()
