"""The composition root: builds the Starlette app and owns the server's long-lived parts.

Lifespan order: database (migrated) → update writer → room registry. Shutdown runs it backwards: rooms
close their connections, the writer commits everything accepted, and final snapshots are written.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from auth.sessions import SessionPolicy
from auth.throttle import LoginThrottle
from collab.changefeed.feed import Feed
from collab.cluster.bus import Bus, LocalBus, RedisBus
from collab.live.registry import RoomRegistry
from collab.live.session_watch import SessionWatch
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
from web.access_log import AccessLog
from web.errors import exception_handlers, handle_busy
from web.events_route import FEED_PATH, feed_app
from web.headers import SecurityHeaders
from web.http_metrics import HttpMetrics
from web.input_guard import RejectNul
from web.limits import BodyLimit
from web.routes import ROUTES
from web.services import Services
from web.sse_frames import SSE
from web.ws_route import websocket_app

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> CollabApp:
    metrics = Metrics()  # this app's own registry: several apps may run in one process

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
            throttle = LoginThrottle(
                settings.login_failures_per_account,
                settings.login_failures_per_address,
                settings.login_window_seconds,
                settings.login_failures_per_account_address,
            )
            bus: Bus = (
                RedisBus(settings.redis_url, settings.node_id, settings.redis_prefix)
                if settings.redis_url
                else LocalBus(settings.node_id)
            )
            async with (
                bus,  # type: ignore[attr-defined]
                SqlUpdateWriter(
                    database,
                    settings.write_batch_max,
                    settings.history_burst_seconds,
                    settings.shutdown_grace_seconds,
                    metrics,
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
                ) as feed,
                RoomRegistry(database, writer, settings, metrics=metrics) as registry,
                Retention(database, settings.log_retention_days, settings.retention_check_seconds),
                TrashPurge(
                    database,
                    open_room_of(registry),
                    settings.trash_retention_days,
                    settings.retention_check_seconds,
                ),
                SessionWatch(database, registry, policy, settings.session_check_seconds),
                LoopLag(metrics),
                ScheduledBackups(settings),
            ):
                # The feed and the registry consume the writer's outcomes (each subscribes as it is built).
                registry.session_end_listeners.append(feed.end_sessions)
                conflicts = Conflicts(database, registry, feed, writer)
                services = Services(
                    settings=settings,
                    sessions=Sessions(database, registry, throttle, policy, metrics),
                    users=Users(database, registry, throttle),
                    collections=Collections(database, registry, feed),
                    records=Records(database, registry, feed),
                    history=History(database, registry, conflicts),
                    conflicts=conflicts,
                    snapshots=Snapshots(database, registry, settings.viewers_read_snapshots),
                    streams=Streams(database, registry, feed, SSE, metrics),
                    connections=Connections(database, registry, settings),
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
        if scope["type"] == "websocket":
            await self.websocket_app({**scope, "app": self.http_app}, receive, send)
        elif scope["type"] == "http" and scope["path"] == FEED_PATH:
            await self.feed_app({**scope, "app": self.http_app}, receive, send)
        else:
            await self.guarded_http(scope, receive, send)
