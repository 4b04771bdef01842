"""The change-feed benchmark: many SSE subscribers on one collection while its records are edited live.

    .venv/bin/python -m bench.feed [--quick] [--subscribers 1000] [--records 100] [--rate 2] [...]

One run starts its own ``collab serve`` on SQLite in a temporary directory (``--postgres``: on a throw-away
PostgreSQL database), measures the server's memory per idle subscriber, then edits every record through a
y-websocket writer while every subscriber reads ``GET /api/events``, and reports delivery latency from each
event's ``at`` to its receipt, completeness against the server's own backlog, and server CPU. The table is
printed and the JSON written to ``bench/results/``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from array import array
from dataclasses import asdict, dataclass
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import urlsplit

from bench import loadgen, procstat, report
from bench.loadgen import CONNECT_CONCURRENCY, LoadError, Measurement, Scenario
from bench.peer import Peer, Recorder, Room, Writer
from bench.run import _event_loop_factory, _progress, _run_loop
from bench.servers import BENCH_DIR, HOST, CollabServer, RunningServer, ServerError, throwaway_postgres
from bench.sse_peer import EventBook, SseError, SseSubscriber

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
FEED_PATH = "/api/events?collection=customers"
"""``CollabServer`` creates its records in the collection ``customers``."""

DELIVERY_P99_TARGET_MS = 100.0
IDLE_KB_PER_SUBSCRIBER_TARGET = 20.0
GENERATOR_BUSY_WARNING_PERCENT = 85.0
READ_LAG_WARNING_MS = 200.0
"""The feed publishes every 250 ms: bytes left unread longer can share a read with the next publish's."""

WARM_UP_STREAMS = 10
"""Opened and closed before the baseline, so first-use costs (imports, caches) are not counted per stream."""
RSS_POLL_SECONDS = 0.25
RSS_SETTLE_SECONDS = 2.0
"""Server RSS counts as settled once it moved by at most ``RSS_SETTLE_BYTES`` over this long."""
RSS_SETTLE_BYTES = 256 * 1024
RSS_SETTLE_LIMIT_SECONDS = 20.0
IDLE_CPU_SECONDS = 2.0
SUBSCRIBE_LIMIT_SECONDS = 120.0
PUBLISH_MARGIN_SECONDS = 0.6
"""After the writers stop, how long past the coalescing delay to wait for the last events."""
BACKLOG_IDLE_SECONDS = 1.0
BACKLOG_LIMIT_SECONDS = 20.0


@dataclass(frozen=True)
class FeedScenario:
    subscribers: int
    records: int
    rate_per_writer: float
    warmup_seconds: float
    duration_seconds: float
    drain_seconds: float
    coalesce_seconds: float

    @property
    def writers(self) -> Scenario:
        """The y-websocket load: one writer per record, nobody else in its room."""
        return Scenario(
            self.records,
            1,
            1,
            self.rate_per_writer,
            self.warmup_seconds,
            self.duration_seconds,
            self.drain_seconds,
        )


@dataclass
class FeedMeasurement:
    writers: Measurement
    window: tuple[float, float]
    """The writers' measured window, as POSIX times (the clock of ``at`` and of the receipt times)."""
    subscribers: list[SseSubscriber]
    book: EventBook
    published: list[int]
    """Every event id in the server's backlog after the run (read with ``Last-Event-ID: 0``)."""
    rss_before: int
    rss_idle: int
    idle_cpu_seconds: float
    connect_seconds: float
    settle_seconds: float
    drain_seconds: float


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, help="SSE streams (default 1000; 100 with --quick)")
    parser.add_argument("--records", type=int, help="records edited live (default 100; 20 with --quick)")
    parser.add_argument("--rate", type=float, default=2.0, help="updates/s of each record's writer")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of edits before measuring")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds to wait for stragglers")
    parser.add_argument(
        "--coalesce", type=float, help="sets COLLAB_FEED_COALESCE_SECONDS (default: the server's, 1.0)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s warm-up, 5 s measured")
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="writers do not offer permessage-deflate (browsers always offer it)",
    )
    parser.add_argument(
        "--connections-per-user", type=int, default=20, help="writers per editor account (collab caps it)"
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=POSTGRES_ADMIN_URL,
        metavar="ADMIN_URL",
        help=f"a throw-away PostgreSQL database instead of SQLite (server: {POSTGRES_ADMIN_URL})",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/feed-<time>.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration, args.drain = 2.0, 5.0, 5.0
    args.subscribers = args.subscribers or (100 if args.quick else 1000)
    args.records = args.records or (20 if args.quick else 100)
    if args.subscribers < 1 or args.records < 1 or args.rate <= 0:
        parser.error("need at least one subscriber, one record and a positive rate")
    return args


def _raise_file_limit(needed: int) -> None:
    """Sockets per process: ours, and the server's (a child inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        limit = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


async def _settled_rss(pids: list[int]) -> tuple[int, float]:
    """The server's RSS once it stops moving (bounded in time), and how long that took."""
    began = perf_counter()
    recent: list[int] = []
    keep = int(RSS_SETTLE_SECONDS / RSS_POLL_SECONDS) + 1
    while True:
        recent = [*recent[-keep + 1 :], procstat.rss_bytes(pids)]
        settled = len(recent) == keep and max(recent) - min(recent) <= RSS_SETTLE_BYTES
        if settled or perf_counter() - began >= RSS_SETTLE_LIMIT_SECONDS:
            return recent[-1], perf_counter() - began
        await asyncio.sleep(RSS_POLL_SECONDS)


async def _subscribe(subscribers: list[SseSubscriber]) -> list[asyncio.Task[None]]:
    """Open every stream (a bounded number at a time); then one reading task per stream."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(subscriber: SseSubscriber) -> None:
        async with gate:
            await subscriber.connect()

    try:
        async with asyncio.timeout(SUBSCRIBE_LIMIT_SECONDS):
            outcomes = await asyncio.gather(*map(connect, subscribers), return_exceptions=True)
    except TimeoutError:
        raise LoadError(f"the subscribers did not connect within {SUBSCRIBE_LIMIT_SECONDS:.0f} s") from None
    errors = sorted({str(outcome) for outcome in outcomes if isinstance(outcome, BaseException)})
    if errors:
        failed = sum(isinstance(outcome, BaseException) for outcome in outcomes)
        raise LoadError(f"{failed} of {len(subscribers)} subscribers failed: {'; '.join(errors[:3])}")
    return [asyncio.create_task(subscriber.run()) for subscriber in subscribers]


async def _warm_up(port: int, token: str) -> None:
    streams = [SseSubscriber(HOST, port, FEED_PATH, token, EventBook()) for _ in range(WARM_UP_STREAMS)]
    tasks = await _subscribe(streams)
    for stream in streams:
        stream.close()
    await asyncio.gather(*tasks, return_exceptions=True)


def _writers(
    peer_urls: list[list[str]], recorder: Recorder, origin: str | None, deflate: bool
) -> tuple[list[Room], list[Peer]]:
    """One writing peer per record (``bench.loadgen`` lays out rooms the same way for any room size)."""
    rooms: list[Room] = []
    for (url,) in peer_urls:
        room = Room(url.split("?")[0])
        peer = Peer(room, url, recorder, origin=origin, deflate=deflate)
        writer = Writer(room, 0, recorder)
        writer.peer, peer.writer, peer.next_clock = peer, writer, [0]
        room.writers.append(writer)
        room.writer_by_client[writer.client_id] = writer
        room.peers.append(peer)
        rooms.append(room)
    return rooms, [room.peers[0] for room in rooms]


async def _edit(server: RunningServer, scenario: Scenario, recorder: Recorder, deflate: bool) -> Measurement:
    """The writers' load, measured by ``bench.loadgen`` (server CPU, steal, other load) with our recorder,
    so that its window is known here."""
    rooms, peers = _writers(server.peer_urls, recorder, server.origin, deflate)
    try:
        await loadgen._connect(peers, scenario.connect_timeout_seconds)
        return await loadgen._measure(rooms, peers, scenario, recorder, server.pid)
    finally:
        await loadgen._close(peers)


async def _backlog_ids(port: int, token: str, book: EventBook, seen: int) -> list[int]:
    """The server's own list of published events: a stream resumed from id 0, read until it has passed
    ``seen`` (the newest id any subscriber got) and then gone quiet, or the time limit."""
    reader = SseSubscriber(HOST, port, FEED_PATH, token, book, last_event_id=0)
    await reader.connect()
    task = asyncio.create_task(reader.run())
    began = perf_counter()
    while not task.done() and perf_counter() - began < BACKLOG_LIMIT_SECONDS:
        await asyncio.sleep(0.1)
        quiet = reader.last_read and time.time() - reader.last_read >= BACKLOG_IDLE_SECONDS
        if quiet and reader.ids and reader.ids[-1] >= seen:
            break
    reader.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return list(reader.ids)


async def _drain(subscribers: list[SseSubscriber], newest: int, limit: float) -> float:
    """Wait, under a deadline, until every open stream has caught up with the newest published id."""
    began = perf_counter()
    while perf_counter() - began < limit:
        behind = [s for s in subscribers if not s.ended_by_server and (not s.ids or s.ids[-1] < newest)]
        if not behind:
            break
        await asyncio.sleep(0.1)
    return perf_counter() - began


async def _run(
    server: RunningServer, tokens: list[str], scenario: FeedScenario, deflate: bool
) -> FeedMeasurement:
    port = urlsplit(server.origin).port if server.origin else None
    assert port is not None
    pids = procstat.process_tree(server.pid)
    book = EventBook()
    subscribers = [
        SseSubscriber(HOST, port, FEED_PATH, tokens[number % len(tokens)], book)
        for number in range(scenario.subscribers)
    ]
    tasks: list[asyncio.Task[None]] = []
    try:
        await _warm_up(port, tokens[0])
        rss_before, _ = await _settled_rss(pids)
        _progress(f"server RSS {rss_before / 2**20:.1f} MB; opening {scenario.subscribers} streams")
        began = perf_counter()
        tasks = await _subscribe(subscribers)
        connect_seconds = perf_counter() - began
        rss_idle, settle_seconds = await _settled_rss(pids)
        idle_cpu = procstat.cpu_seconds(pids)
        await asyncio.sleep(IDLE_CPU_SECONDS)
        idle_cpu = procstat.cpu_seconds(pids) - idle_cpu
        _progress(
            f"connected in {connect_seconds:.1f} s, RSS {rss_idle / 2**20:.1f} MB "
            f"after {settle_seconds:.1f} s; "
            f"{scenario.records} writers, {scenario.warmup_seconds + scenario.duration_seconds:g} s of edits"
        )
        recorder = Recorder()
        writers = await _edit(server, scenario.writers, recorder, deflate)
        offset = time.time() - perf_counter()
        window = (recorder.window_start + offset, recorder.window_end + offset)
        await asyncio.sleep(scenario.coalesce_seconds + PUBLISH_MARGIN_SECONDS)
        seen = max((subscriber.ids[-1] for subscriber in subscribers if subscriber.ids), default=0)
        published = await _backlog_ids(port, tokens[0], book, seen)
        drain_seconds = await _drain(subscribers, max(published, default=0), scenario.drain_seconds)
    finally:
        for subscriber in subscribers:
            subscriber.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    return FeedMeasurement(
        writers=writers,
        window=window,
        subscribers=subscribers,
        book=book,
        published=published,
        rss_before=rss_before,
        rss_idle=rss_idle,
        idle_cpu_seconds=idle_cpu,
        connect_seconds=connect_seconds,
        settle_seconds=settle_seconds,
        drain_seconds=drain_seconds,
    )


def summarize(m: FeedMeasurement, scenario: FeedScenario, writers: report.Summary) -> report.Summary:
    """Latency, completeness and costs; ``writers``: ``report.summarize`` of the writers' measurement."""
    start, end = m.window
    events = m.book.events
    expected = {
        event_id
        for event_id in m.published
        if (event := events.get(event_id)) and event.type == "record.updated" and start <= event.at < end
    }
    latencies = array("d")
    first: dict[int, float] = {}  # per event: its latency at the first and at the last subscriber
    last: dict[int, float] = {}
    complete = missing = duplicates = out_of_order = delivered_in_window = 0
    for subscriber in m.subscribers:
        ids, times = subscriber.ids, subscriber.received_at
        got = set(ids)
        missing_here = len(expected - got)
        missing += missing_here
        complete += missing_here == 0
        duplicates += len(ids) - len(got)
        out_of_order += sum(later <= earlier for earlier, later in pairwise(ids))
        delivered_in_window += sum(start <= received < end for received in times)
        for event_id, received in zip(ids, times, strict=True):
            if event_id in expected:
                latency = received - events[event_id].at
                latencies.append(latency)
                first[event_id] = min(latency, first.get(event_id, latency))
                last[event_id] = max(latency, last.get(event_id, latency))
    ordered = sorted(latencies)
    window = end - start
    subscribers = len(m.subscribers)
    expected_deliveries = len(expected) * subscribers
    cpu = m.writers.server_cpu_seconds

    def ms(values: list[float], fraction: float) -> float | None:
        value = report.percentile(values, fraction)
        return None if value is None else 1000.0 * value

    return {
        "subscribers": subscribers,
        "records": scenario.records,
        "idle_kb_per_subscriber": (m.rss_idle - m.rss_before) / 1024 / subscribers,
        "rss_before_mb": m.rss_before / 2**20,
        "rss_idle_mb": m.rss_idle / 2**20,
        "rss_loaded_mb": writers["server_rss_mb"],
        "idle_cpu_percent": 100.0 * m.idle_cpu_seconds / IDLE_CPU_SECONDS,
        "connect_s": m.connect_seconds,
        "rss_settle_s": m.settle_seconds,
        "updates_per_s_in": writers["updates_per_s_in"],
        "saved_p99_ms": writers["saved_p99_ms"],
        "events_per_s_published": len(expected) / window,
        "deliveries_per_s": delivered_in_window / window,
        "delivery_p50_ms": ms(ordered, 0.50),
        "delivery_p99_ms": ms(ordered, 0.99),
        "delivery_max_ms": 1000.0 * ordered[-1] if ordered else None,
        "first_subscriber_p50_ms": ms(sorted(first.values()), 0.50),
        "first_subscriber_p99_ms": ms(sorted(first.values()), 0.99),
        "last_subscriber_p50_ms": ms(sorted(last.values()), 0.50),
        "delivered_percent": 100.0 * (expected_deliveries - missing) / expected_deliveries
        if expected
        else None,
        "complete_subscribers": complete,
        "missing_deliveries": missing,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "ended_by_server": sum(subscriber.ended_by_server for subscriber in m.subscribers),
        "presence_deliveries": m.book.unidentified.get("presence", 0),
        "server_cpu_percent": writers["server_cpu_percent"],
        "cpu_us_per_delivery": 1e6 * cpu / delivered_in_window if delivered_in_window else None,
        "steal_percent": writers["steal_percent"],
        "other_cpu_percent": writers["other_cpu_percent"],
        "loadgen_cpu_percent": writers["loadgen_cpu_percent"],
        "drain_s": m.drain_seconds,
        "window_s": window,
        "latency_samples": len(ordered),
        "read_lag_p99_ms": ms(sorted(lag for sub in m.subscribers for lag in sub.read_lag), 0.99),
    }


def _complete(summary: report.Summary) -> str:
    return f"{summary['complete_subscribers']}/{summary['subscribers']}"


def _row(label: str, key: str, spec: str) -> report.Row:
    return report.Row(label, key, report._number(key, spec))


ROWS = [
    _row("subscribers", "subscribers", "d"),
    _row("idle memory per subscriber (KB)", "idle_kb_per_subscriber", ".1f"),
    _row("server RSS before streams (MB)", "rss_before_mb", ".1f"),
    _row("server RSS, streams idle (MB)", "rss_idle_mb", ".1f"),
    _row("server RSS under load (MB)", "rss_loaded_mb", ".1f"),
    _row("server CPU, streams idle (% of a core)", "idle_cpu_percent", ".1f"),
    _row("writer updates/s in", "updates_per_s_in", ",.0f"),
    _row("record.updated events/s published", "events_per_s_published", ",.1f"),
    _row("events/s delivered", "deliveries_per_s", ",.0f"),
    _row("delivery p50 (ms)", "delivery_p50_ms", ".1f"),
    _row("delivery p99 (ms)", "delivery_p99_ms", ".1f"),
    _row("delivery max (ms)", "delivery_max_ms", ".1f"),
    _row("per event: first subscriber p50 (ms)", "first_subscriber_p50_ms", ".1f"),
    _row("per event: first subscriber p99 (ms)", "first_subscriber_p99_ms", ".1f"),
    _row("per event: last subscriber p50 (ms)", "last_subscriber_p50_ms", ".1f"),
    _row("delivered (%)", "delivered_percent", ".3f"),
    report.Row("subscribers with every event", "complete_subscribers", _complete),
    _row("streams ended by the server", "ended_by_server", "d"),
    _row("server CPU (% of a core)", "server_cpu_percent", ".1f"),
    _row("server CPU µs / delivered event", "cpu_us_per_delivery", ".1f"),
    _row("writers' saved p99 (ms)", "saved_p99_ms", ".1f"),
    _row("steal (% of machine)", "steal_percent", ".1f"),
    _row("other processes (% of a core)", "other_cpu_percent", ".0f"),
    _row("load generator CPU (% of a core)", "loadgen_cpu_percent", ".1f"),
    _row("load generator read lag p99 (ms)", "read_lag_p99_ms", ".1f"),
]


def table(title: str, summary: report.Summary) -> str:
    cells = [(row.label, row.fmt(summary)) for row in ROWS]
    left = max(len(label) for label, _ in cells)
    right = max(len(value) for _, value in cells)
    lines = [title, "-" * (left + 2 + right)]
    lines += [f"{label.ljust(left)}  {value.rjust(right)}" for label, value in cells]
    other, generator = summary["other_cpu_percent"], summary["loadgen_cpu_percent"]
    if isinstance(other, float) and other > report.OTHER_CPU_WARNING_PERCENT:
        lines.append(f"the machine was shared: other processes used {other:.0f}% of a core during the window")
    if isinstance(generator, float) and generator > GENERATOR_BUSY_WARNING_PERCENT:
        lines.append(
            f"the load generator used {generator:.0f}% of a core: latencies include its own delay in reading"
        )
    lag = summary["read_lag_p99_ms"]
    if isinstance(lag, float) and lag > READ_LAG_WARNING_MS:
        lines.append(
            f"the load generator read 1% of its data {lag:.0f} ms or more after it arrived: a read that"
            " takes two publishes' bytes at once stamps the older events with the newer arrival, so p99"
            " is overstated"
        )
    return "\n".join(lines)


def checks(summary: report.Summary) -> list[tuple[str, bool]]:
    p99, idle = summary["delivery_p99_ms"], summary["idle_kb_per_subscriber"]
    return [
        (f"delivery p99 ≤ {DELIVERY_P99_TARGET_MS:.0f} ms", report._le(p99, DELIVERY_P99_TARGET_MS)),
        (
            f"≤ {IDLE_KB_PER_SUBSCRIBER_TARGET:.0f} KB per idle subscriber",
            report._le(idle, IDLE_KB_PER_SUBSCRIBER_TARGET),
        ),
        ("every subscriber got every event", summary["delivered_percent"] == 100.0),
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.postgres is None:
        return _bench(args, None)
    try:
        with throwaway_postgres(args.postgres) as database_url:
            return _bench(args, database_url)
    except ServerError as error:
        print(f"failed: {error}")
        return 2


def _bench(args: argparse.Namespace, database_url: str | None) -> int:
    scenario = FeedScenario(
        args.subscribers,
        args.records,
        args.rate,
        args.warmup,
        args.duration,
        args.drain,
        1.0 if args.coalesce is None else args.coalesce,
    )
    _raise_file_limit(scenario.subscribers + scenario.records + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-feed-"))
    collab = CollabServer(workdir, args.connections_per_user, database_url)
    if args.coalesce is not None:
        collab.env["COLLAB_FEED_COALESCE_SECONDS"] = f"{args.coalesce:g}"
    started = time.strftime("%Y%m%d-%H%M%S")
    title = (
        f"Feed: {scenario.subscribers} SSE subscribers on one collection, {scenario.records} records "
        f"edited live (one writer each at {scenario.rate_per_writer:g} updates/s), "
        f"{scenario.duration_seconds:g} s measured after {scenario.warmup_seconds:g} s warm-up, on "
        f"{'PostgreSQL' if database_url else 'SQLite'}"
    )
    document: dict[str, Any] = {
        "started_at": started,
        "command": " ".join(["python -m bench.feed", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "event_loop": _event_loop_factory()[1],
            **{package: metadata.version(package) for package in ("uvicorn", "sse-starlette", "pycrdt")},
        },
        "scenario": asdict(scenario),
        "database": "postgresql" if database_url else "sqlite",
    }
    error: str | None = None
    met: list[tuple[str, bool]] = []
    try:
        _progress("starting collab serve")
        server = collab.start(scenario.records, 1)
        try:
            measured = _run_loop(_run(server, collab.tokens, scenario, args.deflate))
            if server.process.poll() is not None:
                raise ServerError(
                    f"collab exited with code {server.process.returncode}; log {server.log_path}"
                )
        finally:
            server.stop()
        writers = report.summarize(measured.writers, scenario.writers)
        summary = summarize(measured, scenario, writers)
        document["result"], document["writers"] = summary, writers
    except (ServerError, LoadError, SseError) as failure:
        error = str(failure)
        document["result"] = {"error": error}
    if error is None:
        shutil.rmtree(workdir, ignore_errors=True)
        print("\n" + table(title, summary))
        met = checks(summary)
        document["checks"] = [{"check": text, "met": ok} for text, ok in met]
        print("\nTargets")
        print("\n".join(f"  [{'ok' if ok else 'MISSED'}] {text}" for text, ok in met))
    else:
        print(f"\n{title}\nfailed: {error}\nserver log and database kept in {workdir}")
    output = args.output or BENCH_DIR / "results" / f"feed-{started}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {output}")
    if error is not None:
        return 2
    return 1 if args.check and not all(ok for _, ok in met) else 0


if __name__ == "__main__":
    sys.exit(main())
