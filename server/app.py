"""The composition root: builds the Starlette app and owns the server's long-lived parts.

Lifespan order: database (migrated) → update writer → room registry. Shutdown runs it backwards: rooms
close their connections, the writer commits everything accepted, and final snapshots are written.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from auth.redis_attempts import RedisAttempts
from auth.sessions import SessionPolicy
from auth.throttle import LoginThrottle
from collab import close_codes
from collab.changefeed.feed import Feed
from collab.cluster.access import AccessChanges
from collab.cluster.bus import Bus, LocalBus, RedisBus
from collab.cluster.handover import Handover
from collab.cluster.ownership import LocalOwnership, Ownership, SqlOwnership
from collab.cluster.presence import PresenceBoard
from collab.cluster.relay import Relay
from collab.cluster.schemas import SchemaSync
from collab.live.channel import ChannelClosed
from collab.live.registry import RoomRegistry
from collab.live.session_watch import BUS_DOWN_CHECK_SECONDS, SessionWatch
from collab.metrics import LoopLag, Metrics
from collab.services.collections import Collections
from collab.services.conflicts import Conflicts
from collab.services.connections import Connections
from collab.services.csv_import import Imports
from collab.services.export import Exports
from collab.services.health import Health
from collab.services.history import History
from collab.services.records import Records
from collab.services.sessions import Sessions
from collab.services.snapshots import Snapshots
from collab.services.streams import Streams
from collab.services.tenants import Tenants
from collab.services.trash import Trash, TrashPurge, open_room_of
from collab.services.users import Users
from collab.settings import Settings
from collab.store.retention import Retention
from collab.store.writer import SqlUpdateWriter
from persistence.errors import PersistenceError
from server.backups import ScheduledBackups
from server.bootstrap import open_database, prepare_database
from web.abuse_limits import AbuseLimits
from web.access_log import AccessLog
from web.errors import exception_handlers, handle_busy
from web.events_route import FEED_PATH, feed_app
from web.headers import SecurityHeaders
from web.http_metrics import HttpMetrics
from web.input_guard import RejectNul
from web.limits import BodyLimit
from web.relay_http import Forwarder
from web.routes import ROUTES
from web.services import Services
from web.sse_frames import SSE
from web.ws_route import websocket_app

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> CollabApp:
    metrics = Metrics()  # this app's own registry: several apps may run in one process
    if settings.cluster_on and not settings.secret_key:
        raise ValueError(
            "several nodes (PostgreSQL with a Redis URL or COLLAB_CLUSTER=true) need COLLAB_SECRET_KEY,"
            " the same on every node: it signs the sockets relayed between them"
        )
    relay = Relay(settings.secret_key, ChannelClosed)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_database(settings) as database:
            bootstrap = await prepare_database(database, settings)
            if bootstrap is not None:
                app.state.bootstrap = bootstrap
            policy = SessionPolicy(
                idle=timedelta(seconds=settings.session_idle_seconds),
                max_age=timedelta(seconds=settings.session_max_age_seconds),
            )
            bus: Bus = (
                RedisBus(settings.redis_url, settings.node_id, settings.redis_prefix)
                if settings.redis_url
                else LocalBus(settings.node_id)
            )
            throttle = _login_throttle(settings, bus)
            ownership: Ownership = (
                SqlOwnership(database, bus.node_id, internal_address(settings))
                if settings.cluster_on
                else LocalOwnership()
            )
            async with (
                bus,  # type: ignore[attr-defined]
                # Before the registry: left after its final snapshots, releasing every record then.
                ownership,  # type: ignore[attr-defined]
                SqlUpdateWriter(
                    database,
                    settings.write_batch_max,
                    settings.history_burst_seconds,
                    settings.shutdown_grace_seconds,
                    metrics,
                    commit_interval_seconds=settings.write_commit_interval_seconds,
                ) as writer,
                # Between the two: it publishes the rooms' last updates, and its events go through the writer.
                Feed(
                    database,
                    writer,
                    settings.feed_coalesce_seconds,
                    timedelta(days=settings.event_retention_days),
                    settings.feed_heartbeat_seconds,
                    framer=SSE,
                    metrics=metrics,
                    bus=bus,
                    several_nodes=settings.cluster_on,
                ) as feed,
                RoomRegistry(database, writer, settings, metrics=metrics) as registry,
                _across_nodes(app, settings, bus, registry) as access,
                SchemaSync(database, registry, bus, settings.cluster_on) as schemas,
                Retention(
                    database, settings.log_retention_days, settings.retention_check_seconds, ownership.hold
                ),
                TrashPurge(
                    database,
                    open_room_of(registry),
                    settings.trash_retention_days,
                    settings.retention_check_seconds,
                    hold=ownership.hold,
                ),
                SessionWatch(database, registry, policy, _session_check_seconds(settings), bus, feed),
                LoopLag(metrics),
                ScheduledBackups(settings),
                Forwarder(relay) as forwarder,
            ):
                # The feed and the registry consume the writer's outcomes (each subscribes as it is built).
                registry.session_end_listeners.append(feed.end_sessions)
                _own_rooms(registry, ownership, relay, bus, settings)
                conflicts = Conflicts(database, registry, feed, writer)
                # Several nodes on Redis: who is on the rooms of the other nodes (collab/cluster/presence.py).
                board: PresenceBoard | None = getattr(app.state, "presence_board", None)
                services = Services(
                    settings=settings,
                    sessions=Sessions(database, access, throttle, policy, metrics),
                    users=Users(database, registry, throttle, access, board),
                    collections=Collections(database, registry, feed, schemas.changed),
                    records=Records(database, registry, feed),
                    history=History(database, registry, conflicts),
                    conflicts=conflicts,
                    snapshots=Snapshots(database, registry, settings.viewers_read_snapshots),
                    streams=Streams(database, registry, feed, SSE, metrics, board),
                    connections=Connections(database, registry, settings, ownership, relay),
                    health=Health(database, redis_url=settings.redis_url),
                    tenants=Tenants(
                        database,
                        registration_open=settings.tenant_registration,
                        per_hour=settings.tenant_registrations_per_hour,
                    ),
                    trash=Trash(database, settings.trash_retention_days),
                    imports=Imports(database, feed),
                    exports=Exports(database, registry),
                )
                if not await services.health.redis_answers():  # the reason is logged by the check
                    log.warning("starting without Redis: it does not answer; /readyz says so until it does")
                registry.presence_listeners.append(services.streams.presence_changed)
                _read_levels(metrics, registry, feed, writer)
                app.state.services = services
                app.state.bus = bus
                # HTTP use-cases on a record owned by another node go there (web/relay_http.py).
                app.state.forwarder = forwarder
                app.state.ownership = ownership
                app.state.drain = _drainer(registry, relay)
                yield
            log.info("all accepted updates are stored; shutting down")

    http_app = Starlette(
        routes=ROUTES,
        exception_handlers={**exception_handlers(PersistenceError), PoolTimeout: handle_busy},
        middleware=[Middleware(RejectNul)],
        lifespan=lifespan,
    )
    # An API answers the path it was asked; a redirect to another spelling only blurs what exists.
    http_app.router.redirect_slashes = False
    http_app.state.metrics = metrics

    return CollabApp(http_app, settings, metrics)


def _own_rooms(
    registry: RoomRegistry, ownership: Ownership, relay: Relay, bus: Bus, settings: Settings
) -> None:
    """Several nodes: rooms open only on their record's owner, and close at once when it stops owning;
    a use-case on a record live elsewhere is forwarded to its owner (web/relay_http.py)."""
    registry.session_end_listeners.append(relay.end_sessions)
    if not settings.cluster_on:
        return

    def close_here(record_id: str, code: int, reason: str) -> None:
        room = registry.open_room(record_id)
        if room is not None:
            room.close_all(code, reason)

    handover = Handover(ownership, bus, close_here)
    registry.admit = handover.admit
    registry.record_close_listeners.append(handover.close_record)
    registry.eviction_listeners.append(ownership.release)
    ownership.on_lost(lambda _: registry.drop(frozenset(r for r in registry.rooms if not ownership.holds(r))))


def _drainer(registry: RoomRegistry, relay: Relay) -> Callable[[], Awaitable[None]]:
    async def drain() -> None:
        """Before the server stops: store what was accepted, then tell every socket to reconnect."""
        await registry.flush()
        for room in list(registry.rooms.values()):
            room.close_all(close_codes.SERVICE_RESTART, "server restarting")
        relay.close_all(close_codes.SERVICE_RESTART, "server restarting")

    return drain


def internal_address(settings: Settings) -> str:
    """The "host:port" where the other nodes reach this one (`internal_url`, else where it listens)."""
    if settings.internal_url:
        return settings.internal_url.split("://", 1)[-1].rstrip("/")
    host = socket.gethostname() if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"{host}:{settings.port}"


def _session_check_seconds(settings: Settings) -> float:
    """Several nodes without Redis hear nothing of each other's access changes: only SQL tells them."""
    if settings.cluster_on and not settings.redis_url:
        return min(settings.session_check_seconds, BUS_DOWN_CHECK_SECONDS)
    return settings.session_check_seconds


def _login_throttle(settings: Settings, bus: Bus) -> LoginThrottle:
    """Failed logins counted on this node, or over every node in Redis (by wall-clock times then, which
    the nodes share; a monotonic clock is per machine)."""
    redis = bus.redis
    counter = (
        None if redis is None else RedisAttempts(redis, settings.redis_prefix, settings.login_window_seconds)
    )
    return LoginThrottle(
        settings.login_failures_per_account,
        settings.login_failures_per_address,
        settings.login_window_seconds,
        settings.login_failures_per_account_address,
        counter=counter,
        clock=time.monotonic if redis is None else time.time,
    )


@contextlib.asynccontextmanager
async def _across_nodes(
    app: Starlette, settings: Settings, bus: Bus, registry: RoomRegistry
) -> AsyncIterator[AccessChanges]:
    """Access changes told to every node; with Redis, caps, request budgets and presence shared too."""
    async with AccessChanges(registry, bus) as access:
        redis = bus.redis
        if redis is None:
            yield access
        else:
            limits = AbuseLimits.shared(settings, redis, bus.node_id)
            board = PresenceBoard(
                redis, settings.redis_prefix, bus.node_id, settings.node_entries_ttl_seconds
            )
            async with limits, board:
                app.state.abuse_limits = limits
                app.state.presence_board = board
                registry.presence_listeners.append(board.changed)
                yield access


def _read_levels(metrics: Metrics, registry: RoomRegistry, feed: Feed, writer: SqlUpdateWriter) -> None:
    """Levels are read when scraped, never kept up to date on the hot path."""
    levels = metrics.levels
    levels.rooms = lambda: len(registry.rooms)
    levels.connections = lambda: len(registry.connections())
    levels.send_queue_bytes = lambda: sum(connection.backlog_bytes for connection in registry.connections())
    levels.feed_subscribers = feed.subscriber_count
    levels.writer_backlog = lambda: writer.backlog


class CollabApp:
    """HTTP (and the lifespan) through Starlette; WebSockets and feed streams straight to their endpoints.

    Every HTTP response, the feed's included, gets the browser security headers, and every request body is
    measured before and while it is read (`web/headers.py`, `web/limits.py`).
    """

    def __init__(self, http_app: Starlette, settings: Settings, metrics: Metrics) -> None:
        self.http_app = http_app
        # Set when the server is told to stop (server/cli.py): `/readyz` says 503 from then on.
        self.stopping = False
        https = settings.session_cookie_secure
        guarded = SecurityHeaders(BodyLimit(http_app, settings.max_body_bytes), https)
        # Outermost: every line logged while handling a request, the 413s and 500s included, has its id.
        json_lines = settings.log_format == "json"
        self.guarded_http = AccessLog(HttpMetrics(guarded, metrics), json_lines)
        feed = SecurityHeaders(BodyLimit(RejectNul(feed_app), settings.max_body_bytes), https)
        self.feed_app = AccessLog(HttpMetrics(feed, metrics, route=FEED_PATH), json_lines, route=FEED_PATH)
        self.websocket_app = AccessLog(websocket_app, json_lines)

    @property
    def state(self) -> State:
        return self.http_app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stopping and scope["type"] == "http" and scope["path"] == "/readyz":
            stopping = JSONResponse(
                {"status": "stopping", "checks": {}}, status_code=503, headers={"Cache-Control": "no-store"}
            )
            await stopping(scope, receive, send)
        elif scope["type"] == "websocket":
            # Set on the server's own scope (as Starlette does), not a copy: a copy would live as long as
            # the connection, ~0.7 KB per idle record (issue 17).
            scope["app"] = self.http_app
            await self.websocket_app(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == FEED_PATH:
            await self.feed_app({**scope, "app": self.http_app}, receive, send)
        else:
            await self.guarded_http(scope, receive, send)
