"""Snapshots' use-cases without HTTP: one database session to take one, who may read and restore them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.errors import Forbidden
from collab.errors import InvalidArgument, SnapshotNotFound
from collab.services.records import NewRecord
from collab.services.snapshots import SnapshotPage
from persistence.database import Database
from tests.collab.services.conftest import Stack, given, never_read, running


async def _record(stack: Stack) -> str:
    created = await stack.services.records.create(stack.admin, given(NewRecord("customers", {"name": "Ada"})))
    record_id: str = created["id"]
    return record_id


async def test_taking_a_snapshot_opens_one_database_session(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_id = await _record(stack)
    opened: list[AsyncSession] = []
    session = Database.session

    taking = asyncio.current_task()

    def counted(database: Database) -> AsyncSession:
        opened_here = session(database)
        if asyncio.current_task() is taking:  # the feed's and the registry's own rounds run meanwhile
            opened.append(opened_here)
        return opened_here

    monkeypatch.setattr(Database, "session", counted)
    taken = await stack.services.snapshots.take(stack.admin, record_id)
    monkeypatch.undo()
    assert len(opened) == 1
    assert (taken["reason"], taken["created_by"]["id"]) == ("manual", stack.admin.user_id)
    page = await stack.services.snapshots.page(stack.admin, record_id, given(SnapshotPage(limit=1)))
    assert [s["id"] for s in page["snapshots"]] == [taken["id"]] and page["next_before"] == taken["id"]


async def test_a_snapshot_is_compared_and_restored_as_a_forward_edit(stack: Stack) -> None:
    record_id = await _record(stack)
    snapshots, records = stack.services.snapshots, stack.services.records
    taken = await snapshots.take(stack.admin, record_id)
    tag = (await records.get(stack.admin, record_id)).etag
    await records.patch(stack.admin, record_id, tag, given({"name": "Grace"}))
    comparison = await snapshots.compare(stack.admin, record_id, str(taken["id"]), "now")
    name = next(entry for entry in comparison["fields"] if entry["field"] == "name")
    assert (name["snapshot"], name["other"], name["changed"]) == ("Ada", "Grace", True)
    with pytest.raises(InvalidArgument):
        await snapshots.compare(stack.admin, record_id, str(taken["id"]), "yesterday")
    with pytest.raises(SnapshotNotFound):
        await snapshots.get(stack.admin, record_id, "0")
    restored = await snapshots.restore(stack.admin, record_id, str(taken["id"]))
    assert restored.body["fields"] == {"name": "Ada"}
    assert restored.etag == (await records.get(stack.admin, record_id)).etag


async def test_editors_take_snapshots_admins_restore_them(stack: Stack) -> None:
    record_id = await _record(stack)
    editor, viewer = (
        await stack.user("ed@example.com", "editor"),
        await stack.user("vi@example.com", "viewer"),
    )
    taken = await stack.services.snapshots.take(editor, record_id)
    with pytest.raises(Forbidden):
        await stack.services.snapshots.restore(editor, record_id, str(taken["id"]))
    with pytest.raises(Forbidden):
        await stack.services.snapshots.take(viewer, record_id)
    with pytest.raises(Forbidden):
        await stack.services.snapshots.page(viewer, record_id, never_read)


@pytest.mark.parametrize("viewers_read", [True, False])
async def test_viewers_read_snapshots_only_when_the_server_says_so(
    database_url: str, viewers_read: bool
) -> None:
    async with running(database_url, viewers_read_snapshots=viewers_read) as stack:
        record_id = await _record(stack)
        taken = await stack.services.snapshots.take(stack.admin, record_id)
        viewer = await stack.user("vi@example.com", "viewer")
        snapshot = str(taken["id"])
        if viewers_read:
            assert (await stack.services.snapshots.get(viewer, record_id, snapshot))["fields"] == {
                "name": "Ada"
            }
        else:
            with pytest.raises(Forbidden):
                await stack.services.snapshots.get(viewer, record_id, snapshot)
