"""How long the event loop stalls while a long record is opened: its history index, built on the loop
against on a worker thread (collab/live/pending_index.py).

    .venv/bin/python -m bench.index_stall                  # 10,000 text inserts at random places
    .venv/bin/python -m bench.index_stall --inserts 3000

In-process, on a temporary SQLite file: one `customers` record whose rich text `notes` got `--inserts`
one-character inserts at random places (each its own struct: nothing merges), stored as one update. A
fresh `RoomRegistry` then opens it and a client joins (sync step 1), as after a restart or an eviction.
Meanwhile a ticker asks the loop for a turn every millisecond and records how late each turn came: the
longest wait is what every other room and tenant of the server waited then. Each way runs `--runs` times,
interleaved, and the table shows each way's worst run. "On the loop" is how a room built it before
(`Room.build_index` in the turn after the answer); "worker thread" is how it is built now.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, Map, Text

from auth.principal import Principal, Role
from bench.appender import _seed
from bench.profile_room import SinkChannel
from collab.live.connection import Connection
from collab.live.pending_index import PendingIndex
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.settings import Settings
from collab.store.writer import MemoryUpdateWriter, SqlUpdateWriter
from collab.ycodec import protocol
from persistence.database import Database

_TICK_SECONDS = 0.001
_INDEX_WITHIN_SECONDS = 120.0


def _long_notes(inserts: int) -> bytes:
    doc: Doc = Doc()
    doc["fields"] = fields = Map()
    fields["notes"] = notes = Text()
    chooser = random.Random(17)
    for _ in range(inserts):
        notes.insert(chooser.randint(0, len(notes)), "x")
    return doc.get_update()


class Ticker:
    """Asks the loop for a turn every `_TICK_SECONDS`; keeps how late each turn came."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(_TICK_SECONDS)
            self.late.append(time.perf_counter() - asked - _TICK_SECONDS)

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _open(database: Database, record_id: str, user_id: str, on_loop: bool) -> dict[str, float]:
    """Open the record in a fresh registry and join it; the loop's stalls until its index is built."""
    registry = RoomRegistry(database, MemoryUpdateWriter(), Settings())
    start = PendingIndex.start
    if on_loop:  # nothing built off the loop: the room's first edit, or the bench below, builds it
        PendingIndex.start = lambda *_: None  # type: ignore[method-assign]
    try:
        return await _timed(registry, record_id, user_id, on_loop)
    finally:
        PendingIndex.start = start  # type: ignore[method-assign]


async def _timed(registry: RoomRegistry, record_id: str, user_id: str, on_loop: bool) -> dict[str, float]:
    ticker = Ticker()
    ticker.start()
    await asyncio.sleep(0.05)  # the ticker's first turns
    started = time.perf_counter()
    room = await registry.acquire(record_id)
    who = Principal(user_id, room.tenant_id, "bench", "b@x.org", "B", Role.EDITOR, "s-bench")
    connection = Connection(SinkChannel(), who, record_id, 64 * 1024 * 1024)
    connection.start()
    room.join(connection)
    room.receive(connection, protocol.sync_step1(b"\x00"))
    answered = time.perf_counter() - started
    if on_loop:
        await asyncio.sleep(0)
        room.build_index()  # as `call_soon(room.build_index)` did
    for _ in range(int(_INDEX_WITHIN_SECONDS / _TICK_SECONDS)):  # no event tells: poll, with a deadline
        if not room.history_pending:
            break
        await asyncio.sleep(_TICK_SECONDS)
    else:
        raise TimeoutError("the history index was never built")
    indexed = time.perf_counter() - started
    await asyncio.sleep(0.05)
    await ticker.stop()
    room.leave(connection)
    await connection.stop()
    registry.release(room)
    late = sorted(ticker.late)
    return {
        "answered_ms": answered * 1000,
        "indexed_ms": indexed * 1000,
        "stall_max_ms": late[-1] * 1000,
        "stall_p99_ms": late[int(len(late) * 0.99)] * 1000,
    }


async def _run(args: argparse.Namespace, folder: Path) -> dict[str, list[dict[str, float]]]:
    async with Database(f"sqlite+aiosqlite:///{folder / 'stall.db'}") as database:
        await database.migrate()
        _, _, user_id, (record_id,) = await _seed(database, 1)
        async with SqlUpdateWriter(database) as writer:
            registry = RoomRegistry(database, writer, Settings())
            room = await registry.acquire(record_id)
            room.apply(_long_notes(args.inserts), Origin(OriginKind.LIVE, user_id, "s-bench"))
            await registry.flush()
            registry.release(room)
        runs: dict[str, list[dict[str, float]]] = {"on the loop": [], "worker thread": []}
        for _ in range(args.runs):
            runs["on the loop"].append(await _open(database, record_id, user_id, on_loop=True))
            runs["worker thread"].append(await _open(database, record_id, user_id, on_loop=False))
        return runs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.index_stall", description=__doc__.split("\n")[0])
    parser.add_argument("--inserts", type=int, default=10_000, help="one-character inserts at random places")
    parser.add_argument("--runs", type=int, default=3, help="opens each way, interleaved")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="collab-index-stall-"))
    try:
        runs = asyncio.run(_run(args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"A record of {args.inserts:,} text inserts at random places, opened {args.runs} times each way")
    print(f"{'worst of the runs':42}{'on the loop':>14}{'worker thread':>16}")
    rows = (
        ("first sync answered (ms)", "answered_ms"),
        ("history index ready (ms)", "indexed_ms"),
        ("longest loop stall (ms)", "stall_max_ms"),
        ("loop stall p99 (ms)", "stall_p99_ms"),
    )
    for label, key in rows:
        worst = [max(run[key] for run in runs[way]) for way in ("on the loop", "worker thread")]
        print(f"{label:42}{worst[0]:>14,.1f}{worst[1]:>16,.1f}")


if __name__ == "__main__":
    main()
