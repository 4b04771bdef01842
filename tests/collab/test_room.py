"""The room core on an in-memory channel and writer: no network, no database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pycrdt import Doc, Map

from auth.principal import Principal, Role
from collab.errors import MalformedMessage
from collab.live.connection import Connection
from collab.live.room import Room, settle
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit


def principal(name: str, role: Role = Role.EDITOR) -> Principal:
    return Principal(f"id-{name}", "t1", "default", f"{name}@example.com", name, role, f"s-{name}")


class Peer:
    """One test client: a channel, a server-side connection, and its own document."""

    def __init__(self, room: Room, who: Principal, send_queue_bytes: int = 1024 * 1024) -> None:
        self.channel = MemoryChannel()
        self.connection = Connection(self.channel, who, room.record_id, send_queue_bytes)
        self.doc: Doc = Doc()
        self.room = room

    def join(self) -> Peer:
        self.connection.start()
        self.room.join(self.connection)
        return self

    def edit(self, key: str, value: object) -> bytes:
        before = self.doc.get_state()
        self.doc.get("fields", type=Map)[key] = value
        update = self.doc.get_update(before)
        self.room.receive(self.connection, protocol.sync_update(update))
        return update

    async def messages(self, count: int) -> list[protocol.Message | bytes]:
        got: list[protocol.Message | bytes] = []
        for _ in range(count):
            frame = await self.channel.next_message()
            got.append(
                frame if frame[0] in (protocol.SAVED, protocol.AUTH) else protocol.decode_message(frame)
            )
        return got


@pytest.fixture
def writer() -> MemoryUpdateWriter:
    return MemoryUpdateWriter()


@pytest.fixture
def room(writer: MemoryUpdateWriter) -> Iterator[Room]:
    room = Room("r1", Doc(), writer)
    writer.subscribe(lambda outcome: settle(outcome, lambda write: room))
    yield room


async def test_join_sends_step1_and_an_update_reaches_the_others(room: Room) -> None:
    ann, bob = Peer(room, principal("ann")).join(), Peer(room, principal("bob")).join()
    assert isinstance((await ann.messages(1))[0], protocol.SyncStep1)
    assert isinstance((await bob.messages(1))[0], protocol.SyncStep1)
    update = ann.edit("name", "Panda")
    (forwarded,) = await bob.messages(1)
    assert forwarded == protocol.SyncUpdate(update, step2=False)
    assert ann.channel.to_client.empty(), "the sender does not get its own update back"
    assert room.doc.get("fields", type=Map)["name"] == "Panda"


def stored_clocks(saved: bytes) -> dict[int, int]:
    """The state vector a "saved" frame says is stored."""
    return protocol.decode_state_vector(protocol.Reader(saved[1:]).var_bytes())


async def test_saved_is_sent_only_after_the_commit(
    room: Room, writer: MemoryUpdateWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = Peer(room, principal("ann")).join()
    await ann.messages(1)
    # Every frame is judged as the room's sender hands it over, however many loop turns it took to get
    # there: a "saved" that covers Ann's edit before the test has committed it is a lie.
    committed = False
    premature: list[dict[int, int]] = []
    send = ann.channel.send

    async def judged_send(frame: bytes) -> None:
        if frame[0] == protocol.SAVED and ann.doc.client_id in stored_clocks(frame) and not committed:
            premature.append(stored_clocks(frame))
        await send(frame)

    monkeypatch.setattr(ann.channel, "send", judged_send)
    ann.edit("revenue", 5000)
    # Ask what is stored: the room answers at once with step 2 and "saved", queued behind anything it had
    # queued for Ann before, so these are the first frames after the edit, and the edit is not stored yet.
    room.receive(ann.connection, protocol.sync_step1(ann.doc.get_state()))
    step2, stored_now = await ann.messages(2)
    assert isinstance(step2, protocol.SyncUpdate) and step2.step2, f"{step2!r} came before the answer"
    assert isinstance(stored_now, bytes) and stored_now[0] == protocol.SAVED
    assert ann.doc.client_id not in stored_clocks(stored_now), "saved before the commit"
    committed = True
    writer.commit()
    (saved,) = await ann.messages(1)
    assert isinstance(saved, bytes) and saved[0] == protocol.SAVED
    assert stored_clocks(saved)[ann.doc.client_id] == 1
    assert writer.committed[0].origin.user_id == "id-ann"
    assert premature == []


async def test_a_reconnection_hears_saved_for_an_edit_its_earlier_connection_sent(
    room: Room, writer: MemoryUpdateWriter
) -> None:
    # The page's first socket went silent after sending an edit; Retry opens a second one while that edit
    # is still being stored. The second socket has nothing new to send, so no write of its own will
    # confirm the edit: the room must say "saved" on it once the edit is stored.
    ann = Peer(room, principal("ann")).join()
    await ann.messages(1)
    ann.edit("revenue", 5000)
    retry = Peer(room, principal("ann"))
    retry.doc = ann.doc
    retry.join()
    await retry.messages(1)
    room.receive(retry.connection, protocol.sync_step1(ann.doc.get_state()))
    _step2, stored_now = await retry.messages(2)
    assert isinstance(stored_now, bytes) and ann.doc.client_id not in stored_clocks(stored_now)
    room.receive(retry.connection, protocol.sync_step2(b"\x00\x00"))  # nothing the room lacks
    room.leave(ann.connection)
    writer.commit()
    (saved,) = await retry.messages(1)
    assert isinstance(saved, bytes) and stored_clocks(saved)[ann.doc.client_id] == 1
    # Only until then: a later commit of someone else's edit is not announced to it again.
    bob = Peer(room, principal("bob")).join()
    bob.edit("name", "Bob's")
    writer.commit()
    (forwarded,) = await retry.messages(1)
    assert isinstance(forwarded, protocol.SyncUpdate)
    await bob.messages(2)  # step 1, then its own "saved"
    assert retry.channel.to_client.empty()


async def test_step1_is_answered_with_step2_and_saved(room: Room) -> None:
    ann = Peer(room, principal("ann")).join()
    await ann.messages(1)
    room.receive(ann.connection, protocol.sync_step1(ann.doc.get_state()))
    step2, saved = await ann.messages(2)
    assert isinstance(step2, protocol.SyncUpdate) and step2.step2
    assert isinstance(saved, bytes) and saved[0] == protocol.SAVED


async def test_a_viewer_is_told_once_and_nothing_is_applied(room: Room, writer: MemoryUpdateWriter) -> None:
    viewer = Peer(room, principal("vic", Role.VIEWER)).join()
    await viewer.messages(1)
    room.receive(viewer.connection, protocol.sync_step2(b"\x00\x00"))  # every client's answer to step 1
    await asyncio.sleep(0)
    assert viewer.channel.to_client.empty(), "nothing was refused, so nothing is said"
    for n in range(20):
        viewer.edit("n", n)
    (denied,) = await viewer.messages(1)
    assert isinstance(denied, bytes) and denied[0] == protocol.AUTH
    assert "n" not in room.doc.get("fields", type=Map)
    assert writer.pending == [] and writer.committed == []


async def test_malformed_update_raises_and_changes_nothing(room: Room, writer: MemoryUpdateWriter) -> None:
    ann = Peer(room, principal("ann")).join()
    before = room.doc.get_state()
    with pytest.raises(MalformedMessage):
        room.receive(ann.connection, protocol.sync_update(b"\x01\x02\x03\xff\xff\xff"))
    assert room.doc.get_state() == before
    assert writer.pending == []


async def test_awareness_is_stamped_and_cannot_be_spoofed(room: Room) -> None:
    ann, mallory = Peer(room, principal("ann")).join(), Peer(room, principal("mallory")).join()
    await ann.messages(1)
    await mallory.messages(1)
    claim = [protocol.AwarenessEntry(11, 1, {"user": {"name": "The CEO"}, "cursor": 3})]
    room.receive(ann.connection, protocol.awareness(protocol.encode_awareness(claim)))
    (seen,) = await mallory.messages(1)
    assert isinstance(seen, protocol.AwarenessMessage)
    (entry,) = protocol.decode_awareness(seen.payload)
    assert entry.state is not None and entry.state["user"]["name"] == "ann"
    assert entry.state["cursor"] == 3
    # Mallory tries to overwrite and to remove Ann's state: both are dropped.
    hijack = [protocol.AwarenessEntry(11, 5, {"user": {"name": "ann"}}), protocol.AwarenessEntry(11, 6, None)]
    room.receive(mallory.connection, protocol.awareness(protocol.encode_awareness(hijack)))
    await ann.messages(1)  # Ann's own broadcast from before
    await asyncio.sleep(0)
    assert ann.channel.to_client.empty() and mallory.channel.to_client.empty()


async def test_leaving_clears_presence_for_everyone(room: Room) -> None:
    ann, bob = Peer(room, principal("ann")).join(), Peer(room, principal("bob")).join()
    room.receive(
        ann.connection, protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(3, 1, {})]))
    )
    assert [p["name"] for p in room.presence()] == ["ann", "bob"]
    room.leave(ann.connection)
    frames = [await bob.channel.next_message() for _ in range(3)]
    removals = [
        protocol.decode_awareness(m.payload)
        for m in map(protocol.decode_message, frames)
        if isinstance(m, protocol.AwarenessMessage)
    ]
    assert protocol.AwarenessEntry(3, 2, None) in removals[-1]
    assert [p["name"] for p in room.presence()] == ["bob"]


async def test_a_consumer_that_falls_behind_is_closed_and_others_carry_on(room: Room) -> None:
    ann = Peer(room, principal("ann")).join()
    slow = Peer(room, principal("slow"), send_queue_bytes=200)
    slow.room.join(slow.connection)  # its sender never starts: it reads nothing
    bob = Peer(room, principal("bob")).join()
    for n in range(10):
        ann.edit("n", n)
    assert slow.connection.close_code == 1013
    await asyncio.wait_for(slow.channel.closed.wait(), 5)
    # Bob's sender had not run yet either: his queued updates went out merged, as one.
    step1, update = await bob.messages(2)
    assert isinstance(step1, protocol.SyncStep1) and isinstance(update, protocol.SyncUpdate)
    bob.doc.apply_update(update.update)
    assert bob.doc.get("fields", type=Map)["n"] == 9


async def test_an_update_is_decoded_once(writer: MemoryUpdateWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Admission, the check after applying and the history all read the one decoded update (the document
    integrated the update as sent, so its own encoding of the transaction is the same bytes)."""
    import collab.live.room
    import collab.records.field_changes
    from collab.records.field_changes import FieldIndex
    from collab.ycodec.yupdate import decode_update

    doc: Doc = Doc()
    room = Room("r2", doc, writer, field_index=FieldIndex.from_state(doc.get_update(), doc))
    ann = Peer(room, principal("ann")).join()
    ann.edit("name", "warm-up")
    decoded: list[bytes] = []

    def counted(update: bytes) -> object:
        decoded.append(update)
        return decode_update(update)

    monkeypatch.setattr(collab.live.room, "decode_update", counted)
    monkeypatch.setattr(collab.records.field_changes, "decode_update", counted)
    update = ann.edit("name", "Panda")
    assert decoded == [update]
    (write,) = writer.pending[1:]
    assert write.changes[0].after == "Panda" and write.fields == {"name": "Panda"}
