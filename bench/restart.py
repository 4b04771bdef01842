"""A long record opened by a fresh client after a server restart: node (y-leveldb) and collab.

    .venv/bin/python -m bench.restart                         # records of 1,000 and 10,000 updates
    .venv/bin/python -m bench.restart --lengths 2000          # smoke run

For each target a fresh server that keeps what it is sent (collab: its database; node: the reference with
y-leveldb persistence, `YPERSISTENCE`), one record per log length. One writer per record sends that many
updates, one per message, as a person edits (odd ones set the `name` field, even ones append a character
to the `notes` rich text) and waits until the server holds them all (collab: its `saved`; node: a second
client's sync). Then the server is stopped (SIGTERM) and started again on the same storage, and a fresh
client opens each record in turn, shortest first, each a cold load, until its document holds every update:
its own `apply_update` calls are the client's part, the rest from the start of its TCP connect the
server's (the network's included). Open to synced is the sum. Targets (issue 17): the 10,000-update
record opened to synced in <= 150 ms, and the server's part flat in the log's length (`FLAT_FACTOR`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from time import perf_counter

import websockets
from pycrdt import Doc, Map, Text

from bench.protocol import (
    MESSAGE_SAVED,
    MESSAGE_SYNC,
    SYNC_STEP1,
    SYNC_STEP2,
    decode_state_vector,
    read_var_bytes,
    sync_message,
    update_message,
)
from bench.servers import CollabServer, RunningServer, ServerError, start_node

OPEN_TARGET_MS = 150.0
# "Flat": the longest record's server part at most this many times the shortest one's (each includes the
# connect and the handshake, which do not grow at all).
FLAT_FACTOR = 2.0
# The writer sends without waiting; collab's per-connection message budget is raised for it.
_UNLIMITED = {"COLLAB_MAX_MESSAGES_PER_SECOND": "1000000", "COLLAB_MESSAGE_BURST": "1000000"}
_STORED_WITHIN_SECONDS = 300.0
_AHEAD = 500

Result = dict[str, float]


class _Writer:
    """One client editing a record: `count` updates, then it waits until the server holds them."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.doc: Doc = Doc()
        self.synced = asyncio.Event()
        self.saved = asyncio.Event()
        self.saved_clock = 0

    async def read(self) -> None:
        async for message in self.socket:
            assert isinstance(message, bytes)
            if message[:2] == bytes((MESSAGE_SYNC, SYNC_STEP1)):
                await self.socket.send(sync_message(SYNC_STEP2, self.doc.get_update()))
            elif message[:2] == bytes((MESSAGE_SYNC, SYNC_STEP2)):
                self.doc.apply_update(read_var_bytes(message, 2)[0])
                self.synced.set()
            elif message[0] == MESSAGE_SAVED:
                vector = decode_state_vector(read_var_bytes(message, 1)[0])
                self.saved_clock = vector.get(self.doc.client_id, 0)
                self.saved.set()

    async def write(self, count: int, held: Callable[[int], Awaitable[None]]) -> None:
        """Send `count` updates; every `_AHEAD` of them, wait until the server holds what went before
        (`held`), as an editor's client never runs far ahead of its server."""
        fields = self.doc.get("fields", type=Map)
        # Each transaction's own update, as a Yjs client sends it: `get_update(state)` would carry the
        # document's whole delete set every time (here one more deleted `name` per update).
        updates: list[bytes] = []
        subscription = self.doc.observe(lambda event: updates.append(event.update))
        for n in range(count):
            if n and n % _AHEAD == 0:
                await held(self.clock())
            if n % 2:
                fields["name"] = f"Name {n}"
            else:
                if "notes" not in fields:
                    fields["notes"] = Text()
                notes = fields["notes"]
                notes.insert(len(notes), "abcdefghij"[n % 10])
            for update in updates:
                await self.socket.send(update_message(update))
            updates.clear()
        self.doc.unobserve(subscription)

    def clock(self) -> int:
        return decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)


async def _held_clock(url: str, client_id: int) -> int:
    """What a second client's sync shows of the writer's clock (node says nothing about storing)."""
    async with websockets.connect(url, max_size=None, ping_interval=None) as other:
        await other.send(sync_message(SYNC_STEP1, b"\x00"))
        async for message in other:
            if isinstance(message, bytes) and message[:2] == bytes((MESSAGE_SYNC, SYNC_STEP2)):
                copy: Doc = Doc()
                copy.apply_update(read_var_bytes(message, 2)[0])
                return decode_state_vector(copy.get_state()).get(client_id, 0)
    return 0


async def fill(server: RunningServer, url: str, count: int) -> tuple[int, int]:
    """Write `count` updates to the record at `url`; returns the writer's (client id, clock) once held."""
    async with websockets.connect(url, max_size=None, origin=server.origin, ping_interval=None) as socket:  # type: ignore[arg-type]
        writer = _Writer(socket)
        reader = asyncio.create_task(writer.read())
        await socket.send(sync_message(SYNC_STEP1, b"\x00"))
        await asyncio.wait_for(writer.synced.wait(), 30)

        async def held(clock: int) -> None:
            deadline = asyncio.get_running_loop().time() + _STORED_WITHIN_SECONDS
            while asyncio.get_running_loop().time() < deadline:
                if server.name == "collab":
                    if writer.saved_clock >= clock:
                        return
                    if reader.done():  # the connection ended: no `saved` will come
                        raise ConnectionError(f"collab closed the writer's connection: {reader!r}")
                    writer.saved.clear()
                    saved = asyncio.ensure_future(writer.saved.wait())
                    await asyncio.wait({saved, reader}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
                    saved.cancel()
                elif await _held_clock(url, writer.doc.client_id) >= clock:
                    return
                else:
                    await asyncio.sleep(0.2)
            raise TimeoutError(f"{server.name} did not hold {count} updates in time")

        await writer.write(count, held)
        await held(writer.clock())
        reader.cancel()
        return writer.doc.client_id, writer.clock()


async def open_cold(
    server: RunningServer, url: str, client_id: int, clock: int, within: float = 60.0
) -> Result:
    """A fresh client opens the record, until its document holds the writer's every update: the time
    spent waiting for messages (from the start of the connect) is the server's part, the time in its own
    `apply_update` the client's. collab sends it all in sync step 2; the node reference answers step 1
    before y-leveldb has read the document, then sends what it read as an update."""
    started = perf_counter()
    applying = 0.0
    doc: Doc = Doc()
    sizes = 0
    applied = started
    async with websockets.connect(url, max_size=None, origin=server.origin, ping_interval=None) as socket:  # type: ignore[arg-type]
        await socket.send(sync_message(SYNC_STEP1, b"\x00"))
        # Not all there within `within`: reported as incomplete (y-leveldb may lose what it had not
        # written when the reference is stopped; the node server does not flush on SIGTERM).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                async for message in socket:
                    if not isinstance(message, bytes) or message[:1] != bytes((MESSAGE_SYNC,)):
                        continue
                    if message[1] == SYNC_STEP1:
                        continue
                    received = perf_counter()
                    doc.apply_update(read_var_bytes(message, 2)[0])
                    applied = perf_counter()
                    applying += applied - received
                    sizes += len(message)
                    if decode_state_vector(doc.get_state()).get(client_id, 0) >= clock:
                        break
    held = decode_state_vector(doc.get_state()).get(client_id, 0)
    return {
        "server_ms": (applied - started - applying) * 1000,
        "apply_ms": applying * 1000,
        "open_ms": (applied - started) * 1000,
        "bytes": sizes,
        "complete": float(held >= clock),
    }


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*") if path.is_file())


def _wait_until_still(folder: Path, within: float = 30.0) -> None:
    """Until y-leveldb's files stop growing (it writes each update after the reference served it)."""
    deadline = time.monotonic() + within
    sizes: list[int] = []
    while time.monotonic() < deadline:
        sizes.append(_folder_size(folder))
        if len(sizes) >= 3 and sizes[-1] == sizes[-2] == sizes[-3]:  # still for a second
            return
        time.sleep(0.5)


def run_target(
    target: str, lengths: list[int], workdir: Path, connections_per_user: int = 20
) -> dict[int, Result]:
    """Fill one record per length, restart the server, open each cold; per length its figures."""
    tag = f"restart-{time.time():.0f}"
    collab = CollabServer(workdir, connections_per_user)

    def start(record_ids: list[str] | None = None) -> RunningServer:
        if target == "node":
            return start_node(len(lengths), 1, tag, workdir, persist=workdir / "node-leveldb")
        return collab.start(len(lengths), 1, record_ids, extra_env=_UNLIMITED)

    server = start()
    urls = [urls[0] for urls in server.peer_urls]
    record_ids = [url.split("/ws/")[1].split("?")[0] for url in urls] if target == "collab" else None
    try:
        written = []
        for length, url in zip(lengths, urls, strict=True):
            _progress(f"restart, {target}: writing {length:,} updates")
            written.append(asyncio.run(fill(server, url, length)))
        if target == "node":
            _wait_until_still(workdir / "node-leveldb")
    finally:
        server.stop()
    _progress(f"restart, {target}: restarting the server")
    server = start(record_ids)
    try:
        results: dict[int, Result] = {}
        for length, urls_of_room, (client_id, clock) in zip(lengths, server.peer_urls, written, strict=True):
            results[length] = asyncio.run(open_cold(server, urls_of_room[0], client_id, clock))
        return results
    finally:
        server.stop()


def checks(results: dict[int, Result], lengths: list[int]) -> list[tuple[str, bool]]:
    """The issue's targets over one target's results: (description, met)."""
    longest, shortest = results[max(lengths)], results[min(lengths)]
    found = [
        (
            f"{max(lengths):,}-update record opened to synced ≤ {OPEN_TARGET_MS:.0f} ms "
            f"({longest['open_ms']:.1f} ms)",
            longest["open_ms"] <= OPEN_TARGET_MS and bool(longest["complete"]),
        )
    ]
    if len(lengths) > 1:
        found.append(
            (
                f"server part flat in the log's length: {max(lengths):,} vs {min(lengths):,} updates "
                f"≤ {FLAT_FACTOR:g}x ({longest['server_ms']:.1f} vs {shortest['server_ms']:.1f} ms)",
                longest["server_ms"] <= FLAT_FACTOR * shortest["server_ms"],
            )
        )
    return found


_ROWS = (
    ("server part: connect to sync (ms)", "server_ms", "{:.1f}"),
    ("client's apply (ms)", "apply_ms", "{:.1f}"),
    ("open to synced (ms)", "open_ms", "{:.1f}"),
    ("sync step 2 (bytes)", "bytes", "{:,.0f}"),
    ("every update there", "complete", "{:.0f}"),
)


def table(lengths: list[int], results: dict[str, dict[int, Result] | str]) -> str:
    lines = [
        "Restart: a fresh client opens each record after a server restart (node: y-leveldb persistence)",
        f"{'':44}{'node':>10}{'collab':>10}{'collab/node':>13}{'target':>10}",
        "-" * 87,
    ]
    node, collab = results.get("node"), results.get("collab")
    for length in lengths:
        for label, key, form in _ROWS:
            cells = [form.format(r[length][key]) if isinstance(r, dict) else "-" for r in (node, collab)]
            ratio = ""
            if key != "complete" and isinstance(node, dict) and isinstance(collab, dict):
                theirs = node[length][key]
                ratio = f"{collab[length][key] / theirs:.2f}x" if theirs else ""
            target = ""
            if key == "open_ms" and length == max(lengths) and isinstance(collab, dict):
                met = collab[length][key] <= OPEN_TARGET_MS
                target = f"≤{OPEN_TARGET_MS:.0f} {'ok' if met else 'MISS'}"
            label = f"{length:,} updates: {label}"
            lines.append(f"{label:44}{cells[0]:>10}{cells[1]:>10}{ratio:>13}{target:>10}")
    for name, result in results.items():
        if isinstance(result, str):
            lines.append(f"{name}: {result}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="1000,10000", help="updates per record, one record each")
    parser.add_argument("--target", choices=["node", "collab", "both"], default="both")
    args = parser.parse_args(argv)
    lengths = sorted(int(n) for n in args.lengths.split(","))
    results: dict[str, dict[int, Result] | str] = {}
    for target in ["node", "collab"] if args.target == "both" else [args.target]:
        workdir = Path(tempfile.mkdtemp(prefix="collab-bench-restart-"))
        try:
            results[target] = run_target(target, lengths, workdir)
        except (ServerError, TimeoutError, OSError) as error:
            results[target] = f"failed: {error}"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(lengths, results))
    collab = results.get("collab")
    if isinstance(collab, dict):
        for text, met in checks(collab, lengths):
            print(f"  [{'ok' if met else 'MISSED'}] collab: {text}")
    return 0 if all(isinstance(r, dict) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
