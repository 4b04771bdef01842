"""A room's side of unique fields (collab/live/room.py): every write carries the record's unique keys, and
a commit that reports a value taken by another record gets a correction and a notice to its writer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pycrdt import Doc, Map

from collab.live.room import Room, settle
from collab.records.document import write_fields
from collab.records.schema import FieldSpec
from collab.store.writer import MemoryUpdateWriter
from collab.store.writes import Committed
from collab.ycodec import protocol
from persistence.unique_values import Taken
from tests.collab.test_room import Peer, principal

pytestmark = pytest.mark.unit

SPECS = [FieldSpec("title", "Title", "text", unique=True), FieldSpec("plate", "Plate", "text")]
HOLDER = "h" * 32


@pytest.fixture
def writer() -> MemoryUpdateWriter:
    return MemoryUpdateWriter()


@pytest.fixture
def room(writer: MemoryUpdateWriter) -> Iterator[Room]:
    doc: Doc = Doc()
    write_fields(doc, SPECS, {"title": "Mine"})
    yield Room("r1", doc, writer, specs=SPECS)


def report(writer: MemoryUpdateWriter, room: Room, *taken: Taken) -> None:
    """Commit what is pending, as the writer would with these values not indexed."""
    batch, writer.pending = writer.pending, []
    writer.committed.extend(batch)
    settle(Committed(tuple(batch), {}, (), {"r1": taken} if taken else {}), lambda write: room)


async def notices(peer: Peer, frames: int) -> list[dict[str, object]]:
    """The notices (message 101) among the next `frames` frames the peer gets."""
    found = []
    for _ in range(frames):
        frame = await peer.channel.next_message()
        if frame[0] == protocol.NOTICE:
            found.append(json.loads(protocol.Reader(frame[1:]).var_string()))
    return found


def title(room: Room) -> object:
    return room.doc.get("fields", type=Map).get("title")


async def test_a_taken_value_is_put_back_and_its_writer_told(writer: MemoryUpdateWriter, room: Room) -> None:
    ann = Peer(room, principal("ann")).join()
    bob = Peer(room, principal("bob")).join()
    await ann.messages(1)
    await bob.messages(1)
    ann.doc.apply_update(room.doc.get_update())
    ann.edit("title", " TAKEN ")
    assert writer.pending[-1].unique_keys == (("title", "taken"),)
    await bob.messages(1)  # the edit itself
    report(writer, room, Taken("title", "taken", HOLDER, {"title": "Taken one"}))
    assert title(room) == "Mine"
    assert writer.pending[-1].unique_keys == (("title", "mine"),)  # the correction is indexed in turn
    # The saved message, the correction, the notice.
    assert await notices(ann, 3) == [
        {"kind": "corrected", "fields": {"title": "must be unique: already used by «Taken one»"}}
    ]
    assert isinstance((await bob.messages(1))[0], protocol.SyncUpdate)  # everyone gets the correction
    assert bob.channel.to_client.empty()  # but no notice


async def test_a_value_changed_again_meanwhile_is_left_to_its_own_commit(
    writer: MemoryUpdateWriter, room: Room
) -> None:
    ann = Peer(room, principal("ann")).join()
    ann.doc.apply_update(room.doc.get_update())
    ann.edit("title", "Taken")
    ann.edit("title", "Free")
    report(writer, room, Taken("title", "taken", HOLDER, None))
    assert title(room) == "Free" and writer.pending == []


async def test_a_correction_that_is_taken_too_leaves_no_value(writer: MemoryUpdateWriter, room: Room) -> None:
    ann = Peer(room, principal("ann")).join()
    ann.doc.apply_update(room.doc.get_update())
    ann.edit("title", "Taken")
    report(writer, room, Taken("title", "taken", HOLDER, None))
    assert title(room) == "Mine"
    report(writer, room, Taken("title", "mine", HOLDER, None))  # someone took "Mine" meanwhile
    assert title(room) is None
    ann.edit("plate", "P")  # a record without unique values still says so (its rows are emptied)
    assert writer.pending[-1].unique_keys == ()
