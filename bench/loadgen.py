"""The load generator: many y-websocket peers over many rooms in one asyncio process.

A run connects every peer and waits for its initial sync, then the writers send map-set updates on one
open-loop schedule (evenly interleaved over all writers, so the rate does not bend to the server's speed)
for a warm-up and a measured window, then it waits for every update to reach every other peer of its room
(and, where the server sends ``saved`` messages, to be saved), checks convergence, and closes.
Server CPU time, RSS and steal time are sampled at the window's edges.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from pycrdt import Doc, Map, merge_updates
from websockets.uri import parse_uri

from bench import procstat
from bench.peer import Peer, Recorder, Room, Writer
from bench.protocol import decode_state_vector

CONNECT_CONCURRENCY = 64
PACER_TICK_SECONDS = 0.001


class LoadError(RuntimeError):
    """The run could not be carried out (peers failed to connect or sync); the message says why."""


@dataclass(frozen=True)
class Scenario:
    rooms: int
    clients_per_room: int
    writers_per_room: int
    rate_per_writer: float
    warmup_seconds: float
    duration_seconds: float
    drain_seconds: float
    connect_timeout_seconds: float = 60.0

    @property
    def clients(self) -> int:
        return self.rooms * self.clients_per_room

    @property
    def receivers_per_update(self) -> int:
        return self.clients_per_room - 1


@dataclass
class Measurement:
    window_seconds: float
    updates_in: int
    messages_out: int
    fanout_seconds: list[float]
    saved_seconds: list[float]
    delivered: int
    expected_deliveries: int
    updates_sent: int
    updates_saved: int | None
    converged: int
    peers: int
    convergence_problem: str | None
    server_cpu_seconds: float
    server_rss_bytes: int
    steal_percent: float
    machine_busy_percent: float
    loadgen_cpu_seconds: float
    drain_seconds: float
    forwarded_unchanged: int
    forwarded_reencoded: int
    out_of_order: int
    undecodable: int
    auth_messages: int
    deflate_negotiated: int
    closed_by_server: dict[int, int] = field(default_factory=dict)
    cross_node_fanout_seconds: list[float] = field(default_factory=list)
    """With ``node_of``: fan-out to the receivers connected to another node than the room's first writer."""
    process_cpu_seconds: dict[str, float] = field(default_factory=dict)
    """With ``measure_pids``: each named process tree's CPU time over the window."""


async def run_scenario(
    peer_urls: Sequence[Sequence[str]],
    scenario: Scenario,
    server_pid: int,
    *,
    origin: str | None,
    deflate: bool,
    origin_of: Callable[[str], str | None] | None = None,
    node_of: Callable[[str], str] | None = None,
    measure_pids: Mapping[str, int] | None = None,
) -> Measurement:
    """``peer_urls[room][index]``: each peer's WebSocket URL (with a token where the server needs one);
    the peers of one room may reach different servers (nodes of one deployment).

    ``origin_of(url)``: each peer's Origin, instead of ``origin`` for all. ``node_of(url)``: the node a peer
    reaches; fan-out to receivers on another node than the room's first writer is also kept apart.
    ``measure_pids``: more process trees (name → pid) whose CPU over the window is reported."""
    recorder = Recorder()
    cross = Recorder()  # the cross-node receivers' measurements; summed with the others' at the end
    rooms = [Room(urls[0].split("?")[0]) for urls in peer_urls]
    peers: list[Peer] = []
    for room, urls in zip(rooms, peer_urls, strict=True):
        for index in range(scenario.clients_per_room):
            url = urls[index]
            remote = node_of is not None and node_of(url) != node_of(urls[0])
            peer_origin = origin_of(url) if origin_of is not None else origin
            peer = Peer(room, url, cross if remote else recorder, origin=peer_origin, deflate=deflate)
            if index < scenario.writers_per_room:
                writer = Writer(room, index, recorder)
                writer.peer = peer
                peer.writer = writer
                room.writers.append(writer)
                room.writer_by_client[writer.client_id] = writer
            room.peers.append(peer)
            peers.append(peer)
        for peer in room.peers:
            peer.next_clock = [0] * len(room.writers)
    try:
        await _connect(peers, scenario.connect_timeout_seconds)
        return await _measure(rooms, peers, scenario, [recorder, cross], server_pid, measure_pids or {})
    finally:
        await _close(peers)


async def _connect(peers: list[Peer], limit_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(peer: Peer) -> None:
        uri = parse_uri(peer.url)
        async with gate:
            await loop.create_connection(lambda: peer, uri.host, uri.port)
            await peer.synced

    tasks = [asyncio.ensure_future(connect(peer)) for peer in peers]
    done, pending = await asyncio.wait(tasks, timeout=limit_seconds)
    for task in pending:
        task.cancel()
    errors = [task.exception() for task in done if task.exception() is not None]
    if errors or pending:
        sample = "; ".join(sorted({str(error) for error in errors})[:3])
        raise LoadError(
            f"{len(errors)} of {len(peers)} peers failed to connect and sync"
            + (f", {len(pending)} timed out after {limit_seconds:.0f} s" if pending else "")
            + (f": {sample}" if sample else "")
        )


async def _measure(
    rooms: list[Room],
    peers: list[Peer],
    scenario: Scenario,
    recorders: list[Recorder],
    server_pid: int,
    measure_pids: Mapping[str, int],
) -> Measurement:
    """``recorders[0]`` is the writers' and most peers'; the others' counts and samples are added to it."""
    recorder = recorders[0]
    server_pids = procstat.process_tree(server_pid)
    trees = {name: procstat.process_tree(pid) for name, pid in measure_pids.items()}
    schedule = [room.writers[slot] for slot in range(scenario.writers_per_room) for room in rooms]
    interval = 1.0 / (len(schedule) * scenario.rate_per_writer)
    start = perf_counter() + 0.05
    window_start = start + scenario.warmup_seconds
    window_end = window_start + scenario.duration_seconds
    samples: dict[str, float] = {}
    systems: list[procstat.SystemTimes] = []

    async def sample_window() -> None:
        await asyncio.sleep(window_start - perf_counter())
        samples["server0"] = procstat.cpu_seconds(server_pids)
        samples.update({f"{name}0": procstat.cpu_seconds(pids) for name, pids in trees.items()})
        samples["self0"] = sum(os.times()[:2])
        systems.append(procstat.SystemTimes.read())
        samples["t0"] = perf_counter()
        for each in recorders:
            each.window_start = samples["t0"]
        await asyncio.sleep(window_end - perf_counter())
        samples["t1"] = perf_counter()
        for each in recorders:
            each.window_end = samples["t1"]
        samples["server1"] = procstat.cpu_seconds(server_pids)
        samples.update({f"{name}1": procstat.cpu_seconds(pids) for name, pids in trees.items()})
        samples["self1"] = sum(os.times()[:2])
        systems.append(procstat.SystemTimes.read())
        samples["rss"] = procstat.rss_bytes(server_pids)

    async def pace() -> None:
        sent = 0
        count = len(schedule)
        await asyncio.sleep(start - perf_counter())
        while (now := perf_counter()) < window_end:
            due = int((now - start) / interval) + 1
            while sent < due:
                schedule[sent % count].send_next()
                sent += 1
            # Sleep at least a timer tick: sub-millisecond sleeps return at once and spin the loop.
            await asyncio.sleep(max(PACER_TICK_SECONDS, start + sent * interval - perf_counter()))

    await asyncio.gather(sample_window(), pace())
    drain_seconds = await _drain(rooms, peers, scenario.drain_seconds)

    writers = [writer for room in rooms for writer in room.writers]
    saved_supported = any(writer.saw_saved for writer in writers)
    converged, problem = _check_convergence(rooms)
    closed: dict[int, int] = {}
    for peer in peers:
        if peer.closed.done():
            closed[peer.close_code or 1006] = closed.get(peer.close_code or 1006, 0) + 1

    def total(counter: str) -> int:
        return sum(getattr(each, counter) for each in recorders)

    return Measurement(
        window_seconds=samples["t1"] - samples["t0"],
        updates_in=total("updates_in"),
        messages_out=total("messages_out"),
        fanout_seconds=sorted(sample for each in recorders for sample in each.fanout_seconds),
        saved_seconds=sorted(recorder.saved_seconds),
        delivered=sum(peer.delivered for peer in peers),
        expected_deliveries=_expected_deliveries(rooms),
        updates_sent=sum(len(writer.updates) for writer in writers),
        updates_saved=sum(writer.saved_clock for writer in writers) if saved_supported else None,
        converged=converged,
        peers=len(peers),
        convergence_problem=problem,
        server_cpu_seconds=samples["server1"] - samples["server0"],
        server_rss_bytes=int(samples["rss"]),
        steal_percent=systems[1].steal_percent_since(systems[0]),
        machine_busy_percent=systems[1].busy_percent_since(systems[0]),
        loadgen_cpu_seconds=samples["self1"] - samples["self0"],
        drain_seconds=drain_seconds,
        forwarded_unchanged=total("forwarded_unchanged"),
        forwarded_reencoded=total("forwarded_reencoded"),
        out_of_order=total("out_of_order"),
        undecodable=total("undecodable"),
        auth_messages=total("auth_messages"),
        deflate_negotiated=sum(peer.deflate_negotiated for peer in peers),
        closed_by_server=closed,
        cross_node_fanout_seconds=sorted(sample for each in recorders[1:] for sample in each.fanout_seconds),
        process_cpu_seconds={name: samples[f"{name}1"] - samples[f"{name}0"] for name in trees},
    )


def _expected_deliveries(rooms: list[Room]) -> int:
    return sum(len(writer.updates) * (len(room.peers) - 1) for room in rooms for writer in room.writers)


async def _drain(rooms: list[Room], peers: list[Peer], limit: float) -> float:
    """Wait, under a deadline, until every update reached every peer and every writer heard it saved."""
    began = perf_counter()
    expected = _expected_deliveries(rooms)
    writers = [writer for room in rooms for writer in room.writers]
    while perf_counter() - began < limit:
        delivered = sum(peer.delivered for peer in peers)
        unsaved = any(writer.saw_saved and writer.saved_clock < len(writer.updates) for writer in writers)
        if delivered >= expected and not unsaved:
            break
        await asyncio.sleep(0.02)
    return perf_counter() - began


def _check_convergence(rooms: list[Room]) -> tuple[int, str | None]:
    """Rebuild each peer's document from exactly what it received (plus what it sent) and compare it with
    the room's reference: the server's initial state plus every writer's updates."""
    converged = 0
    problem: str | None = None
    for room in rooms:
        sent = [update for writer in room.writers for update in writer.updates]
        reference = _document([room.peers[0].received[0], *sent])
        for peer in room.peers:
            own = peer.writer.updates if peer.writer is not None else []
            try:
                actual = _document([*peer.received, *own])
            except BaseException as error:  # pycrdt panics are BaseException, not Exception
                if isinstance(error, KeyboardInterrupt | SystemExit | asyncio.CancelledError):
                    raise
                problem = problem or f"{room.name}: update failed to apply: {error!r}"
                continue
            if actual == reference:
                converged += 1
            elif problem is None:
                problem = f"{room.name}: {actual} != {reference}"
    return converged, problem


def _document(updates: list[bytes]) -> tuple[dict[int, int], object]:
    """A document's identity for comparison: its state vector and the JSON of its ``fields`` map."""
    doc: Doc[Any] = Doc()
    doc.apply_update(merge_updates(*updates) if len(updates) > 1 else updates[0])
    return decode_state_vector(doc.get_state()), doc.get("fields", type=Map).to_py()


async def _close(peers: list[Peer]) -> None:
    for peer in peers:
        if peer.transport is not None:
            peer.close()
    waiting = [peer.closed for peer in peers if peer.transport is not None and not peer.closed.done()]
    if waiting:
        await asyncio.wait(waiting, timeout=5.0)
    for peer in peers:
        if not peer.closed.done():
            peer.abort()
