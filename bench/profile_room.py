"""Where the server's time goes per update, in-process and reproducible: no sockets, no database, no load.

N rooms of the `customers` collection (its schema, so corrections and the history index run as in the
server), each with one writer and M-1 receivers on in-memory channels that count what they get, and the
in-memory update writer committing once per round (so every writer gets its `saved`). Each round, every
writer sends one update (a set of `fields.name`, as `bench.run` does) through `Room.receive`; then the
event loop runs until every connection has sent everything queued. What is measured:

- CPU time (`time.process_time`) per update and per fanned-out update (update x receivers),
- with `--profile`, the functions that took it (cProfile, sorted by own time),
- under callgrind (`--instructions`), machine instructions per update: the run is repeated for two update
  counts and the difference divided, so start-up costs drop out. Instruction counts barely move with
  the load of other processes, unlike times.

`--channel` picks what the connections send through: `sink` (the default: channels that only count, the
room alone), `uvicorn` (real loopback sockets through uvicorn's own WebSocket protocol, each frame framed
by websockets per receiver: how collab sent before issue 17's frame writer) or `collab` (the same sockets
through collab's protocol class, `server/strangers.py`, which frames a broadcast once and writes it to each
transport). Each client reads and drops what it gets. Kernel time is not in callgrind's count.

```sh
.venv/bin/python -m bench.profile_room                      # 100 rooms x 10 clients, 20 rounds
.venv/bin/python -m bench.profile_room --profile 25         # plus the top 25 functions
.venv/bin/python -m bench.profile_room --instructions       # callgrind; slow (about a minute)
.venv/bin/python -m bench.profile_room --channel collab --instructions --rooms 20 --rounds 10
```
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
import uvloop
from pycrdt import Doc, Map
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from auth.principal import Principal, Role
from collab.live.channel import Channel
from collab.live.connection import Connection
from collab.live.room import Room, settle
from collab.records.field_changes import FieldIndex
from collab.records.records import SAMPLE_COLLECTION
from collab.records.schema import parse_collection
from collab.store.writer import MemoryUpdateWriter
from collab.store.writes import WriteOutcome
from collab.ycodec import protocol
from server.strangers import StrangerGuard, WaitLimits, guarded_protocols
from web.channel import WebSocketChannel

CHANNELS = ("sink", "uvicorn", "collab")


class SinkChannel:
    """A peer that takes every frame at once and only counts them."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0

    async def send(self, message: bytes) -> None:
        self.frames += 1
        self.bytes += len(message)

    async def recv(self) -> bytes:  # never called: the driver feeds the room directly
        raise NotImplementedError

    async def close(self, code: int, reason: str = "") -> None:
        return None


class _DropClient(asyncio.Protocol):
    """The client end of a socket: sends the WebSocket handshake, then reads and drops everything."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)


class _SocketServer:
    """uvicorn's WebSocket protocol (`uvicorn`) or collab's (`collab`) on a loopback port of this loop; each
    connection made is accepted and handed over as a `WebSocketChannel`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.accepted: asyncio.Queue[WebSocketChannel] = asyncio.Queue()
        self.done = asyncio.Event()
        self.clients: list[tuple[asyncio.BaseTransport, _DropClient]] = []

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        self.accepted.put_nowait(WebSocketChannel(websocket, send))
        await self.done.wait()

    async def start(self) -> None:
        if self.kind == "collab":
            limits = WaitLimits(3600, 3600, 3600, 1_000_000, 8192)
            protocol_class: type[Any] = guarded_protocols(StrangerGuard(limits))[1]
        else:
            protocol_class = WebSocketsSansIOProtocol
        config = uvicorn.Config(
            self.app, interface="asgi3", ws=protocol_class, ws_per_message_deflate=False, log_level="warning"
        )
        config.load()
        state = ServerState()
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: protocol_class(config=config, server_state=state, app_state={}), "127.0.0.1", 0
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def channel(self) -> WebSocketChannel:
        request = (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        self.clients.append(
            await loop.create_connection(lambda: _DropClient(request), "127.0.0.1", self.port)
        )
        return await self.accepted.get()

    async def stop(self) -> None:
        self.done.set()
        for transport, _ in self.clients:
            transport.close()
        self.server.close()


@dataclass
class _Setup:
    rooms: list[Room]
    writers: list[tuple[Connection, Doc]]
    channels: list[SinkChannel]
    connections: list[Connection]
    store: MemoryUpdateWriter
    sockets: _SocketServer | None


def _principal(n: int) -> Principal:
    return Principal(f"u{n}", "t1", "default", f"u{n}@example.com", f"user {n}", Role.EDITOR, f"s{n}")


async def _setup(rooms: int, clients: int, kind: str) -> _Setup:
    specs = parse_collection(SAMPLE_COLLECTION)[2]
    store = MemoryUpdateWriter()
    by_id: dict[str, Room] = {}

    def consume(outcome: WriteOutcome) -> None:
        settle(outcome, lambda write: by_id.get(write.record_id))

    store.subscribe(consume)
    sockets = None if kind == "sink" else _SocketServer(kind)
    if sockets is not None:
        await sockets.start()
    setup = _Setup([], [], [], [], store, sockets)
    for r in range(rooms):
        doc: Doc = Doc()
        room = Room(f"r{r}", doc, store, FieldIndex.from_state(doc.get_update(), doc), specs=specs)
        by_id[room.record_id] = room
        setup.rooms.append(room)
        for c in range(clients):
            channel: Channel
            if sockets is None:
                channel = sink = SinkChannel()
                setup.channels.append(sink)
            else:
                channel = await sockets.channel()
            connection = Connection(channel, _principal(r * clients + c), room.record_id)
            connection.start()
            room.join(connection)
            setup.connections.append(connection)
            if c == 0:
                setup.writers.append((connection, Doc()))
    return setup


async def _settle(connections: list[Connection]) -> None:
    """Run the loop until no connection has anything queued."""
    while True:
        await asyncio.sleep(0)
        if not any(connection.queued for connection in connections):
            break


async def drive(
    rooms: int, clients: int, rounds: int, profiler: cProfile.Profile | None, channel: str = "sink"
) -> dict[str, float]:
    """Run the load; returns the figures (CPU seconds, updates, frames: counted by sink channels only)."""
    setup = await _setup(rooms, clients, channel)
    await _settle(setup.connections)
    frames_before = sum(channel.frames for channel in setup.channels)
    gc.collect()
    updates: list[list[bytes]] = []
    for n in range(rounds):  # the updates are made before the clock starts: a client's cost, not ours
        batch = []
        for _, doc in setup.writers:
            before = doc.get_state()
            doc.get("fields", type=Map)["name"] = f"customer {n} of a fixed-length name"
            batch.append(protocol.sync_update(doc.get_update(before)))
        updates.append(batch)
    if profiler is not None:
        profiler.enable()
    started = time.process_time()
    for batch in updates:
        for room, (connection, _), frame in zip(setup.rooms, setup.writers, batch, strict=True):
            room.receive(connection, frame)
        setup.store.commit()
        await _settle(setup.connections)
    cpu = time.process_time() - started
    if profiler is not None:
        profiler.disable()
    sent = sum(channel.frames for channel in setup.channels) - frames_before
    for connection in setup.connections:
        connection.close(1001)
        await connection.stop()
    if setup.sockets is not None:
        await setup.sockets.stop()
    total = rooms * rounds
    return {
        "updates": total,
        "frames": sent,
        "cpu_s": cpu,
        "us_per_update": cpu / total * 1e6,
        "us_per_fanned_out": cpu / (total * (clients - 1)) * 1e6,
    }


def _instructions(args: argparse.Namespace, rounds: int) -> int:
    """Machine instructions of one run of this module under callgrind (the whole process)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.profile_room", "--rooms", str(args.rooms),
            "--clients", str(args.clients), "--rounds", str(rounds), "--channel", args.channel,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
        return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_room", description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--clients", type=int, default=10, help="per room, the writer included")
    parser.add_argument("--rounds", type=int, default=20, help="updates per room")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the top N functions")
    parser.add_argument("--instructions", action="store_true", help="count instructions with callgrind")
    parser.add_argument("--channel", choices=CHANNELS, default="sink", help="what connections send through")
    args = parser.parse_args(argv)
    if args.instructions:
        short, long = args.rounds, args.rounds * 3
        counts = [_instructions(args, rounds) for rounds in (short, long)]
        per_update = (counts[1] - counts[0]) / (args.rooms * (long - short))
        print(f"instructions: {counts[0]:,} ({short} rounds), {counts[1]:,} ({long} rounds)")
        print(f"instructions per update: {per_update:,.0f}")
        print(f"instructions per fanned-out update: {per_update / (args.clients - 1):,.0f}")
        return 0
    profiler = cProfile.Profile() if args.profile else None
    # The server runs on uvloop (uvicorn's default when installed): socket channels are measured on it too.
    loop_factory = uvloop.new_event_loop if args.channel != "sink" else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        figures = runner.run(drive(args.rooms, args.clients, args.rounds, profiler, args.channel))
    print(
        f"{args.rooms} rooms x {args.clients} clients, {args.rounds} updates per room: "
        f"{figures['updates']:.0f} updates, {figures['frames']:.0f} frames sent"
    )
    print(f"CPU per update: {figures['us_per_update']:.1f} us")
    print(f"CPU per fanned-out update: {figures['us_per_fanned_out']:.2f} us")
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.profile)
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
