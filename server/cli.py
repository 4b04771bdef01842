"""The `collab` command: serve, and manage tenants and users."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import resource
import secrets
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from auth import accounts
from auth.errors import AuthError
from collab.records.records import SAMPLE_COLLECTION, create_collection
from collab.settings import Settings
from persistence import backup
from persistence.database import Database
from persistence.errors import PersistenceError
from persistence.tenant_scope import system_scope
from server.app import CollabApp, create_app
from server.bootstrap import open_database
from server.logs import log_config
from server.strangers import StrangerGuard, WaitLimits, guarded_protocols

# uvicorn drops frames above its own cap with 1009, after which y-websocket resends forever; keep it well
# above ours so that the client gets 4413 instead.
_UVICORN_CAP_FACTOR = 4

# The collector's thresholds once serving (Python's defaults: 700, 10, 10). A thousand feed streams are
# ~85,000 objects that live as long as their connections, and each publish makes a few per stream that live
# until the next one: with the defaults those filled the old generation, whose full passes (65-75 ms here)
# came every 6-10 s and stalled fan-outs. Fewer young passes promote less, and a full pass waits for 100
# middle ones (none came in 100 s of bench.feed).
GC_THRESHOLDS = (5000, 10, 100)


def _say(text: str) -> None:
    print(text, flush=True)


class CollabServer(uvicorn.Server):
    """Says where it listens (the real port, also with --port 0) and prints a first start's login once.

    `say` is where those lines go (stdout; a test running the server in its own process collects them).
    """

    def __init__(
        self,
        config: uvicorn.Config,
        app: CollabApp,
        settings: Settings,
        say: Callable[[str], None] = _say,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._settings = settings
        self._say = say
        self._stop_requested_at: float | None = None

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        port = self.servers[0].sockets[0].getsockname()[1]
        url = f"http://{self._settings.host}:{port}"
        bootstrap = getattr(self._app.state, "bootstrap", None)
        if bootstrap is not None:
            for line in bootstrap.announcement(url):
                self._say(line)
        self._say(f"collab: listening on {url}")
        self.tune_collector()

    def tune_collector(self) -> None:
        """What start-up made (modules, classes, functions: about 100,000 objects) lives as long as the
        process: keep it out of the collector's full passes, which otherwise stall every room and feed
        stream for tens of milliseconds each time (measured by bench.feed). Process-wide, so a server
        that shares its process (a test's) leaves it alone."""
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM: `/readyz` says 503 at once; the node goes on serving for `shutdown_drain_seconds`
        (a balancer's health checks take it out meanwhile), then stops. A second signal stops it at once."""
        if (
            self._stop_requested_at is None
            and sig == signal.SIGTERM
            and self._settings.shutdown_drain_seconds > 0
        ):
            self._stop_requested_at = time.monotonic()
            self._app.stopping = True
            return
        self._app.stopping = True
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        drained = self._stop_requested_at is not None and (
            time.monotonic() - self._stop_requested_at >= self._settings.shutdown_drain_seconds
        )
        if drained:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: Any = None) -> None:
        self._app.stopping = True
        services = getattr(self._app.state, "services", None)
        if services is not None:
            services.streams.end_all()  # uvicorn waits for open responses, and a feed stream never ends
        drain = getattr(self._app.state, "drain", None)
        if drain is not None:
            # Everything accepted is stored, then every socket is told 1012 with a reason (uvicorn's own
            # close would drop them with a bare 1012 first); the lifespan then snapshots and releases.
            await drain()
        await super().shutdown(sockets)


def wait_limits(settings: Settings) -> WaitLimits:
    """The strangers' limits; the bound on waiting connections is kept to half the file descriptors, so
    that a flood of sockets pushes out older ones before accept() runs out of descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    max_pending = settings.max_pending_connections
    if soft != resource.RLIM_INFINITY:
        max_pending = min(max_pending, soft // 2)
    return WaitLimits(
        header_seconds=settings.http_header_timeout_seconds,
        body_seconds=settings.http_body_timeout_seconds,
        first_message_seconds=settings.ws_first_message_timeout_seconds,
        max_pending=max(1, max_pending),
        max_header_bytes=settings.max_header_bytes,
    )


def uvicorn_config(
    app: CollabApp, settings: Settings, logging_config: dict[str, Any] | None
) -> uvicorn.Config:
    """How `collab serve` runs the app; `logging_config=None` leaves the process's logging as it is."""
    http_protocol, ws_protocol = guarded_protocols(StrangerGuard(wait_limits(settings)))
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=logging_config,
        # Time-outs and a bound for connections that keep the server waiting (server/strangers.py).
        http=http_protocol,
        ws=ws_protocol,
        ws_max_size=settings.max_message_bytes * _UVICORN_CAP_FACTOR,
        # Compressing every broadcast once per receiver costs more CPU than the bandwidth it saves on a
        # LAN-sized edit stream (see docs/architecture.md); the reference servers do not compress either.
        ws_per_message_deflate=False,
        proxy_headers=settings.trust_proxy_headers,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )


def serve(settings: Settings) -> int:
    sockets = None
    if settings.cluster_on and not settings.internal_url:
        # The other nodes must know the real port (also with --port 0) before the app starts serving:
        # bound here, before the lifespan registers this node's internal address.
        listening = _bind(settings.host, settings.port)
        settings = replace(settings, port=listening.getsockname()[1])
        sockets = [listening]
    app = create_app(settings)
    config = uvicorn_config(app, settings, log_config(log_format=settings.log_format))
    limits = wait_limits(settings)
    logging.getLogger(__name__).info(
        "connections waiting for their client: at most %d, headers within %g s, bodies within %g s, "
        "a WebSocket's first message within %g s",
        limits.max_pending, limits.header_seconds, limits.body_seconds, limits.first_message_seconds,
    )  # fmt: skip
    server = CollabServer(config, app, settings)
    server.run(sockets=sockets)
    return 0 if server.started else 1


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    listening.set_inheritable(True)
    return listening


async def _with_database(settings: Settings, action: Callable[[Database], Awaitable[int]]) -> int:
    # Migrate only: a first-start admin is created by `serve`, which is where its password is shown.
    async with open_database(settings) as database:
        await database.migrate()
        with system_scope():  # an operator's command: no single tenant's work
            return await action(database)


def add_tenant(
    settings: Settings,
    slug: str,
    name: str | None,
    admin_email: str | None = None,
    admin_name: str | None = None,
) -> int:
    """A tenant with the sample collection; with `admin_email`, its first admin too (password shown once)."""
    password = secrets.token_urlsafe(12)

    async def action(database: Database) -> int:
        async with database.session() as session:
            tenant = await accounts.add_tenant(session, slug, name)
            # A new organisation's first screen is never empty: it starts with the sample collection.
            await create_collection(session, tenant.id, SAMPLE_COLLECTION)
            if admin_email is not None:
                admin = await accounts.add_user(
                    session, tenant, email=admin_email, role="admin", password=password, name=admin_name
                )
            await session.commit()
        _say(f"collab: tenant {slug!r} added, with a sample 'customers' collection")
        if admin_email is not None:
            _say(f"  admin {admin.email}  password {password}  (shown once)")
        return 0

    return asyncio.run(_with_database(settings, action))


def add_user(
    settings: Settings, tenant: str, email: str, role: str, name: str | None, password: str | None
) -> int:
    chosen = password or secrets.token_urlsafe(12)

    async def action(database: Database) -> int:
        async with database.session() as session:
            found = await accounts.find_tenant(session, tenant)
            user = await accounts.add_user(session, found, email=email, role=role, password=chosen, name=name)
            await session.commit()
        _say(f"collab: user {user.email!r} ({role}) added to tenant {tenant!r}")
        if password is None:
            _say(f"  password {chosen}  (shown once)")
        return 0

    return asyncio.run(_with_database(settings, action))


def backup_database(settings: Settings, dest: Path) -> int:
    """`collab backup DEST`: safe while the server serves (persistence/backup.py says how)."""
    _say(f"collab: backing up to {dest} ...")
    revision = backup.backup(settings.database_url, dest)
    _say(f"collab: backup written to {dest} (schema revision {revision})")
    return 0


def restore_database(
    settings: Settings, src: Path, *, assume_yes: bool, ask: Callable[[str], str] = input
) -> int:
    """`collab restore SRC`: replaces the whole database, so the operator types its name to confirm."""
    target = backup.Target.parse(settings.database_url)
    backup.check_restorable(settings.database_url, src)
    if not assume_yes:
        _say(f"collab: this replaces every record in {target.name!r} with the backup {src}.")
        try:
            answer = ask(f"Type the database name ({target.name}) to confirm: ")
        except EOFError:
            answer = ""
        if answer.strip() != target.name:
            print("collab: error: not confirmed; nothing was changed", file=sys.stderr)
            return 1
    revision = backup.restore(settings.database_url, src)
    _say(f"collab: restored {target.name!r} from {src} (schema revision {revision})")
    _say("collab: every record has a new epoch: browsers keep their copies from before as copies to review")
    return 0


def bump_epochs(settings: Settings) -> int:
    """`collab epoch bump`: after a restore by other means than `collab restore` (server stopped)."""
    count = backup.bump_epochs(settings.database_url)
    _say(f"collab: {count} records have a new epoch")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collab", description="Live collaborative records.")
    parser.add_argument(
        "--database-url", help="SQLAlchemy URL (env COLLAB_DATABASE_URL); default SQLite in ./data/"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the server")
    serve_cmd.add_argument("--host", help="address to bind (env COLLAB_HOST, default 127.0.0.1)")
    serve_cmd.add_argument(
        "--port", type=int, help="port (env COLLAB_PORT, default 8000; 0 picks a free one)"
    )
    serve_cmd.add_argument("--database-url", dest="serve_database_url", help=argparse.SUPPRESS)
    serve_cmd.add_argument("--redis-url", help="Redis for several nodes (env COLLAB_REDIS_URL)")
    serve_cmd.add_argument(
        "--internal-url",
        help="where the other nodes reach this one (env COLLAB_INTERNAL_URL; default http://HOST:PORT)",
    )
    serve_cmd.add_argument(
        "--log-format", choices=["text", "json"], help="log lines (env COLLAB_LOG_FORMAT, default text)"
    )
    serve_cmd.add_argument(
        "--trash-retention-days",
        type=float,
        help="deleted records stay restorable this long, then are purged; 0 keeps them"
        " (env COLLAB_TRASH_RETENTION_DAYS, default 30)",
    )

    tenant_cmd = commands.add_parser("tenant", help="manage tenants").add_subparsers(
        dest="action", required=True
    )
    tenant_add = tenant_cmd.add_parser("add", help="add a tenant")
    tenant_add.add_argument("slug")
    tenant_add.add_argument("--name")
    tenant_add.add_argument(
        "--admin-email", help="also create the tenant's first admin (password printed once)"
    )
    tenant_add.add_argument("--admin-name")
    tenant_add.add_argument("--database-url", dest="sub_database_url", help=argparse.SUPPRESS)

    user_cmd = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    user_add = user_cmd.add_parser("add", help="add a user")
    user_add.add_argument("--tenant", required=True)
    user_add.add_argument("--email", required=True)
    user_add.add_argument("--role", required=True, choices=["admin", "editor", "viewer"])
    user_add.add_argument("--name")
    user_add.add_argument("--password", help="default: a random one, printed once")
    user_add.add_argument("--database-url", dest="sub_database_url", help=argparse.SUPPRESS)

    backup_cmd = commands.add_parser("backup", help="back up the database, also while serving")
    backup_cmd.add_argument("dest", type=Path, help="a new file")
    backup_cmd.add_argument("--database-url", dest="sub_database_url", help=argparse.SUPPRESS)

    restore_cmd = commands.add_parser("restore", help="replace the database with a backup (server stopped)")
    restore_cmd.add_argument("src", type=Path, help="a file written by `collab backup`")
    restore_cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore_cmd.add_argument("--database-url", dest="sub_database_url", help=argparse.SUPPRESS)

    epoch_cmd = commands.add_parser("epoch", help="record epochs")
    epoch_actions = epoch_cmd.add_subparsers(dest="action", required=True)
    epoch_bump = epoch_actions.add_parser(
        "bump", help="after restoring the database by other means: browsers must not merge older copies"
    )
    epoch_bump.add_argument("--database-url", dest="sub_database_url", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = (
        getattr(args, "serve_database_url", None)
        or getattr(args, "sub_database_url", None)
        or args.database_url
    )
    try:
        settings = Settings.from_env(
            database_url=database_url,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            redis_url=getattr(args, "redis_url", None),
            internal_url=getattr(args, "internal_url", None),
            log_format=getattr(args, "log_format", None),
            trash_retention_days=getattr(args, "trash_retention_days", None),
        )
        if args.command == "serve":
            return serve(settings)
        if args.command == "tenant":
            return add_tenant(settings, args.slug, args.name, args.admin_email, args.admin_name)
        if args.command == "backup":
            return backup_database(settings, args.dest)
        if args.command == "restore":
            return restore_database(settings, args.src, assume_yes=args.yes)
        if args.command == "epoch":
            return bump_epochs(settings)
        return add_user(settings, args.tenant, args.email, args.role, args.name, args.password)
    except (AuthError, PersistenceError, ValueError) as exc:
        print(f"collab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
