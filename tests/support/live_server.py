"""A collab server on a real socket for tests: what every kind offers (addresses, HTTP helpers, the CLI).

Two kinds share this interface:
- `AppServer` (tests/support/app_server.py): the app under uvicorn in a thread of this process. Starting
  one costs what the app's lifespan costs, not a Python start-up; most tests use it.
- `ServerProcess` (tests/support/server_process.py): a `collab serve` subprocess, for the tests that kill,
  stop or restart it as production does, or that measure the process.

Both listen on port 0, and both send their log lines to `log_path`, which is listed in `LOG_FILES` for the
end-of-run scan for secrets (tests/conftest.py).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import io
import ssl
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"

# Every secret any test server saw, and every log file written: the test run ends with a scan of the logs
# for these (tests/conftest.py), since no token or password may ever reach a log line.
SECRETS_SEEN: set[str] = {ADMIN_PASSWORD}
LOG_FILES: list[Path] = []

# One TLS context for every test client: these servers speak plain HTTP, and httpx would otherwise build
# one per client (20 ms each: a test that opens a thousand clients spent most of its time on them).
TLS = ssl.create_default_context()

# The CLI's output is collected by swapping sys.stdout, which is process-wide: one command at a time.
_CLI_OUTPUT = threading.Lock()

S = TypeVar("S", bound="LiveServer")


class LiveServer(abc.ABC):
    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.log_path = log_path
        LOG_FILES.append(log_path)
        self.extra_env = env or {}  # COLLAB_* settings, as a deployment would set them
        self.base_url = ""
        self.port = 0  # chosen by the first start, kept by restarts so clients reconnect as they would
        self.stdout_lines: list[str] = []  # what the server printed: where it listens, a first start's login

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    @abc.abstractmethod
    async def start(self) -> None:
        """Serve; returns once the server listens (`base_url` and `port` are then set)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving, by the quickest way that leaves nothing running behind."""

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # -- HTTP helpers -----------------------------------------------------------------------------------

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10, verify=TLS)

    async def login(
        self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, tenant: str = "default"
    ) -> str:
        async with self.client() as http:
            response = await http.post(
                "/api/auth/login", json={"tenant": tenant, "email": email, "password": password}
            )
            response.raise_for_status()
            token: str = response.json()["token"]
            SECRETS_SEEN.update({token, password})
            return token

    async def create_record(
        self, token: str, fields: dict[str, Any] | None = None, collection: str = "customers"
    ) -> str:
        async with self.client(token) as http:
            response = await http.post(
                "/api/records", json={"collection": collection, "fields": fields or {}}
            )
            response.raise_for_status()
            record_id: str = response.json()["id"]
            return record_id

    async def cli(self, *args: str) -> str:
        """Run a `collab` CLI command against this server's database, as an operator would next to the
        running server; return its output. The command's own code runs in a thread (its own event loop
        and engine), which spares a Python start-up per call; tests/collab/test_cli.py runs the real
        command line."""
        return await asyncio.to_thread(_run_cli, ["--database-url", self.database_url, *args])

    async def add_user(
        self, email: str, role: str, password: str = "user-password-1", tenant: str = "default"
    ) -> str:
        """Create a user through the CLI and return a fresh session token."""
        await self.cli(
            "user", "add", "--tenant", tenant, "--email", email, "--role", role, "--password", password
        )
        return await self.login(email, password, tenant)


def _run_cli(argv: list[str]) -> str:
    from server import cli  # the composition root: imported when first needed, not when collecting

    out, err = io.StringIO(), io.StringIO()
    with _CLI_OUTPUT, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    if code != 0:
        raise RuntimeError(f"collab {' '.join(argv[2:])} failed: {err.getvalue()}")
    return out.getvalue()


def server_for(test: pytest.Item, database_url: str, log_path: Path) -> LiveServer:
    """The server a test gets from `live_server`: a `collab serve` process for a test marked
    `server_process` (it kills, stops, restarts or measures the process), else the app in this process."""
    from tests.support.app_server import AppServer
    from tests.support.server_process import ServerProcess

    kind = ServerProcess if test.get_closest_marker("server_process") else AppServer
    settings = test.get_closest_marker("server_env")
    return kind(database_url, log_path, dict(settings.kwargs) if settings is not None else None)


@contextlib.asynccontextmanager
async def running(server: S) -> AsyncIterator[S]:
    """`server` started, and stopped however the block ends."""
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
