"""A connection's send queue on an in-memory channel: bounded in bytes, updates merged under pressure,
order kept, stuck peers closed by the clock (a fake one: nothing here sleeps)."""

from __future__ import annotations

import asyncio
import random

import pytest
from pycrdt import Doc, Map, Text

from auth.principal import Principal, Role
from collab import close_codes
from collab.clock import SYSTEM_CLOCK, Clock, FakeClock
from collab.live import connection
from collab.live.channel import ChannelClosed
from collab.live.connection import DEFAULT_SEND_QUEUE_BYTES, Connection
from collab.ycodec import protocol
from tests.support.memory_channel import MemoryChannel

pytestmark = pytest.mark.unit

WHO = Principal("id-ann", "t1", "default", "ann@example.com", "ann", Role.EDITOR, "s-ann")


class GatedChannel(MemoryChannel):
    """A peer that reads only while the gate is open: a send waits at the gate, like one on a full socket."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()  # a send is held at the gate

    async def send(self, message: bytes) -> None:
        self.waiting.set()
        await self.gate.wait()
        await super().send(message)


class BoundedChannel(MemoryChannel):
    """A peer behind a socket buffer of `frames` frames: a send waits while the buffer is full, as one
    waits on a paused transport."""

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.to_client = asyncio.Queue(maxsize=frames)

    async def send(self, message: bytes) -> None:
        if self.close_code is not None:
            raise ChannelClosed()
        await self.to_client.put(message)


class BrokenChannel(MemoryChannel):
    """A peer that vanished: every send raises."""

    sends = 0

    async def send(self, message: bytes) -> None:
        self.sends += 1
        raise ConnectionResetError("gone")


async def connect(
    channel: MemoryChannel,
    send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
    send_stall_seconds: float = 30.0,
    clock: Clock = SYSTEM_CLOCK,
) -> Connection:
    """A started connection; returns once its sender holds the first frame (a sync step 1) in flight."""
    opened = Connection(
        channel, WHO, "r1", send_queue_bytes, send_stall_seconds=send_stall_seconds, clock=clock
    )
    opened.start()
    opened.enqueue(protocol.sync_step1(b"\x00"))
    if isinstance(channel, GatedChannel):
        await asyncio.wait_for(channel.waiting.wait(), 5)
    return opened


def edits(count: int, seed: int) -> tuple[Doc, list[bytes]]:
    """`count` updates from three writers to one document (map sets, text inserts and deletes), in the
    order a server would broadcast them, and the document that applied them all."""
    rng = random.Random(seed)
    writers: list[Doc] = [Doc() for _ in range(3)]
    reference: Doc = Doc()
    updates = []
    for n in range(count):
        writer = rng.choice(writers)
        writer.apply_update(reference.get_update(writer.get_state()))
        before = writer.get_state()
        fields = writer.get("fields", type=Map)
        roll = rng.random()
        if roll < 0.4:
            fields[rng.choice("abc")] = n
        elif roll < 0.8 or "notes" not in fields:
            if "notes" not in fields:
                fields["notes"] = Text()
            notes = fields["notes"]
            notes.insert(rng.randint(0, len(notes)), f"w{n} ")
        else:
            notes = fields["notes"]
            if len(notes) > 2:
                del notes[0:2]
            else:
                fields["d"] = n
        update = writer.get_update(before)
        reference.apply_update(update)
        updates.append(update)
    return reference, updates


def applied(frames: list[bytes]) -> Doc:
    doc: Doc = Doc()
    for frame in frames:
        message = protocol.decode_message(frame)
        if isinstance(message, protocol.SyncUpdate):
            doc.apply_update(message.update)
    return doc


def same_state(left: Doc, right: Doc) -> bool:
    """Same clocks (an encoded state vector's order is arbitrary) and the same content."""
    return protocol.decode_state_vector(left.get_state()) == protocol.decode_state_vector(
        right.get_state()
    ) and (left.get("fields", type=Map).to_py() == right.get("fields", type=Map).to_py())


async def test_queued_updates_are_merged_and_apply_to_the_same_state() -> None:
    channel = GatedChannel()
    peer = await connect(channel)
    reference, updates = edits(300, seed=7)
    for update in updates:
        peer.enqueue(protocol.sync_update(update))
    assert not peer.closed.is_set()
    channel.gate.set()
    _step1, merged = [await channel.next_message() for _ in range(2)]
    assert same_state(applied([merged]), reference), "300 queued updates went out as one"
    # A peer that keeps up gets each update as it is: there is nothing to merge.
    channel.drain()
    for update in updates[:3]:
        peer.enqueue(protocol.sync_update(update))
        assert len(protocol.decode_message(await channel.next_message()).update) == len(update)  # type: ignore[union-attr]


async def test_other_messages_keep_their_place_between_merged_runs() -> None:
    channel = GatedChannel()
    peer = await connect(channel)
    reference, updates = edits(6, seed=3)
    presence = protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(5, 1, {"field": "a"})]))
    saved = protocol.saved(b"\x00")
    frames = [
        protocol.sync_update(updates[0]),
        protocol.sync_update(updates[1]),
        presence,
        protocol.sync_update(updates[2]),
        saved,
        protocol.sync_step2(updates[3]),
        protocol.sync_update(updates[4]),
        protocol.sync_update(updates[5]),
    ]
    for frame in frames:
        peer.enqueue(frame)
    channel.gate.set()
    got = [await channel.next_message() for _ in range(6)]
    kinds = [(m[0], m[1]) if m[0] == protocol.SYNC else (m[0],) for m in got]
    assert kinds == [
        (protocol.SYNC, protocol.SYNC_STEP1),  # in flight before anything else was queued
        (protocol.SYNC, protocol.SYNC_UPDATE),  # updates 0 and 1
        (protocol.AWARENESS,),
        (protocol.SYNC, protocol.SYNC_UPDATE),  # update 2 alone
        (protocol.SAVED,),
        (protocol.SYNC, protocol.SYNC_STEP2),  # a run holding a step 2 is sent as one: the joiner is synced
    ]
    assert got[2] == presence and got[4] == saved
    assert same_state(applied(got), reference)


async def test_nothing_joins_an_update_that_is_being_sent() -> None:
    channel = GatedChannel()
    peer = await connect(channel)
    channel.gate.set()
    await channel.next_message()
    channel.gate.clear()
    channel.waiting.clear()
    reference, updates = edits(3, seed=5)
    peer.enqueue(protocol.sync_update(updates[0]))
    await asyncio.wait_for(channel.waiting.wait(), 5)  # in flight
    peer.enqueue(protocol.sync_update(updates[1]))
    peer.enqueue(protocol.sync_update(updates[2]))
    channel.gate.set()
    got = [await channel.next_message() for _ in range(2)]
    assert got[0] == protocol.sync_update(updates[0])
    assert same_state(applied(got), reference)


async def test_merging_that_fails_sends_the_frames_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    channel = GatedChannel()
    peer = await connect(channel)
    reference, updates = edits(4, seed=1)

    class PanicException(BaseException):  # what pyo3 raises when yrs panics
        pass

    def panic(*updates: bytes) -> bytes:
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(connection, "merge_updates", panic)
    for update in updates:
        peer.enqueue(protocol.sync_update(update))
    channel.gate.set()
    got = [await channel.next_message() for _ in range(5)]
    assert got[1:] == [protocol.sync_update(update) for update in updates]
    assert same_state(applied(got), reference)
    monkeypatch.undo()
    # Bytes yrs refuses to merge (a ValueError from pycrdt) are sent as they are, the rest still arrives.
    channel.drain()
    channel.gate.clear()
    channel.waiting.clear()
    peer.enqueue(protocol.saved(b"\x00"))
    await asyncio.wait_for(channel.waiting.wait(), 5)
    garbage = protocol.sync_update(b"\x01\x02\x03\xff\xff\xff")
    peer.enqueue(protocol.sync_update(updates[0]))
    peer.enqueue(garbage)
    channel.gate.set()
    got = [await channel.next_message() for _ in range(3)]
    assert got[1:] == [protocol.sync_update(updates[0]), garbage]


async def test_the_backlog_never_passes_the_byte_budget() -> None:
    channel = GatedChannel()
    budget = 64 * 1024
    peer = await connect(channel, send_queue_bytes=budget)
    # Awareness frames are never merged: each one adds to the backlog.
    frame = protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(5, 1, {"x": "y" * 1000})]))
    sent = 0
    while peer.close_code is None:
        peer.enqueue(frame)
        sent += 1
        assert peer.backlog_bytes <= budget or peer.close_code is not None
        assert sent < 1000, "never closed"
    assert peer.close_code == close_codes.TRY_AGAIN_LATER
    assert sent >= budget // (len(frame) + 128), "it held about a budget's worth before closing"
    assert peer.backlog_bytes == 0, "a closed connection holds nothing"
    await asyncio.wait_for(peer.closed.wait(), 5)
    assert channel.close_code == close_codes.TRY_AGAIN_LATER
    await peer.stop()


async def test_a_message_bigger_than_the_budget_still_reaches_a_reader() -> None:
    channel = MemoryChannel()
    peer = Connection(channel, WHO, "r1", 1024)
    peer.start()
    big_step2 = protocol.sync_step2(b"\x00" * 10_000)  # a joiner's whole document
    peer.enqueue(big_step2)
    peer.enqueue(protocol.saved(b"\x00"))
    assert peer.close_code is None
    assert await channel.next_message() == big_step2
    assert (await channel.next_message())[0] == protocol.SAVED
    await peer.stop()


async def test_a_burst_to_a_reader_that_keeps_up_never_closes_it() -> None:
    """The finding: a reader that reads, only a little slower than the burst arrives, was closed when
    its queue passed 1,024 messages. Behind a full socket buffer the updates queue and go out merged."""
    channel = BoundedChannel(frames=8)
    peer = Connection(channel, WHO, "r1", 1024 * 1024)
    peer.start()
    reference, updates = edits(3000, seed=11)
    reader: Doc = Doc()
    frames = 0
    for n, update in enumerate(updates):
        peer.enqueue(protocol.sync_update(update))
        if n % 500 == 499:  # the reader gets a turn now and then, not after every update
            frames += 1
            reader.apply_update(protocol.decode_message(await channel.next_message()).update)  # type: ignore[union-attr]
    while not same_state(reader, reference):
        frames += 1
        reader.apply_update(protocol.decode_message(await channel.next_message()).update)  # type: ignore[union-attr]
    assert peer.close_code is None
    assert frames < 40, "3,000 updates: the buffer's 8 frames, then a handful of merged sends"
    await peer.stop()


async def test_a_channel_that_takes_a_frame_at_once_gets_it_in_the_enqueueing_task() -> None:
    """No sender task and no loop turn per frame: the frame is on the channel when `enqueue` returns."""
    channel = MemoryChannel()
    peer = Connection(channel, WHO, "r1")
    peer.start()
    _, updates = edits(3, seed=5)
    for update in updates:
        await asyncio.sleep(0)  # one update per turn of the loop, as live typing comes
        peer.enqueue(protocol.sync_update(update))
        assert channel.to_client.qsize() == 1 and peer.queued == 0
        assert protocol.decode_message(channel.to_client.get_nowait()) == protocol.SyncUpdate(update, False)
    await peer.stop()


async def test_a_burst_within_one_turn_goes_out_first_at_once_then_merged() -> None:
    """A reader loop handling frames that arrived together enqueues them in one turn: the first is sent at
    once, the rest at the next turn as one merged update."""
    channel = MemoryChannel()
    peer = Connection(channel, WHO, "r1")
    peer.start()
    reference, updates = edits(50, seed=9)
    for update in updates:
        peer.enqueue(protocol.sync_update(update))
    assert channel.to_client.qsize() == 1 and peer.queued == 1
    first = await channel.next_message()
    merged = await channel.next_message()
    assert protocol.decode_message(first) == protocol.SyncUpdate(updates[0], False)
    assert same_state(applied([first, merged]), reference)
    assert peer.queued == 0
    await peer.stop()


async def test_order_is_kept_when_a_send_starts_to_wait_and_when_it_stops() -> None:
    """Sent at once, then queued behind a send that waits (merged runs, other messages in place), then
    at once again: the reader sees every message in the order enqueued."""
    channel = BoundedChannel(frames=2)
    peer = Connection(channel, WHO, "r1")
    peer.start()
    reference, updates = edits(40, seed=13)
    notices = [protocol.saved(bytes([n])) for n in range(4)]
    expected: list[bytes] = []
    for n, update in enumerate(updates):
        peer.enqueue(protocol.sync_update(update))
        if n % 10 == 9:
            peer.enqueue(notices[n // 10])
            expected.append(notices[n // 10])
    assert peer.queued > 0, "the buffer filled: the rest waits"
    got: list[bytes] = []
    while len([m for m in got if m[0] == protocol.SAVED]) < len(notices):
        got.append(await channel.next_message())
    assert [m for m in got if m[0] == protocol.SAVED] == expected
    # At each notice the reader holds exactly the updates enqueued before it: none later, none missing.
    reader: Doc = Doc()
    seen = 0
    for frame in got:
        if frame[0] == protocol.SAVED:
            seen += 1
            assert same_state(reader, applied([protocol.sync_update(u) for u in updates[: 10 * seen]]))
        else:
            reader.apply_update(protocol.decode_message(frame).update)  # type: ignore[union-attr]
    assert same_state(reader, reference)
    for _ in range(100):  # a turn or two: the sender task sends what the reader made room for, and ends
        await asyncio.sleep(0)
        if not peer.queued:
            break
    peer.enqueue(notices[0])
    assert channel.to_client.qsize() == 1, "nothing queued any more: sent at once again"
    await peer.stop()


async def test_a_failed_send_ends_sending_without_raising_into_the_room() -> None:
    channel = BrokenChannel()
    peer = Connection(channel, WHO, "r1")
    peer.start()
    peer.enqueue(protocol.saved(b"\x00"))
    peer.enqueue(protocol.saved(b"\x01"))
    assert channel.sends == 1 and peer.queued == 0 and peer.close_code is None
    await peer.stop()


async def test_a_peer_that_takes_nothing_for_the_stall_time_is_closed() -> None:
    clock = FakeClock()
    channel = GatedChannel()
    peer = await connect(channel, send_stall_seconds=30.0, clock=clock)
    clock.advance(29)
    peer.enqueue(protocol.saved(b"\x00"))
    assert peer.close_code is None, "29 s without progress is not stuck yet"
    channel.gate.set()  # it reads: both frames go out, and the stall clock starts again
    await channel.next_message()
    await channel.next_message()
    channel.gate.clear()
    channel.waiting.clear()
    peer.enqueue(protocol.saved(b"\x01"))
    await asyncio.wait_for(channel.waiting.wait(), 5)
    clock.advance(25)
    assert not peer.check_progress()
    peer.enqueue(protocol.saved(b"\x02"))
    clock.advance(10)  # 35 s since the last send completed, with frames waiting
    peer.enqueue(protocol.saved(b"\x03"))
    assert peer.close_code == close_codes.TRY_AGAIN_LATER
    await peer.stop()


async def test_an_idle_peer_is_never_stuck_and_the_timer_closes_a_silent_stuck_one() -> None:
    clock = FakeClock()
    channel = MemoryChannel()
    peer = Connection(channel, WHO, "r1", send_stall_seconds=30.0, clock=clock)
    peer.start()
    peer.enqueue(protocol.saved(b"\x00"))
    await channel.next_message()
    clock.advance(3600)  # an hour with nothing to send is not a stall
    peer.enqueue(protocol.saved(b"\x01"))
    assert peer.close_code is None
    assert not peer.check_progress()
    await channel.next_message()
    await peer.stop()
    # A stuck peer that is sent nothing more is closed by the connection's own timer (real time, short).
    stuck = GatedChannel()
    quiet = await connect(stuck, send_stall_seconds=0.05)
    await asyncio.wait_for(quiet.closed.wait(), 5)
    assert quiet.close_code == stuck.close_code == close_codes.TRY_AGAIN_LATER
    await quiet.stop()
