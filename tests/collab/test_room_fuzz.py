"""Mutated updates never escape as anything but `MalformedMessage`, and the room stays usable."""

from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Map, Text

from auth.principal import Principal, Role
from collab.errors import MalformedMessage
from collab.live.connection import Connection
from collab.live.room import Room
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit


def valid_updates() -> list[bytes]:
    doc: Doc = Doc()
    fields = doc.get("fields", type=Map)
    updates = []
    for i in range(40):
        before = doc.get_state()
        if i % 3 == 0:
            fields[f"k{i}"] = i
        elif "notes" not in fields:
            fields["notes"] = Text("hello")
        else:
            fields["notes"].insert(i % 5, "ab")
        updates.append(doc.get_update(before))
    return updates


def mutate(rng: random.Random, update: bytes) -> bytes:
    data = bytearray(update)
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif roll < 0.7 and data:
            del data[rng.randrange(len(data)) :]
        else:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


async def test_mutated_updates_are_refused_cleanly() -> None:
    rng = random.Random(20261123)
    writer = MemoryUpdateWriter()
    room = Room("fuzz", Doc(), writer)
    who = Principal("u", "t", "default", "u@x.io", "u", Role.EDITOR, "s")
    connection = Connection(MemoryChannel(), who, "fuzz", 100_000)
    room.join(connection)
    updates = valid_updates()
    refused = 0
    for _ in range(3000):
        try:
            room.receive(connection, protocol.sync_update(mutate(rng, rng.choice(updates))))
        except MalformedMessage:
            refused += 1
    assert refused > 1000  # the mutations really are hostile
    room.doc.get("fields", type=Map)["after"] = "still works"
    copy: Doc = Doc()
    copy.apply_update(room.doc.get_update())
    assert copy.get("fields", type=Map)["after"] == "still works"
