"""Typing at the end of a long rich-text field: server CPU per keystroke, node and collab.

    .venv/bin/python -m bench.longtext                   # a 99,000-character field, 400 keystrokes
    .venv/bin/python -m bench.longtext --chars 300000    # node only grows that far: see below

One record (collab: the sample collection's `notes`, a rich-text field, i.e. a Y.Text in the `fields`
map), one y-websocket client. The client first fills the text to `--chars` characters (in 1,000-character
inserts at the end; not measured), waits until the server has it all (collab: its `saved` covers it; node:
a second client's sync), then types `--keys` single characters at the end, one every 1/`--rate` s, each a
separate update, as a person types. Measured: the server process tree's CPU (utime+stime, `/proc`) over the
typing, per keystroke. pycrdt's `apply_update` grows with the length of the block a client keeps appending
to (NOTES.md: 26 us at 64K characters, 400 us at 640K); the issue's target is <= 1 ms per keystroke at
300,000 characters. collab caps a text at 100,000 characters (`MAX_TEXT_CHARS`, corrected beyond), so
its field cannot reach 300,000: the default stays under the cap, and a longer `--chars` measures the
correction instead of the typing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import websockets
from pycrdt import Doc, Map, Text

from bench import procstat
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

FIELD = "notes"
_CHUNK = 1000


class Typist:
    """One y-websocket client holding the record's document."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.doc: Doc = Doc()
        self.synced = asyncio.Event()
        self.saved_clock = 0
        self.saved = asyncio.Event()

    async def read(self) -> None:
        async for message in self.socket:
            assert isinstance(message, bytes)
            if message[0] == MESSAGE_SYNC and message[1] == SYNC_STEP1:
                await self.socket.send(sync_message(SYNC_STEP2, self.doc.get_update()))
            elif message[0] == MESSAGE_SYNC and message[1] == SYNC_STEP2:
                self.doc.apply_update(read_var_bytes(message, 2)[0])
                self.synced.set()
            elif message[0] == MESSAGE_SAVED:
                vector = decode_state_vector(read_var_bytes(message, 1)[0])
                self.saved_clock = vector.get(self.doc.client_id, 0)
                self.saved.set()

    async def insert(self, text: str) -> None:
        before = self.doc.get_state()
        fields = self.doc.get("fields", type=Map)
        if FIELD not in fields:
            fields[FIELD] = Text()
        notes = fields[FIELD]
        notes.insert(len(notes), text)
        await self.socket.send(update_message(self.doc.get_update(before)))

    def clock(self) -> int:
        return decode_state_vector(self.doc.get_state()).get(self.doc.client_id, 0)


async def _stored(typist: Typist, server: RunningServer, within: float = 120.0) -> None:
    """Wait until the server holds everything sent: collab says so; node is asked by a second client."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if server.name == "collab":
            typist.saved.clear()
            if typist.saved_clock >= typist.clock():
                return
            await asyncio.wait_for(typist.saved.wait(), within)
            continue
        async with websockets.connect(server.peer_urls[0][0], max_size=None) as other:
            await other.send(sync_message(SYNC_STEP1, b"\x00"))
            async for message in other:
                if isinstance(message, bytes) and message[:2] == bytes([MESSAGE_SYNC, SYNC_STEP2]):
                    copy: Doc = Doc()
                    copy.apply_update(read_var_bytes(message, 2)[0])
                    theirs = decode_state_vector(copy.get_state()).get(typist.doc.client_id, 0)
                    if theirs >= typist.clock():
                        return
                    break
        await asyncio.sleep(0.2)
    raise TimeoutError("the server did not get the whole text in time")


async def type_at_the_end(server: RunningServer, chars: int, keys: int, rate: float) -> dict[str, float]:
    pids = procstat.process_tree(server.pid)
    async with websockets.connect(server.peer_urls[0][0], max_size=None, origin=server.origin) as socket:  # type: ignore[arg-type]
        typist = Typist(socket)
        reader = asyncio.create_task(typist.read())
        await socket.send(sync_message(SYNC_STEP1, b"\x00"))
        await asyncio.wait_for(typist.synced.wait(), 30)
        for _ in range(chars // _CHUNK):
            await typist.insert("x" * _CHUNK)
        await _stored(typist, server)
        length = len(str(typist.doc.get("fields", type=Map)[FIELD]))
        cpu_before = procstat.cpu_seconds(pids)
        started = time.perf_counter()
        for n in range(keys):
            await typist.insert("abcdefghij"[n % 10])
            await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
        await _stored(typist, server)
        cpu = procstat.cpu_seconds(pids) - cpu_before
        reader.cancel()
    return {"chars": length, "keys": keys, "us_per_key": cpu / keys * 1e6}


KEY_TARGET_US = 1000.0  # issue 17: at most 1 ms of server CPU per keystroke at 300,000 characters
TARGET_CHARS = 300_000

Results = dict[str, dict[str, float] | str]


def run(chars: int, keys: int, rate: float, targets: list[str]) -> Results:
    """Each target on a fresh server of its own, one after the other."""
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-longtext-"))
    results: Results = {}
    try:
        for target in targets:
            print(f"[{time.strftime('%H:%M:%S')}] long text, {target}: starting", file=sys.stderr, flush=True)
            try:
                server = (
                    start_node(1, 2, f"longtext-{time.time():.0f}", workdir)
                    if target == "node"
                    else CollabServer(workdir, 20).start(1, 2)
                )
            except ServerError as error:
                results[target] = f"server failed: {error}"
                continue
            try:
                results[target] = asyncio.run(type_at_the_end(server, chars, keys, rate))
            except (TimeoutError, OSError, websockets.WebSocketException) as error:
                results[target] = f"failed: {error!r}"
            finally:
                server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def checks(results: Results) -> list[tuple[str, bool]]:
    collab = results.get("collab")
    if not isinstance(collab, dict):
        return []
    at = f"{collab['chars']:,.0f} characters" + (
        "" if collab["chars"] >= TARGET_CHARS else f", the target is at {TARGET_CHARS:,}"
    )
    return [
        (
            f"long text: server CPU per keystroke ≤ {KEY_TARGET_US:.0f} µs "
            f"({collab['us_per_key']:,.0f} µs at {at})",
            collab["us_per_key"] <= KEY_TARGET_US and collab["chars"] >= TARGET_CHARS,
        )
    ]


def table(chars: int, keys: int, rate: float, results: Results) -> str:
    node, collab = results.get("node"), results.get("collab")
    lines = [
        f"Typing at the end of a {chars:,}-character rich text, {keys} keys at {rate:g}/s",
        f"{'':34}{'node':>10}{'collab':>10}{'collab/node':>13}{'target':>13}",
        "-" * 80,
    ]
    for label, key in (("text length when typing", "chars"), ("server CPU per keystroke (us)", "us_per_key")):
        cells = [f"{r[key]:,.0f}" if isinstance(r, dict) else "-" for r in (node, collab)]
        ratio = (
            f"{collab[key] / node[key]:.2f}x"
            if key == "us_per_key" and isinstance(node, dict) and isinstance(collab, dict) and node[key]
            else ""
        )
        target = ""
        if key == "us_per_key" and isinstance(collab, dict):
            target = f"≤{KEY_TARGET_US:,.0f} {'ok' if collab[key] <= KEY_TARGET_US else 'MISS'}"
        lines.append(f"{label:34}{cells[0]:>10}{cells[1]:>10}{ratio:>13}{target:>13}")
    for name, result in results.items():
        if isinstance(result, str):
            lines.append(f"{name}: {result}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.longtext", description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, default=99_000, help="the text's length before typing")
    parser.add_argument("--keys", type=int, default=400, help="keystrokes typed at its end")
    parser.add_argument("--rate", type=float, default=20.0, help="keystrokes per second")
    parser.add_argument("--target", choices=["node", "collab", "both"], default="both")
    args = parser.parse_args(argv)
    targets = ["node", "collab"] if args.target == "both" else [args.target]
    results = run(args.chars, args.keys, args.rate, targets)
    print(table(args.chars, args.keys, args.rate, results))
    for text, met in checks(results):
        print(f"  [{'ok' if met else 'MISSED'}] collab: {text}")
    return 0 if all(isinstance(r, dict) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
