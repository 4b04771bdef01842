"""A real `collab serve` process for tests: started on port 0, killed or stopped on purpose.

The server is a subprocess so tests can SIGKILL and SIGTERM it like production does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"collab: listening on (http://[\d.]+:\d+)")
START_TIMEOUT_SECONDS = 30.0

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"

# Every secret any test server saw, and every log file written: the test run ends with a scan of the logs
# for these (tests/conftest.py), since no token or password may ever reach a log line.
SECRETS_SEEN: set[str] = {ADMIN_PASSWORD}
LOG_FILES: list[Path] = []


class LiveServer:
    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.log_path = log_path
        LOG_FILES.append(log_path)
        self.extra_env = env or {}
        self.base_url = ""
        self.port = 0  # chosen by the first start, kept by restarts so clients reconnect as they would
        self.process: asyncio.subprocess.Process | None = None
        self.stdout_lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    async def start(self) -> None:
        env = {
            **os.environ,
            "COLLAB_DATABASE_URL": self.database_url,
            "COLLAB_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", "serve", "--port", str(self.port),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
        log.close()
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_stdout(found))
        try:
            self.base_url = await asyncio.wait_for(found, START_TIMEOUT_SECONDS)
            self.port = int(self.base_url.rsplit(":", 1)[1])
        except (TimeoutError, EOFError) as exc:
            await self.kill()
            raise RuntimeError(f"collab serve did not start:\n{self.log_tail()}") from exc

    async def _read_stdout(self, found: asyncio.Future[str]) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode():
            self.stdout_lines.append(line)
            match = _LISTENING.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            found.set_exception(EOFError("collab serve exited"))

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def _wait(self) -> int:
        assert self.process is not None
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code

    async def kill(self) -> None:
        """SIGKILL: nothing is flushed, like a power cut of the process."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        if self.process is not None:
            await self._wait()

    async def terminate(self, within: float = 30.0) -> int:
        """SIGTERM, and wait for the graceful exit."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self._wait(), within)

    async def restart(self) -> None:
        await self.kill()
        await self.start()

    # -- HTTP helpers -----------------------------------------------------------------------------------

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)

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
        """Run a `collab` CLI command against this server's database; return its stdout."""
        env = {**os.environ, "COLLAB_DATABASE_URL": self.database_url}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", *args,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"collab {' '.join(args)} failed: {err.decode()}")
        return out.decode()

    async def add_user(
        self, email: str, role: str, password: str = "user-password-1", tenant: str = "default"
    ) -> str:
        """Create a user through the CLI and return a fresh session token."""
        await self.cli(
            "user", "add", "--tenant", tenant, "--email", email, "--role", role, "--password", password
        )
        return await self.login(email, password, tenant)


@contextlib.asynccontextmanager
async def running_server(database_url: str, log_path: Path, **kwargs: Any) -> Any:
    server = LiveServer(database_url, log_path, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
