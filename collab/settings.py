"""All settings of a collab server: one frozen dataclass, from flags and `COLLAB_*` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/collab.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL's pool (ignored for SQLite): connections kept open, more opened under load, how long a
    # request waits for a free one (then 503 with Retry-After) and for a new one to open.
    database_pool_size: int = 10
    database_pool_overflow: int = 10
    database_pool_timeout_seconds: float = 10.0
    database_connect_timeout_seconds: float = 10.0
    redis_url: str | None = None
    # Every Redis channel and key of this deployment starts with it (several deployments, or tests, may
    # share one Redis).
    redis_prefix: str = "collab"
    # This node's name on the bus between nodes (random at each start when unset); logs and presence use it.
    node_id: str | None = None
    # --- Several nodes: record owners and the relay (issue 18, cluster-rooms) ---------------------------
    # A cluster is on when `database_url` is PostgreSQL and (`redis_url` is set or `cluster` is true): each
    # record then has one owner node (a PostgreSQL advisory lock, collab/cluster/ownership.py) and sockets
    # reaching another node are relayed to it; `secret_key` is required (it signs the relay). Otherwise one
    # node owns everything and takes no lock: a single PostgreSQL node works exactly as before.
    cluster: bool = False
    # Where the other nodes reach this one (the relay's target), e.g. http://10.0.0.5:8000; unset: http://
    # HOST:PORT as this node listens (the real port with --port 0; the host name when HOST is 0.0.0.0).
    internal_url: str | None = None
    # After SIGTERM, /readyz answers 503 at once and the node goes on serving this long (so that a load
    # balancer's health checks take it out first), then it stores everything accepted, closes its sockets
    # with 1012 "server restarting" and releases its records. 0: it stops at once (one node).
    shutdown_drain_seconds: float = 0.0
    # --- end of several nodes ---------------------------------------------------------------------------
    # --- Several nodes: access, caps and presence (issue 18, cluster-access) ----------------------------
    # What a node writes to Redis about itself (its share of per-user connection and stream counts, the
    # presence of its rooms) expires this long after its last refresh (every third of it): a node that
    # died stops counting, and its people leave /presence, within it.
    node_entries_ttl_seconds: float = 30.0
    # --- end of access, caps and presence ---------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    # Frames above this close the connection with 4413; uvicorn's own cap sits well above it so that the
    # client gets our typed code rather than uvicorn's 1009 (after which y-websocket resends forever).
    max_message_bytes: int = 8 * 1024 * 1024
    # Bytes that may wait for one connection behind the message being sent; above it the connection is
    # closed with 1013 (it reconnects and re-syncs). Queued document updates are merged, so a reader that
    # keeps up on average never gets near it; the message being sent never counts (a large sync step 2).
    send_queue_bytes: int = 16 * 1024 * 1024
    # A connection with messages queued and no send completed for this long is stuck: closed with 1013.
    send_stall_seconds: float = 30.0
    # Awareness (presence) per connection: distinct client ids it may announce (y-websocket uses one), and
    # the largest state, as JSON with the server's `user` stamp; other entries are dropped, not applied.
    awareness_client_ids_per_connection: int = 4
    awareness_state_bytes: int = 16 * 1024
    # Per connection: sustained messages per second, and the burst allowed on top (a paste, a resync).
    max_messages_per_second: float = 300.0
    message_burst: int = 5000
    max_connections_per_user: int = 50
    session_idle_seconds: float = 7 * 24 * 3600
    session_max_age_seconds: float = 30 * 24 * 3600
    # How often live connections are checked against their sessions (expiry, changes from other nodes).
    session_check_seconds: float = 10.0
    # --- Abuse limits (issue 13) ---------------------------------------------------------------------
    # Failed logins within `login_window_seconds`, counted before the password is checked (so concurrent
    # guesses never pass a limit): per account from one address, and per address over all accounts; then
    # 429 with Retry-After. The account-wide budget only slows guessing from many addresses: once spent,
    # each further address gets one try per window, so a stranger can never lock the owner out.
    login_failures_per_account_address: int = 5
    login_failures_per_address: int = 20
    login_failures_per_account: int = 50
    login_window_seconds: float = 900.0
    # Feed streams (GET /api/events) open at once, per user and per login session; 429 beyond.
    max_streams_per_user: int = 20
    max_streams_per_session: int = 10
    # HTTP requests per user, token buckets: sustained per second, and the burst on top; 429 with
    # Retry-After beyond. WebSocket connects count as reads; `q=` makes a read a search; exports and
    # imports are routes with an `export(s)` / `import(s)` path segment. A rate of 0 switches a budget off.
    http_reads_per_second: float = 20.0
    http_read_burst: int = 120
    http_writes_per_second: float = 10.0
    http_write_burst: int = 100
    http_searches_per_second: float = 2.0
    http_search_burst: int = 20
    http_exports_per_second: float = 0.1
    http_export_burst: int = 5
    http_imports_per_second: float = 0.05
    http_import_burst: int = 3
    # Snapshots are for admins and editors; viewers get 403 on them unless this is true.
    viewers_read_snapshots: bool = False
    # --- end of abuse limits ---------------------------------------------------------------------------
    snapshot_every_updates: int = 500
    snapshot_quiet_seconds: float = 30.0
    room_idle_seconds: float = 60.0
    # Update-log rows older than this are folded into a snapshot and deleted; 0 keeps them forever.
    log_retention_days: float = 0.0
    # How often retention looks for old rows; a snapshot must be this old before rows under it go.
    retention_check_seconds: float = 3600.0
    # The group-commit writer takes at most this many updates in one transaction.
    write_batch_max: int = 500
    # ... and starts a commit at most this often, so that writes arriving meanwhile share one transaction
    # and one fsync (0: commit as soon as the previous commit ends). A lone editor's commits are further
    # apart than this and never wait. It trades "saved" latency for CPU (docs/architecture.md: Cost per
    # update).
    write_commit_interval_seconds: float = 0.01
    # How long the writer's flush (a request waiting for its write, eviction, shutdown) waits for a database
    # that does not answer before giving up with 503 / stopping anyway; queued updates are never confirmed.
    shutdown_grace_seconds: float = 10.0
    # Changes of one field by one user within this many seconds of each other make one history entry.
    history_burst_seconds: float = 3.0
    # Live edits of one record within this many seconds make one `record.updated` event of the feed.
    feed_coalesce_seconds: float = 1.0
    # A comment on every idle feed stream this often keeps it open through proxies.
    feed_heartbeat_seconds: float = 15.0
    event_retention_days: float = 30.0
    # Deleted records stay in their collection's trash, restorable, this long; then they are purged (at
    # every retention_check_seconds). 0 keeps them until restored.
    trash_retention_days: float = 30.0
    # Connections waiting for their client (server/strangers.py): a request's line and headers must arrive
    # within this long of the connection (or of the previous response), and its body within the next limit.
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    # A WebSocket must send its first message this soon after the upgrade (y-websocket sends at once).
    ws_first_message_timeout_seconds: float = 10.0
    # At most this many connections wait for their client at once (capped at half the file descriptors);
    # a new one pushes out the one that has waited longest.
    max_pending_connections: int = 512
    # Request line and headers, and request bodies (413 beyond, checked before and while reading).
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 1024 * 1024
    # Scheduled backups (server/backups.py): off while backup_dir is unset; the newest backup_keep stay.
    backup_dir: str | None = None
    backup_every_hours: float = 24.0
    backup_keep: int = 7
    session_cookie_secure: bool = False
    trust_proxy_headers: bool = False
    # `text` (one line each, for people) or `json` (one object each, with the request id: server/logs.py).
    log_format: str = "text"
    # `GET /metrics` (Prometheus) answers only `Authorization: Bearer <this>`; unset, it does not exist.
    metrics_token: str | None = field(default=None, repr=False)
    # Self-service onboarding (POST /api/tenants): off unless enabled; registrations per address per hour.
    tenant_registration: bool = False
    tenant_registrations_per_hour: int = 5
    bootstrap_admin_email: str = "admin@example.com"
    bootstrap_admin_password: str | None = field(default=None, repr=False)

    @property
    def cluster_on(self) -> bool:
        """Several nodes may serve this database (see `cluster`)."""
        postgres = self.database_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")
        return postgres and (bool(self.redis_url) or self.cluster)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `COLLAB_<NAME>` variables, then explicit overrides (flags) that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(f"COLLAB_{spec.name.upper()}")
            if raw is not None and raw != "":
                values[spec.name] = _parse(spec.name, raw, getattr(cls(), spec.name))
        values.update({key: value for key, value in overrides.items() if value is not None})
        return replace(cls(), **values)


def _parse(name: str, raw: str, default: Any) -> Any:
    if name == "allowed_origins":
        return tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"COLLAB_{name.upper()} must be true or false, not {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw
