"""Awareness: per-connection caps on client ids and state size, ownership, strict JSON decoding."""

from __future__ import annotations

import json

import pytest
from pycrdt import Doc

from auth.principal import Principal, Role
from collab.errors import MalformedMessage
from collab.live.awareness import Awareness, AwarenessLimits
from collab.live.connection import Connection
from collab.live.room import Room
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit

LIMITS = AwarenessLimits(client_ids=4, state_bytes=16 * 1024)
ANN = {"id": "id-ann", "name": "ann", "color": "#123456"}
BOB = {"id": "id-bob", "name": "bob", "color": "#654321"}


def entries(payload: bytes | None) -> list[protocol.AwarenessEntry]:
    return [] if payload is None else protocol.decode_awareness(payload)


def raw_awareness(*states: tuple[int, int, str]) -> bytes:
    """An awareness payload with each state's JSON text as given (not necessarily valid)."""
    parts = [protocol.write_var_uint(len(states))]
    for client_id, clock, text in states:
        parts += [
            protocol.write_var_uint(client_id),
            protocol.write_var_uint(clock),
            protocol.write_var_string(text),
        ]
    return b"".join(parts)


def test_a_connection_gets_at_most_its_client_ids() -> None:
    table = Awareness()
    claim = [protocol.AwarenessEntry(100 + n, 1, {"cursor": n}) for n in range(5_000)]
    accepted = entries(table.receive(1, ANN, LIMITS, claim))
    assert [e.client_id for e in accepted] == [100, 101, 102, 103]
    # Its own ids can still change; a fifth one never comes in, whatever the message.
    again = [protocol.AwarenessEntry(103, 2, {"cursor": 9}), protocol.AwarenessEntry(104, 2, {"cursor": 9})]
    assert [e.client_id for e in entries(table.receive(1, ANN, LIMITS, again))] == [103]
    assert len(entries(table.payload())) == 4
    # Another connection has its own allowance, and cannot touch the first one's ids.
    other = [protocol.AwarenessEntry(100, 5, {"cursor": 0}), protocol.AwarenessEntry(7, 1, {})]
    assert [e.client_id for e in entries(table.receive(2, BOB, LIMITS, other))] == [7]


def test_a_state_above_the_size_limit_is_dropped_and_the_previous_one_stays() -> None:
    table = Awareness()
    table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(1, 1, {"field": "name"})])
    huge = {"field": "stage", "blob": "x" * (4 * 1024 * 1024)}
    assert table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(1, 2, huge)]) is None
    (kept,) = entries(table.payload())
    assert kept.clock == 1 and kept.state == {"field": "name", "user": ANN}
    assert table.field_of(1) == "name"
    # Just under the limit with the user stamp is kept; the stamp counts, so a client cannot inflate it.
    stamp = len(json.dumps({"user": ANN}, separators=(",", ":")))
    fits = {"blob": "x" * (LIMITS.state_bytes - stamp - len('"blob":"",'))}
    assert table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(1, 3, fits)]) is not None
    over = {"blob": fits["blob"] + "x"}
    assert table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(1, 4, over)]) is None


def test_the_table_is_bounded_in_bytes_per_connection() -> None:
    table = Awareness()
    big = {"blob": "y" * 15_000}
    for connection_id in range(1, 11):
        for round_ in range(50):
            claim = [protocol.AwarenessEntry(connection_id * 1000 + n, round_, big) for n in range(20)]
            table.receive(connection_id, ANN, LIMITS, claim)
    payload = table.payload()
    assert payload is not None
    assert len(payload) <= 10 * LIMITS.client_ids * (LIMITS.state_bytes + 16)


def test_leaving_removes_a_connections_states_for_everyone() -> None:
    table = Awareness()
    table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(1, 4, {}), protocol.AwarenessEntry(2, 1, None)])
    table.receive(2, BOB, LIMITS, [protocol.AwarenessEntry(3, 1, {})])
    assert entries(table.leave(1)) == [protocol.AwarenessEntry(1, 5, None)]  # only live states are announced
    assert [e.client_id for e in entries(table.payload())] == [3]
    # Its ids are free again for whoever comes next.
    assert table.receive(3, ANN, LIMITS, [protocol.AwarenessEntry(1, 9, {})]) is not None
    assert table.leave(1) is None


def test_a_relayed_departure_claims_nothing_and_the_person_comes_back() -> None:
    """y-websocket relays every change it sees: Ann's client sends Bob's departure back to the server."""
    table = Awareness()
    table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(10, 1, {"field": "name"})])
    table.receive(2, BOB, LIMITS, [protocol.AwarenessEntry(20, 1, {"field": "stage"})])
    table.leave(2)
    assert table.receive(1, ANN, LIMITS, [protocol.AwarenessEntry(20, 2, None)]) is None
    # Bob reconnects (a new connection, the same document client id): he is seen again.
    back = entries(table.receive(3, BOB, LIMITS, [protocol.AwarenessEntry(20, 3, {"field": "stage"})]))
    assert [e.client_id for e in back] == [20]
    assert sorted(e.client_id for e in entries(table.payload())) == [10, 20]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' + "{" * 100_000 + "}" * 100_001,
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-Infinity}',
        '{"a":1e999}',
        '{"a":' + "9" * 400 + "}",
        "[1]",
        "{nope",
    ],
)
def test_malformed_awareness_is_a_malformed_message(text: str) -> None:
    with pytest.raises(MalformedMessage):
        protocol.decode_awareness(raw_awareness((1, 1, text)))


async def test_a_room_holds_and_sends_only_bounded_awareness() -> None:
    room = Room("r1", Doc(), MemoryUpdateWriter())

    def join(name: str, role: Role = Role.EDITOR) -> tuple[Connection, MemoryChannel]:
        who = Principal(f"id-{name}", "t1", "default", f"{name}@example.com", name, role, f"s-{name}")
        channel = MemoryChannel()
        connection = Connection(channel, who, "r1", awareness_limits=AwarenessLimits(2, 1024))
        connection.start()
        room.join(connection)
        return connection, channel

    vic, _ = join("vic", Role.VIEWER)  # presence is for everyone who can see the record
    claim = [protocol.AwarenessEntry(100 + n, 1, {"field": "name", "pad": "z" * n}) for n in range(5_000)]
    room.receive(vic, protocol.awareness(protocol.encode_awareness(claim)))
    room.receive(
        vic,
        protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(101, 2, {"pad": "z" * 4096})])),
    )
    zoe, channel = join("zoe")
    frames = [await channel.next_message() for _ in range(2)]  # sync step 1, then everyone's presence
    (awareness,) = [
        m for m in map(protocol.decode_message, frames) if isinstance(m, protocol.AwarenessMessage)
    ]
    seen = protocol.decode_awareness(awareness.payload)
    assert [(e.client_id, e.clock) for e in seen] == [(100, 1), (101, 1)]
    assert len(awareness.payload) < 2 * 1024
    assert {"id": "id-vic", "name": "vic", "field": "name"}.items() <= room.presence()[0].items()
    with pytest.raises(MalformedMessage):
        room.receive(vic, protocol.awareness(raw_awareness((100, 3, "[" * 100_000 + "]" * 100_000))))
    for connection in (vic, zoe):
        connection.close(1000)
        await connection.stop()
