"""Records' use-cases without HTTP: the role is checked before any input is read, each change publishes
its event, and a deletion reaches the record's live connections."""

from __future__ import annotations

import asyncio

import pytest

from auth.errors import Forbidden
from collab.errors import PreconditionFailed, PreconditionRequired, RecordNotFound, SchemaError
from collab.services.records import NewRecord
from tests.collab.services.conftest import RecordingChannel, Stack, given, never_read
from tests.support.polling import poll_until

SAMPLE = {"name": "Ada", "revenue": 1}


async def create(stack: Stack, fields: dict[str, object] = SAMPLE) -> str:
    created = await stack.services.records.create(stack.admin, given(NewRecord("customers", fields)))
    record_id: str = created["id"]
    return record_id


async def test_a_created_record_is_read_listed_and_announced(stack: Stack) -> None:
    records = stack.services.records
    stream = await stack.services.streams.open(stack.admin, "customers", None)
    try:
        record_id = await create(stack)
        view = await records.get(stack.admin, record_id)
        assert view.body["fields"] == SAMPLE and view.body["created_by"]["id"] == stack.admin.user_id
        assert view.etag.startswith('"')
        listed = await records.newest(stack.admin, "customers", {})
        assert [row["id"] for row in listed["records"]] == [record_id] and listed["total"] == 1
        chunks = await asyncio.wait_for(stream.subscriber.next_chunks(), 10)
        assert chunks is not None
        [event] = [event for chunk in chunks for event in chunk.events]
        assert (event.type, event.data["record"]) == ("record.created", record_id)
        assert event.data["fields"] == SAMPLE
    finally:
        stream.close()


async def test_viewers_are_refused_before_their_input_is_read(stack: Stack) -> None:
    record_id = await create(stack)
    viewer = await stack.user("vera@example.com", "viewer")
    records = stack.services.records
    with pytest.raises(Forbidden):
        await records.create(viewer, never_read)
    with pytest.raises(Forbidden):
        await records.patch(viewer, record_id, "*", never_read)
    with pytest.raises(Forbidden):
        await records.delete(viewer, record_id)
    assert (await records.get(viewer, record_id)).body["fields"] == SAMPLE  # reading is for everyone


async def test_a_patch_checks_the_record_then_the_tag_then_the_values(stack: Stack) -> None:
    record_id = await create(stack)
    records = stack.services.records
    with pytest.raises(RecordNotFound):
        await records.patch(stack.admin, "0" * 32, None, never_read)
    with pytest.raises(PreconditionRequired):
        await records.patch(stack.admin, record_id, None, never_read)
    with pytest.raises(SchemaError) as invalid:
        await records.patch(stack.admin, record_id, "*", given({"revenue": "lots"}))
    assert set(invalid.value.errors) == {"revenue"}
    before = await records.get(stack.admin, record_id)
    changed = await records.patch(stack.admin, record_id, before.etag, given({"revenue": 2}))
    assert changed.body["fields"]["revenue"] == 2 and changed.etag != before.etag
    with pytest.raises(PreconditionFailed) as stale:
        await records.patch(stack.admin, record_id, before.etag, given({"revenue": 3}))
    assert (stale.value.fields["revenue"], stale.value.etag) == (2, changed.etag)


async def test_a_deleted_record_closes_its_sockets_and_answers_like_a_missing_one(stack: Stack) -> None:
    record_id = await create(stack)
    channel = RecordingChannel()
    serving = asyncio.create_task(stack.services.connections.serve(stack.admin, record_id, channel))
    await poll_until(lambda: stack.services.records.presence(stack.admin, record_id), bool, "the join")
    await stack.services.records.delete(stack.admin, record_id)
    code, reason = await asyncio.wait_for(channel.closed, 10)
    assert (code, reason) == (4404, f"record deleted by {stack.admin.name}")
    await asyncio.wait_for(serving, 10)
    with pytest.raises(RecordNotFound):
        await stack.services.records.get(stack.admin, record_id)
    restored = await stack.services.records.undelete(stack.admin, record_id)
    assert restored.body["fields"] == SAMPLE


async def test_a_foreign_or_missing_record_cannot_be_joined(stack: Stack) -> None:
    with pytest.raises(RecordNotFound):
        await stack.services.connections.serve(stack.admin, "0" * 32, RecordingChannel())
