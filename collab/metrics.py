"""The server's own figures, in the Prometheus vocabulary: one `Metrics` per app, never the global registry.

Several apps run in one test process, so each owns its `CollectorRegistry`. Events are counted where they
happen (a counter's `inc` is a lock and an add); levels (rooms, connections, queued bytes, subscribers,
the writer's backlog) are read only when scraped, by `Levels` callbacks the composition root supplies, so
the hot path pays nothing for them. Every label has a bounded set of values: route templates, methods,
status and close codes, outcome names; never a record, user or tenant id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds: from a millisecond (an in-memory step) to half a minute (a database that stalls).
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass
class Levels:
    """Callbacks read at scrape time; each returns the level now. Zero until the lifespan supplies them."""

    rooms: Callable[[], int] = lambda: 0
    connections: Callable[[], int] = lambda: 0
    send_queue_bytes: Callable[[], int] = lambda: 0
    feed_subscribers: Callable[[], int] = lambda: 0
    writer_backlog: Callable[[], int] = lambda: 0


class _LevelCollector(Collector):
    def __init__(self, levels: Levels) -> None:
        self._levels = levels

    def collect(self) -> Iterable[GaugeMetricFamily]:
        levels = self._levels
        yield GaugeMetricFamily("collab_rooms_loaded", "Record documents loaded in memory.", levels.rooms())
        yield GaugeMetricFamily(
            "collab_connections", "Live WebSocket connections to rooms.", levels.connections()
        )
        yield GaugeMetricFamily(
            "collab_send_queue_bytes",
            "Bytes queued for sending over all connections.",
            levels.send_queue_bytes(),
        )
        yield GaugeMetricFamily(
            "collab_feed_subscribers", "Open change-feed streams.", levels.feed_subscribers()
        )
        yield GaugeMetricFamily(
            "collab_writer_backlog",
            "Updates queued for the writer, not yet committed.",
            levels.writer_backlog(),
        )


class Metrics:
    """The figures of one server; the components that see an event record it here."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.levels = Levels()
        registry = self.registry
        self.updates_in = Counter(
            "collab_updates_in", "Document updates received from clients.", registry=registry
        )
        self.updates_in_bytes = Counter(
            "collab_updates_in_bytes", "Bytes of document updates received from clients.", registry=registry
        )
        self.updates_out = Counter(
            "collab_updates_out",
            "Document updates queued for other clients (one per receiver).",
            registry=registry,
        )
        self.updates_out_bytes = Counter(
            "collab_updates_out_bytes",
            "Bytes of document updates queued for other clients.",
            registry=registry,
        )
        self.commit_batch_size = Histogram(
            "collab_commit_batch_size", "Updates per group commit.", buckets=_BATCH_BUCKETS, registry=registry
        )
        self.commit_seconds = Histogram(
            "collab_commit_seconds",
            "Duration of one group commit.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.saved_seconds = Histogram(
            "collab_saved_seconds",
            "From an update accepted by its room to its commit reported back (message 100).",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.feed_publish_lag_seconds = Histogram(
            "collab_feed_publish_lag_seconds",
            "From a feed event made (after coalescing) to its push to the open streams.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.closes = Counter(
            "collab_connection_closes",
            "Connections closed by the server, by close code.",
            ["code"],
            registry=registry,
        )
        self.feed_resumes = Counter(
            "collab_feed_resumes",
            "Feed streams opened with Last-Event-ID: resumed exactly, or reset (reload the list).",
            ["outcome"],
            registry=registry,
        )
        self.logins = Counter(
            "collab_logins",
            "Login attempts by outcome (ok, failed, throttled).",
            ["outcome"],
            registry=registry,
        )
        self.http_requests = Counter(
            "collab_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "collab_http_request_seconds",
            "HTTP request duration by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.loop_lag_seconds = Histogram(
            "collab_event_loop_lag_seconds",
            "How late the event loop woke a task that asked to sleep.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        registry.register(_LevelCollector(self.levels))

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)


# What a component records into when nobody reads it (component tests built without an app).
UNREAD = Metrics()


class LoopLag:
    """Measures the event loop's lag: a task that sleeps `every_seconds` and records how late it woke.

    A loop busy with a long synchronous step (a large document applied, a big merge) shows here before it
    shows anywhere else."""

    def __init__(self, metrics: Metrics, every_seconds: float = 0.5) -> None:
        self._metrics = metrics
        self._every = every_seconds
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._run(), name="collab-loop-lag")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self._every
            await asyncio.sleep(self._every)
            self._metrics.loop_lag_seconds.observe(max(0.0, loop.time() - asked))
