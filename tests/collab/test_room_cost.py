"""What one live update costs the room in decodes: each update is decoded once (issue 17), also when the
document's own encoding of the transaction differs from the bytes a client sent (its delete set)."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

import collab.live.room
import collab.records.field_changes
from auth.principal import Principal, Role
from collab.live.connection import Connection
from collab.live.room import Room
from collab.records.field_changes import FieldIndex
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from collab.ycodec.yupdate import decode_update
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit

ANN = Principal("id-ann", "t1", "default", "ann@example.com", "ann", Role.EDITOR, "s-ann")


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every update the room and the history index decode from now on."""
    seen: list[bytes] = []

    def counted(update: bytes) -> object:
        seen.append(update)
        return decode_update(update)

    monkeypatch.setattr(collab.live.room, "decode_update", counted)
    monkeypatch.setattr(collab.records.field_changes, "decode_update", counted)
    return seen


async def test_overwriting_a_key_again_and_again_decodes_each_update_once(decoded: list[bytes]) -> None:
    """From the third write of a key on, a client's delete set names every earlier entry while the
    document's own update names only the one this write deleted: the bytes differ, the structs do not."""
    doc: Doc = Doc()
    room = Room("r1", doc, MemoryUpdateWriter(), field_index=FieldIndex.from_state(doc.get_update(), doc))
    connection = Connection(MemoryChannel(), ANN, "r1")
    connection.start()
    room.join(connection)
    client: Doc = Doc()
    sent = []
    decoded.clear()  # the index of the empty document
    for n in range(6):
        before = client.get_state()
        client.get("fields", type=Map)["name"] = f"name {n}"
        sent.append(client.get_update(before))
        room.receive(connection, protocol.sync_update(sent[-1]))
    assert decoded == sent
    assert doc.get("fields", type=Map)["name"] == "name 5"


async def test_an_update_that_integrates_otherwise_than_sent_is_still_caught(decoded: list[bytes]) -> None:
    """The shortcut never hides a difference in structs: two updates that arrive together as one, of
    which the document holds the first already, integrate as the second alone (decoded once more)."""
    doc: Doc = Doc()
    room = Room("r1", doc, MemoryUpdateWriter())
    connection = Connection(MemoryChannel(), ANN, "r1")
    connection.start()
    room.join(connection)
    client: Doc = Doc()
    client.get("fields", type=Map)["a"] = 1
    first = client.get_update()
    room.receive(connection, protocol.sync_update(first))
    client.get("fields", type=Map)["b"] = 2
    both = client.get_update()  # holds the first update's struct again, then the new one
    room.receive(connection, protocol.sync_update(both))
    assert not room.broken
    assert doc.get("fields", type=Map).to_py() == {"a": 1.0, "b": 2.0}
    assert decoded[:2] == [first, both] and len(decoded) == 3, "the document's own update was decoded"
