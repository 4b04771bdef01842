"""All settings of a collab server: one frozen dataclass, from flags and `COLLAB_*` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/collab.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    # Frames above this close the connection with 4413; uvicorn's own cap sits well above it so that the
    # client gets our typed code rather than uvicorn's 1009 (after which y-websocket resends forever).
    max_message_bytes: int = 8 * 1024 * 1024
    # Messages queued for one connection before it counts as a consumer that fell behind.
    send_queue_messages: int = 1024
    # Per connection: sustained messages per second, and the burst allowed on top (a paste, a resync).
    max_messages_per_second: float = 300.0
    message_burst: int = 5000
    max_connections_per_user: int = 50
    session_idle_seconds: float = 7 * 24 * 3600
    session_max_age_seconds: float = 30 * 24 * 3600
    # How often live connections are checked against their sessions (expiry, changes from other nodes).
    session_check_seconds: float = 10.0
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: float = 900.0
    snapshot_every_updates: int = 500
    snapshot_quiet_seconds: float = 30.0
    room_idle_seconds: float = 60.0
    # Update-log rows older than this are folded into a snapshot and deleted; 0 keeps them forever.
    log_retention_days: float = 0.0
    # How often retention looks for old rows; a snapshot must be this old before rows under it go.
    retention_check_seconds: float = 3600.0
    # The group-commit writer takes at most this many updates in one transaction.
    write_batch_max: int = 500
    # Changes of one field by one user within this many seconds of each other make one history entry.
    history_burst_seconds: float = 3.0
    # Live edits of one record within this many seconds make one `record.updated` event of the feed.
    feed_coalesce_seconds: float = 1.0
    # A comment on every idle feed stream this often keeps it open through proxies.
    feed_heartbeat_seconds: float = 15.0
    event_retention_days: float = 30.0
    session_cookie_secure: bool = False
    trust_proxy_headers: bool = False
    bootstrap_admin_email: str = "admin@example.com"
    bootstrap_admin_password: str | None = field(default=None, repr=False)

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
