"""The admission gate and the room around it: what is confirmed is what a replay of the log produces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from auth.principal import Principal, Role
from collab.errors import MalformedMessage, RoomBroken
from collab.live.admission import UpdateRefused, admit
from collab.live.connection import Connection
from collab.live.room import Room, settle
from collab.records.document import read_fields
from collab.records.field_changes import FieldIndex
from collab.records.schema import FieldSpec
from collab.store.snapshotter import replay
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from collab.ycodec.etag import etag_of
from collab.ycodec.ystructs import TypeRef
from collab.ycodec.yupdate import decode_state_vector, decode_update
from tests.support import ylib0
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit

SPECS = [
    FieldSpec("name", "Name", "text"),
    FieldSpec("revenue", "Revenue", "number"),
    FieldSpec("active", "Active", "boolean"),
    FieldSpec("notes", "Notes", "richtext"),
]


def principal(name: str) -> Principal:
    return Principal(f"id-{name}", "t1", "default", f"{name}@example.com", name, Role.EDITOR, f"s-{name}")


def check(
    update: bytes, doc: Doc | None = None, owners: dict[int, str] | None = None, user: str = "u"
) -> Any:
    state = decode_state_vector(doc.get_state()) if doc is not None else {}
    return admit(decode_update(update), state, owners or {}, user)


def honest_edit(doc: Doc, key: str, value: Any) -> bytes:
    before = doc.get_state()
    doc.get("fields", type=Map)[key] = value
    return doc.get_update(before)


# -- the gate on its own ---------------------------------------------------------------------------------


def test_honest_updates_are_admitted_and_claim_their_client_id() -> None:
    doc = Doc()
    update = honest_edit(doc, "name", "Panda")
    admitted = check(update)
    assert admitted.claims == (doc.client_id,)
    assert admitted.advanced == {doc.client_id: 1}


def test_concurrent_updates_of_several_clients_in_one_update_are_admitted() -> None:
    a, b = Doc(), Doc()
    honest_edit(a, "name", "A")
    b.apply_update(a.get_update())
    honest_edit(b, "name", "B")  # refers to a's item
    text = Text("hello")
    a.get("fields", type=Map)["notes"] = text
    text.insert(5, " world")
    merged = Doc()
    merged.apply_update(a.get_update())
    merged.apply_update(b.get_update())
    admitted = check(merged.get_update(), owners={a.client_id: "u", b.client_id: "u"})
    assert admitted.advanced == decode_state_vector(merged.get_state())


def test_writing_under_another_users_client_id_is_refused() -> None:
    doc = Doc()
    update = honest_edit(doc, "name", "mine")
    with pytest.raises(UpdateRefused, match="belongs to another"):
        check(update, owners={doc.client_id: "someone-else"})


def test_an_item_whose_origin_does_not_exist_is_refused() -> None:
    planted = ylib0.update([(7, 0, [ylib0.any_item(["x"], origin=(99, 5))])])
    with pytest.raises(UpdateRefused, match="does not hold"):
        check(planted)


def test_a_gap_in_a_clients_clocks_is_refused() -> None:
    gap = ylib0.update([(7, 3, [ylib0.any_item(["x"], parent="fields", key="name")])])
    with pytest.raises(UpdateRefused, match="skips"):
        check(gap)
    skip = ylib0.update([(7, 0, [ylib0.any_item(["x"], parent="fields", key="name"), ylib0.skip(2)])])
    with pytest.raises(UpdateRefused, match="gap"):
        check(skip)


def test_a_reference_cycle_between_clients_is_refused() -> None:
    cycle = ylib0.update(
        [
            (1, 0, [ylib0.any_item(["a"], origin=(2, 0))]),
            (2, 0, [ylib0.any_item(["b"], origin=(1, 0))]),
        ]
    )
    with pytest.raises(UpdateRefused):
        check(cycle)


def test_references_within_the_update_are_resolved_in_any_client_order() -> None:
    chain = ylib0.update(
        [
            (
                1,
                0,
                [ylib0.any_item(["a"], parent="fields", key="name"), ylib0.any_item(["c"], origin=(2, 0))],
            ),
            (2, 0, [ylib0.any_item(["b"], origin=(1, 0))]),
        ]
    )
    doc = Doc()
    doc.apply_update(chain)
    assert check(chain).advanced == decode_state_vector(doc.get_state()) == {1: 2, 2: 1}


def test_a_delete_set_beyond_the_documents_state_is_refused() -> None:
    doc = Doc()
    honest_edit(doc, "name", "x")
    future = ylib0.update([], {doc.client_id: [(0, 2**31)]})
    with pytest.raises(UpdateRefused, match="do not exist"):
        check(future, doc)
    assert check(ylib0.update([], {doc.client_id: [(0, 1)]}), doc).claims == ()


@pytest.mark.parametrize(
    "bad",
    [
        ylib0.any_item([float("inf")], parent="fields", key="revenue"),
        ylib0.any_item([{"a": [float("nan")]}], parent="fields", key="revenue"),
        ylib0.any_item([b"bytes"], parent="fields", key="name"),
        ylib0.any_item(["x"], parent="elsewhere", key="name"),
        ylib0.any_item(["x"], parent="fields"),  # a sequence element of the root map
        ylib0.type_item(TypeRef.MAP, parent="fields", key="name"),
        ylib0.deleted_item(0, parent="fields", key="name"),
    ],
)
def test_content_no_record_holds_is_refused(bad: ylib0.Struct) -> None:
    with pytest.raises(UpdateRefused):
        check(ylib0.update([(7, 0, [bad])]))


def test_huge_declared_lengths_cost_nothing_and_clocks_stay_in_32_bits() -> None:
    huge = ylib0.update([(7, 0, [ylib0.deleted_item(2**31, parent="fields", key="name")])])
    assert check(huge).advanced == {7: 2**31}
    with pytest.raises(UpdateRefused, match="2\\^32"):
        check(ylib0.update([(7, 0, [ylib0.deleted_item(2**32, parent="fields", key="name")])]))


# -- the room --------------------------------------------------------------------------------------------


class Peer:
    def __init__(self, room: Room, who: Principal) -> None:
        self.channel = MemoryChannel()
        self.connection = Connection(self.channel, who, room.record_id)
        self.connection.start()
        room.join(self.connection)
        self.room = room
        self.doc: Doc = Doc()
        self.doc.apply_update(room.doc.get_update())

    def send(self, update: bytes) -> None:
        self.room.receive(self.connection, protocol.sync_update(update))

    def edit(self, key: str, value: Any) -> bytes:
        update = honest_edit(self.doc, key, value)
        self.send(update)
        return update


def make_room(writer: MemoryUpdateWriter, specs: list[FieldSpec] | None = SPECS) -> Room:
    doc: Doc = Doc()
    index = FieldIndex.from_state(doc.get_update(), doc)
    return wired(Room("r1", doc, writer, field_index=index, specs=specs), writer)


def wired(room: Room, writer: MemoryUpdateWriter) -> Room:
    """The room hears what became of its writes, as the registry tells it."""
    writer.subscribe(lambda outcome: settle(outcome, lambda write: room))
    return room


def reloaded(writer: MemoryUpdateWriter) -> Doc:
    writer.commit()
    return replay([write.update for write in writer.committed])


async def test_the_planted_item_attack_is_refused_and_the_victims_edits_survive_a_reload() -> None:
    writer = MemoryUpdateWriter()
    room = make_room(writer)
    victim, attacker = Peer(room, principal("vic")), Peer(room, principal("mal"))
    victim.edit("name", "first")
    # An item at the victim's client id and next clock, with an origin nobody has.
    planted = ylib0.update([(victim.doc.client_id, 1, [ylib0.any_item(["pwned"], origin=(424242, 9))])])
    with pytest.raises(MalformedMessage):
        attacker.send(planted)
    # The same at the victim's id with a real origin: refused for the id alone.
    plausible = ylib0.update(
        [(victim.doc.client_id, 1, [ylib0.any_item(["pwned"], parent="fields", key="name")])]
    )
    with pytest.raises(UpdateRefused, match="belongs to another"):
        attacker.send(plausible)
    victim.edit("name", "second")
    victim.edit("revenue", 5)
    doc = reloaded(writer)
    assert read_fields(doc) == read_fields(room.doc) == {"name": "second", "revenue": 5}
    assert etag_of(doc) == etag_of(room.doc)


async def test_live_values_are_corrected_to_the_schema_and_the_sender_is_told() -> None:
    writer = MemoryUpdateWriter()
    room = make_room(writer)
    ann, bob = Peer(room, principal("ann")), Peer(room, principal("bob"))
    ann.edit("revenue", 5)
    ann.edit("revenue", {"an": "object"})
    ann.edit("active", "yes")
    ann.edit("bogus", 1)
    ann.edit("name", "x" * 100_001)
    ann.edit("notes", "plain string")
    assert read_fields(room.doc) == {"revenue": 5, "name": "x" * 100_000, "notes": "plain string"}
    assert isinstance(room.doc.get("fields", type=Map)["notes"], Text)
    notices: list[str] = []
    async with asyncio.timeout(5):
        while len(notices) < 5:
            frame = await ann.channel.to_client.get()
            if frame[0] == protocol.NOTICE:
                notices.append(protocol.Reader(frame[1:]).var_string())
    assert '"revenue":"expected a number"' in notices[0]
    # Every replica converges on the corrected values: bob got the edits and their corrections.
    await _drain_into(bob)
    assert read_fields(reloaded(writer)) == read_fields(room.doc)


async def test_a_long_rich_text_is_cut_to_the_limit() -> None:
    writer = MemoryUpdateWriter()
    room = make_room(writer)
    ann = Peer(room, principal("ann"))
    text = Text("é" * 10)
    ann.doc.get("fields", type=Map)["notes"] = text
    ann.send(ann.doc.get_update())
    before = ann.doc.get_state()
    text.insert(10, "é" * 100_000)
    ann.send(ann.doc.get_update(before))
    assert read_fields(room.doc)["notes"] == "é" * 100_000
    assert read_fields(reloaded(writer)) == read_fields(room.doc)


async def test_a_failed_server_edit_leaves_nothing_half_done() -> None:
    writer = MemoryUpdateWriter()
    broken: list[Room] = []
    doc: Doc = Doc()
    room = Room("r1", doc, writer, specs=SPECS, on_broken=broken.append)
    with pytest.raises(Exception, match="r1"):
        room.edit(SPECS, {"name": "A", "revenue": 2**64}, _api_origin())
    assert broken == [room] and writer.pending == []
    with pytest.raises(Exception, match="r1"):
        room.edit(SPECS, {"name": "B"}, _api_origin())


def _api_origin() -> Any:
    from collab.origin import Origin, OriginKind

    return Origin(OriginKind.API, "id-ann", "s-ann")


async def _drain_into(peer: Peer) -> None:
    """Apply what the server sent `peer` until it holds the room's fields (within a deadline)."""
    async with asyncio.timeout(5):
        while read_fields(peer.doc) != read_fields(peer.room.doc):
            frame = await peer.channel.to_client.get()
            if frame[0] == protocol.SYNC and frame[1] == protocol.SYNC_UPDATE:
                update = protocol.decode_message(frame)
                assert isinstance(update, protocol.SyncUpdate)
                peer.doc.apply_update(update.update)


async def test_a_write_the_database_refuses_reloads_the_room_and_closes_its_sender() -> None:
    writer = MemoryUpdateWriter()
    broken: list[Room] = []
    doc: Doc = Doc()
    room = wired(Room("r1", doc, writer, specs=SPECS, on_broken=broken.append), writer)
    ann, bob = Peer(room, principal("ann")), Peer(room, principal("bob"))
    ann.edit("name", "never stored")
    writer.refuse("the database will not take it")
    assert broken == [room] and room.broken
    await asyncio.wait_for(ann.channel.closed.wait(), 5)
    assert ann.channel.close_code == 4400 and bob.channel.close_code is None
    with pytest.raises(Exception, match="r1"):
        bob.edit("name", "after")


async def test_an_update_that_does_not_integrate_as_admitted_breaks_the_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The net under the gate: if it ever misjudged an update, the room is dropped, not kept diverging."""
    import collab.live.admission

    monkeypatch.setattr(collab.live.admission, "_references", lambda struct, offset: [])
    writer = MemoryUpdateWriter()
    broken: list[Room] = []
    room = Room("r1", Doc(), writer, specs=SPECS, on_broken=broken.append)
    mal = Peer(room, principal("mal"))
    with pytest.raises(RoomBroken):
        mal.send(ylib0.update([(7, 0, [ylib0.any_item(["x"], origin=(99, 5))])]))
    assert broken == [room] and writer.pending == []


async def test_one_connection_cannot_mint_client_ids_without_end() -> None:
    from collab.live.room import MAX_CLAIMS_PER_CONNECTION

    room = make_room(MemoryUpdateWriter())
    mal = Peer(room, principal("mal"))
    for client in range(1, MAX_CLAIMS_PER_CONNECTION + 1):
        mal.send(ylib0.update([(client, 0, [ylib0.any_item(["x"], parent="fields", key="name")])]))
    with pytest.raises(UpdateRefused, match="new client ids"):
        mal.send(ylib0.update([(10**6, 0, [ylib0.any_item(["x"], parent="fields", key="name")])]))


def _announce(peer: Peer, *client_ids: int) -> None:
    entries = [protocol.AwarenessEntry(client_id, 1, {"field": None}) for client_id in client_ids]
    peer.room.receive(peer.connection, protocol.awareness(protocol.encode_awareness(entries)))


async def test_an_announced_client_id_is_reserved_and_relayed_states_reserve_nothing() -> None:
    room = make_room(MemoryUpdateWriter())
    ann, bob, mal = Peer(room, principal("ann")), Peer(room, principal("bob")), Peer(room, principal("mal"))
    _announce(ann, ann.doc.client_id)
    _announce(bob, bob.doc.client_id)
    _announce(mal, mal.doc.client_id)
    # Mallory squats Ann's announced id before Ann writes: refused.
    squat = ylib0.update([(ann.doc.client_id, 0, [ylib0.any_item(["x"], parent="fields", key="name")])])
    with pytest.raises(UpdateRefused, match="another writer"):
        mal.send(squat)
    # Ann leaves with edits not sent; Bob's client relays her old state (y-websocket relays every change).
    offline = honest_edit(ann.doc, "name", "offline")
    room.leave(ann.connection)
    _announce(bob, ann.doc.client_id)
    # Ann comes back on a new page (new client id) holding the old edits: they are hers to send.
    back = Peer(room, principal("ann"))
    _announce(back, 10**9)
    back.send(offline)
    assert read_fields(room.doc) == {"name": "offline"}


async def test_an_update_yrs_would_panic_on_half_way_is_refused_before_it_is_applied() -> None:
    """Found by the property test: a client block with no structs passes yrs' decoder and then panics in
    the middle of `apply_update` (a broken room for everyone); it is refused up front."""
    writer = MemoryUpdateWriter()
    room = make_room(writer)
    ann = Peer(room, principal("ann"))
    honest = bytearray(honest_edit(ann.doc, "name", ""))
    honest[1] = 0  # the block's struct count
    honest[8] = 0
    with pytest.raises(UpdateRefused):
        ann.send(bytes(honest))
    assert not room.broken and writer.pending == []
