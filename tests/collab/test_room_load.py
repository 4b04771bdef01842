"""A loaded room answers its first sync before building its history index (issue 17), and an update that
comes before the index exists still gets its history exactly (the index is built from the document as
loaded, then). On a real database: the index is attributed from the stored change log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pycrdt import Doc, Map

from auth.principal import Principal, Role
from collab.live.connection import Connection
from collab.live.registry import RoomRegistry
from collab.live.room import Room
from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.records.schema import FieldSpec
from collab.settings import Settings
from collab.store.writer import MemoryUpdateWriter, SqlUpdateWriter
from collab.ycodec import protocol
from persistence.database import Database
from persistence.models import Collection, Record, Tenant, User, new_id
from tests.support.memory_channel import MemoryChannel
from tests.support.polling import until

SPECS = [FieldSpec("name", "Name", "text")]


def live(user_id: str) -> Origin:
    return Origin(OriginKind.LIVE, user_id, f"s-{user_id[:8]}")


def set_name(doc: Doc, value: str) -> bytes:
    before = doc.get_state()
    doc.get("fields", type=Map)["name"] = value
    return doc.get_update(before)


@dataclass
class Loaded:
    """A record whose `name` Ann wrote (stored with its change), opened again by a fresh registry."""

    room: Room
    writer: MemoryUpdateWriter
    state: bytes  # the document as Ann left it
    ann: str  # her user id


@pytest.fixture
async def loaded(database_url: str) -> AsyncIterator[Loaded]:
    async with Database(database_url) as database:
        await database.migrate()
        tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Acme"))
            await session.flush()
            fields = [spec.as_json() for spec in SPECS]
            session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=fields))
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
            ann_id = new_id()
            session.add(
                User(
                    id=ann_id, tenant_id=tenant_id, email="a@x", name="Ann", role="editor", password_hash="-"
                )
            )
        ann: Doc = Doc()
        async with SqlUpdateWriter(database) as stored:
            first = RoomRegistry(database, stored, Settings())
            room = await first.acquire(record_id)
            room.apply(set_name(ann, "Ann"), live(ann_id))
            await first.flush()
            first.release(room)
        writer = MemoryUpdateWriter()
        again = await RoomRegistry(database, writer, Settings()).acquire(record_id)
        yield Loaded(again, writer, ann.get_update(), ann_id)


def bob_overwrites(loaded: Loaded) -> tuple[FieldChange, ...]:
    bob: Doc = Doc()
    bob.apply_update(loaded.state)
    loaded.room.apply(set_name(bob, "Bob"), live("bob"))
    return loaded.writer.pending[-1].changes


def overwrite(loaded: Loaded) -> FieldChange:
    """Bob's change, attributed as the index built at load knows it: Ann's value, from the change log."""
    return FieldChange("name", "Ann", "Bob", "bob", overwritten_author=loaded.ann, winner_author="bob")


async def test_the_first_sync_is_answered_before_the_index_is_built(loaded: Loaded) -> None:
    room = loaded.room
    assert room.history_pending
    channel = MemoryChannel()
    who = Principal("bob", "t1", "default", "bob@example.com", "Bob", Role.EDITOR, "s-bob")
    connection = Connection(channel, who, room.record_id, 1024 * 1024)
    connection.start()
    room.join(connection)
    room.receive(connection, protocol.sync_step1(b"\x00"))
    assert room.history_pending, "the answer is on its way before the index is built"
    await until(lambda: not room.history_pending, "the history index built after the sync")
    frames = [await channel.next_message() for _ in range(2)]
    answer = protocol.decode_message(frames[1])
    assert isinstance(answer, protocol.SyncUpdate)
    assert answer.update == room.doc.get_update()
    assert bob_overwrites(loaded) == (overwrite(loaded),)
    await connection.stop()


async def test_an_update_before_the_index_exists_gets_its_history_exactly(loaded: Loaded) -> None:
    assert loaded.room.history_pending
    assert bob_overwrites(loaded) == (overwrite(loaded),)
    assert not loaded.room.history_pending


async def test_a_concurrent_write_before_the_index_exists_is_a_conflict(loaded: Loaded) -> None:
    carl: Doc = Doc()  # never saw Ann's value
    loaded.room.apply(set_name(carl, "Carl"), live("carl"))
    (change,) = loaded.writer.pending[-1].changes
    assert change.conflict
    assert {change.lost_author, change.winner_author} == {loaded.ann, "carl"}
