"""The composition root: builds the Starlette app and owns the server's long-lived parts.

Lifespan order: database (migrated) → update writer → room registry. Shutdown runs it backwards: rooms
close their connections, the writer commits everything accepted, and final snapshots are written.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette

from auth.sessions import SessionPolicy
from auth.throttle import LoginThrottle
from collab.bootstrap import prepare_database
from collab.registry import RoomRegistry
from collab.session_watch import SessionWatch
from collab.settings import Settings
from collab.writer import SqlUpdateWriter
from persistence.database import Database
from web.errors import EXCEPTION_HANDLERS
from web.routes import ROUTES
from web.services import Services

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Database(settings.database_url) as database:
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
            )
            async with (
                SqlUpdateWriter(database, settings.write_batch_max) as writer,
                RoomRegistry(database, writer, settings) as registry,
                SessionWatch(database, registry, policy, settings.session_check_seconds),
            ):
                app.state.services = Services(settings, database, registry, writer, throttle, policy)
                yield
            log.info("all accepted updates are stored; shutting down")

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    # An API answers the path it was asked; a redirect to another spelling only blurs what exists.
    app.router.redirect_slashes = False
    return app
