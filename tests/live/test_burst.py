"""Bursts and hostile volume against a real server, on SQLite and PostgreSQL.

Honest readers under a burst are never closed and converge; a reader that stops reading is closed before
it pins more than its send budget; awareness claims cannot pin memory or flood a joiner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
import websockets

from collab import close_codes
from collab.ycodec import protocol
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

# The server's memory is measured: it must be a process of its own.
pytestmark = pytest.mark.server_process

WRITERS = 10
UPDATES_PER_WRITER = 1_000
MIB = 1024 * 1024


def rss_bytes(server: ServerProcess) -> int:
    """The server process's resident memory now (VmRSS)."""
    assert server.process is not None
    with open(f"/proc/{server.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def clocks(client: YClient) -> dict[int, int]:
    return protocol.decode_state_vector(client.doc.get_state())


async def converged_or_closed(client: YClient, expected: dict[int, int]) -> None:
    """Wait until the client holds every update in `expected`, or the server closed it."""
    converged = asyncio.ensure_future(
        client.wait_until(lambda: clocks(client) == expected, "convergence", within=90)
    )
    closed = asyncio.ensure_future(client.closed.wait())
    await asyncio.wait({converged, closed}, return_when=asyncio.FIRST_COMPLETED)
    closed.cancel()
    if not converged.done():
        converged.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await converged  # a timeout is raised here


async def test_a_burst_reaches_every_writer_and_a_reader_that_stops_is_closed(
    live_server: ServerProcess, admin_token: str
) -> None:
    # -- ten writers, 10,000 updates into one record within seconds: nobody closed, all converge ------------
    record = await live_server.create_record(admin_token, {"name": "Burst"})
    url = f"{live_server.ws_url}/{record}"
    writers = [await YClient(url, admin_token).connect() for _ in range(WRITERS)]
    expected = clocks(writers[0])  # the record's creation, by the server
    loop = asyncio.get_running_loop()
    started = loop.time()
    # No yield in between: all 10,000 updates are queued for sending before any is read back.
    for n in range(UPDATES_PER_WRITER):
        for i, writer in enumerate(writers):
            if n % 2:
                writer.fields["revenue"] = n * WRITERS + i
            else:
                writer.fields["name"] = f"writer {i} update {n}"
    expected |= {writer.doc.client_id: clocks(writer)[writer.doc.client_id] for writer in writers}
    waits = await asyncio.gather(
        *(converged_or_closed(writer, expected) for writer in writers), return_exceptions=True
    )
    delivered_in = loop.time() - started
    assert [w.close_code for w in writers if w.closed.is_set()] == [], "an honest reader was closed"
    assert waits == [None] * WRITERS, waits
    for writer in writers:
        await writer.wait_saved(within=60)
    states = [writer.fields.to_py() for writer in writers]
    assert all(state == states[0] for state in states)
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert stored == states[0]
    print(f"burst: {WRITERS * UPDATES_PER_WRITER} updates delivered to all ten in {delivered_in:.1f} s")
    for writer in writers:
        await writer.close()

    # -- one reader stops reading while 80 MB are written: memory stays bounded, that reader is closed ------
    # First the same traffic with nobody stalled, on a record of its own: the allocator's growth under it
    # is over before measuring. (Fewer than `snapshot_every_updates` each: no snapshot merge in between.)
    await write_volume(live_server, admin_token, 100)
    peak, baseline, latencies, stalled = await write_volume(live_server, admin_token, 400, stall=True)
    assert stalled is not None
    # Only now does the stalled client read: what reaches it ends with the server's close.
    with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
        async with asyncio.timeout(30):
            async for _ in stalled:
                pass
    print(
        f"80 MB past a stalled reader: server RSS {baseline / MIB:.0f} -> peak {peak / MIB:.0f} MiB; "
        f"honest reader's worst latency {max(latencies) * 1000:.0f} ms"
    )
    assert stalled.close_code == close_codes.TRY_AGAIN_LATER
    assert peak - baseline < 40 * MIB, "the stalled reader's backlog was held"
    assert max(latencies) < 2.0, latencies


async def write_volume(
    server: ServerProcess, token: str, updates: int, stall: bool = False
) -> tuple[int, int, list[float], Any]:
    """Into a new record, write `updates` updates of two 99 KB values with a reader (and, if `stall`, a
    client that stops reading) connected; every 25th is awaited at the reader and saved, so the server's
    own write backlog stays small. Returns the server's peak and initial RSS, the reader's latencies, and
    the stalled client's socket."""
    record = await server.create_record(token, {"name": "Volume"})
    url = f"{server.ws_url}/{record}"
    writer = await YClient(url, token).connect()
    reader = await YClient(url, token).connect()
    stalled = None
    if stall:
        # max_queue=1: once it stops reading, TCP back-pressure reaches the server.
        stalled = await websockets.connect(f"{url}?token={token}", max_queue=1, max_size=None)
        await stalled.send(protocol.sync_step1(b"\x00"))
    loop = asyncio.get_running_loop()
    payload = "x" * 99_000  # under the text fields' 100,000 characters
    baseline = peak = rss_bytes(server)
    latencies = []
    for n in range(updates):
        with writer.doc.transaction():
            writer.fields["email"] = payload
            writer.fields["name"] = f"{n}:{payload}"
        if n % 25 == 0:
            sent_at = loop.time()
            await reader.wait_until(
                lambda n=n: str(reader.fields.get("name", "")).startswith(f"{n}:"), "fan-out"
            )
            latencies.append(loop.time() - sent_at)
            await writer.wait_saved()
            peak = max(peak, rss_bytes(server))
    await writer.wait_saved()
    peak = max(peak, rss_bytes(server))
    assert reader.close_code is None and not reader.closed.is_set()
    await writer.close()
    await reader.close()
    return peak, baseline, latencies, stalled


async def test_awareness_claims_cannot_pin_memory_or_flood_a_joiner(
    live_server: ServerProcess, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Presence"})
    url = f"{live_server.ws_url}/{record}"
    viewer = await live_server.add_user("vera@example.com", "viewer")
    honest = await YClient(url, admin_token).connect()
    await honest.send(
        protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(1, 1, {"field": "name"})]))
    )
    attacker = await YClient(url, viewer).connect()
    baseline = rss_bytes(live_server)
    many = [protocol.AwarenessEntry(100 + n, 1, {"cursor": n}) for n in range(5_000)]
    await attacker.send(protocol.awareness(protocol.encode_awareness(many)))
    huge = {"blob": "x" * (4 * MIB)}
    for n in range(60):
        await attacker.send(
            protocol.awareness(protocol.encode_awareness([protocol.AwarenessEntry(100 + n, 2, huge)]))
        )
    # A query is answered after everything the attacker sent before it: the server has handled it all.
    mark = len(attacker.awareness)
    await attacker.send(bytes([protocol.QUERY_AWARENESS]))
    await attacker.wait_until(
        lambda: any(e.client_id == 1 for e in attacker.awareness[mark:]), "query answered", within=60
    )
    grown = rss_bytes(live_server) - baseline
    assert attacker.close_code is None, "dropping oversized claims does not close an honest-looking client"

    joiner = await YClient(url, admin_token).connect()
    seen = {entry.client_id: entry.state for entry in joiner.awareness}
    received = sum(len(json.dumps(state)) for state in seen.values())
    print(
        f"awareness flood: server RSS grew {grown / MIB:.1f} MiB; "
        f"a joiner got {len(seen)} states, {received} B"
    )
    assert seen[1] is not None and seen[1]["field"] == "name"
    assert len(seen) <= 1 + 4 and received < 64 * 1024
    assert grown < 30 * MIB

    # JSON nested 100,000 deep is a malformed message (4400), not an internal error.
    deep = "[" * 100_000 + "]" * 100_000
    payload = protocol.write_var_uint(1) + protocol.write_var_uint(7) + protocol.write_var_uint(1)
    await attacker.send(protocol.awareness(payload + protocol.write_var_string('{"a":' + deep + "}")))
    assert await attacker.wait_closed() == close_codes.MALFORMED
    honest.fields["stage"] = "lead"
    await honest.wait_saved()
    for client in (honest, joiner):
        await client.close()
