"""A stored conflict is announced to everyone on the record (message 101 "conflicts"), never before it is
stored, and only for conflicts: the room core on an in-memory channel and writer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pycrdt import Doc

from collab.live.room import Room, settle
from collab.records.field_changes import FieldIndex
from collab.store.writer import MemoryUpdateWriter
from collab.ycodec import protocol
from tests.collab.test_room import Peer, principal

pytestmark = pytest.mark.unit

DEADLINE_SECONDS = 5.0


async def frames_until_saved(peer: Peer) -> list[bytes]:
    """Ask the room what is stored, and read everything it sent this peer up to that answer: its sync
    step 2 and the "saved" right behind it (queued after whatever the room sent before)."""
    peer.room.receive(peer.connection, protocol.sync_step1(peer.doc.get_state()))
    frames: list[bytes] = []
    async with asyncio.timeout(DEADLINE_SECONDS):
        while len(frames) < 2 or frames[-1][0] != protocol.SAVED or not _is_step2(frames[-2]):
            frames.append(await peer.channel.next_message())
    return frames


def _is_step2(frame: bytes) -> bool:
    if frame[0] != protocol.SYNC:
        return False
    message = protocol.decode_message(frame)
    return isinstance(message, protocol.SyncUpdate) and message.step2


def notices(frames: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(protocol.Reader(f[1:]).var_string()) for f in frames if f[0] == protocol.NOTICE]


async def test_a_conflict_is_announced_to_everyone_once_it_is_stored() -> None:
    writer = MemoryUpdateWriter()
    doc: Doc = Doc()
    room = Room("r1", doc, writer, field_index=FieldIndex.from_state(doc.get_update(), doc))
    writer.subscribe(lambda outcome: settle(outcome, lambda write: room))
    ann, bob = Peer(room, principal("ann")).join(), Peer(room, principal("bob")).join()
    ann.edit("name", "Panda")  # a plain change: no notice
    writer.commit()
    assert notices(await frames_until_saved(ann)) == []
    # Neither has seen the other's value: the second write applied is a conflict.
    ann.edit("revenue", 5000)
    bob.edit("revenue", 6000)
    (write,) = [w for w in writer.pending if w.changes and w.changes[0].field == "revenue"][-1:]
    assert write.changes[0].conflict
    assert notices(await frames_until_saved(bob)) == [], "announced before it was stored"
    writer.commit()
    for peer in (ann, bob):
        assert {"kind": "conflicts", "fields": ["revenue"]} in notices(await frames_until_saved(peer))
