"""Starting, provisioning and stopping the servers under test, each as a fresh subprocess per scenario.

``node``: the reference ``@y/websocket-server`` (installed in ``bench/node_modules``), any room name works.
``collab``: ``collab serve`` on a throw-away SQLite database (or PostgreSQL one, `throwaway_postgres`); the
first start creates tenant ``default``, then the runner adds an editor with the CLI, logs in over HTTP and
creates one record per room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

BENCH_DIR = Path(__file__).resolve().parent
NODE_SERVER = BENCH_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0


class ServerError(RuntimeError):
    """A server could not be installed, started or provisioned; the message says why and where to look."""


@dataclass
class RunningServer:
    name: str
    process: subprocess.Popen[bytes]
    peer_urls: list[list[str]]
    """``peer_urls[room][index]``: where each peer connects."""
    origin: str | None
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n    ".join(["", *text[-lines:]]) if text else ""


def _spawn(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=BENCH_DIR
        )


def _wait_until_listening(process: subprocess.Popen[bytes], name: str, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(
                f"{name} exited with code {process.returncode} at start; log {log_path}:"
                + _log_tail(log_path)
            )
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise ServerError(
        f"{name} did not listen on port {port} within {START_TIMEOUT_SECONDS:.0f} s; "
        f"log {log_path}:" + _log_tail(log_path)
    )


def ensure_node_reference() -> str:
    """The ``node`` binary, after installing the locked reference server if ``node_modules`` is missing."""
    node = shutil.which("node")
    if node is None:
        raise ServerError("node is not on PATH; the reference server needs Node 20")
    if not NODE_SERVER.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise ServerError(f"{NODE_SERVER} is missing and npm is not on PATH")
        print("installing the reference server: npm ci in bench/ ...", file=sys.stderr)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BENCH_DIR, capture_output=True)
        if done.returncode != 0 or not NODE_SERVER.exists():
            raise ServerError("npm ci in bench/ failed:\n" + done.stderr.decode(errors="replace")[-2000:])
    return node


def node_versions() -> dict[str, str]:
    versions = {"node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()}
    for package in ("@y/websocket-server", "yjs", "ws"):
        manifest = BENCH_DIR / "node_modules" / package / "package.json"
        if manifest.exists():
            versions[package] = json.loads(manifest.read_text())["version"]
    return versions


def start_node(
    rooms: int, clients_per_room: int, tag: str, workdir: Path, persist: Path | None = None
) -> RunningServer:
    """`persist`: a folder where the reference keeps its documents (y-leveldb, `YPERSISTENCE`), so that a
    restart with the same `tag` and folder serves them again; without it, it keeps nothing."""
    node = ensure_node_reference()
    port = free_port()
    log_path = workdir / "node.log"
    env = {**os.environ, "HOST": HOST, "PORT": str(port)}
    if persist is not None:
        env["YPERSISTENCE"] = str(persist)
    process = _spawn([node, str(NODE_SERVER)], log_path, env)  # the node process itself, not npx
    try:
        _wait_until_listening(process, "the node reference server", port, log_path)
    except BaseException:
        process.kill()
        process.wait()
        raise
    urls = [[f"ws://{HOST}:{port}/bench-{tag}-{room}"] * clients_per_room for room in range(rooms)]
    return RunningServer("node", process, urls, None, log_path)


@contextlib.contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of `admin_url` (an asyncpg URL); dropped afterwards.

    The HTTP API's property tests use it too."""
    name = f"collab_bench_{secrets.token_hex(6)}"

    async def run(statement: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    try:
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise ServerError(f"cannot create a database on {admin_url}: {error!r}") from error
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class CollabServer:
    """One throw-away collab installation, started afresh for each scenario.

    The peers are spread over several editors so that none holds more than ``connections_per_user``
    connections (collab caps connections per user), and the peers of one room are different users.
    The admin is added with ``collab user add``; the editors through the admin API, or with the CLI when
    that API is missing.
    """

    tenant = "default"
    admin_email = "bench-admin@example.com"

    def __init__(self, workdir: Path, connections_per_user: int, database_url: str | None = None) -> None:
        self.workdir = workdir
        self.connections_per_user = connections_per_user
        self.database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        self.password = secrets.token_hex(16)
        self.env = {
            **os.environ,
            "COLLAB_DATABASE_URL": self.database_url,
            "COLLAB_SECRET_KEY": secrets.token_hex(32),
            # The load tool is one machine playing thousands of people: per-user abuse limits off.
            "COLLAB_HTTP_READS_PER_SECOND": "0",
            "COLLAB_HTTP_WRITES_PER_SECOND": "0",
            "COLLAB_HTTP_SEARCHES_PER_SECOND": "0",
            "COLLAB_MAX_STREAMS_PER_USER": "100000",
            "COLLAB_MAX_STREAMS_PER_SESSION": "100000",
            "COLLAB_MAX_PENDING_CONNECTIONS": "100000",
        }
        self.admin_added = False
        self.editors: list[str] = []
        self.tokens: list[str] = []
        self.command = self._command()

    @staticmethod
    def _command() -> list[str]:
        script = Path(sys.executable).parent / "collab"
        return [str(script)] if script.exists() else [sys.executable, "-m", "server"]

    def users_needed(self, rooms: int, clients_per_room: int) -> int:
        clients = rooms * clients_per_room
        return min(clients, max(clients_per_room, math.ceil(clients / self.connections_per_user)))

    def start(
        self,
        rooms: int,
        clients_per_room: int,
        record_ids: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> RunningServer:
        """`record_ids`: the rooms' records, created by an earlier start on the same database (a restart);
        None creates `rooms` new ones. `extra_env`: more `COLLAB_*` settings for this start."""
        port = free_port()
        base, origin = f"http://{HOST}:{port}", f"http://{HOST}:{port}"
        log_path = self.workdir / "collab.log"
        env = {**self.env, **(extra_env or {}), "COLLAB_ALLOWED_ORIGINS": origin}
        command = [*self.command, "serve", "--host", HOST, "--port", str(port)]
        command += ["--database-url", self.database_url]
        try:
            process = _spawn(command, log_path, env)
        except OSError as error:
            raise ServerError(f"cannot run {' '.join(command)}: {error}") from error
        server = RunningServer("collab", process, [], origin, log_path)
        users = self.users_needed(rooms, clients_per_room)
        try:
            _wait_until_listening(process, "collab serve", port, log_path)
            self._wait_healthy(process, base, log_path)
            with httpx.Client(base_url=base, timeout=30) as http:
                self._provision(http, users)
                tokens = self._tokens(http, users)
                ids = record_ids if record_ids is not None else self._create_records(http, tokens[0], rooms)
        except BaseException:
            server.stop()
            raise
        server.peer_urls = [
            [
                f"ws://{HOST}:{port}/ws/{record_id}?token={tokens[(room * clients_per_room + index) % users]}"
                for index in range(clients_per_room)
            ]
            for room, record_id in enumerate(ids)
        ]
        return server

    def _wait_healthy(self, process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        status = "no answer"
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"{base}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                status = f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                status = repr(error)
            time.sleep(0.2)
        raise ServerError(
            f"collab /healthz never answered 200 ({status}); log {log_path}:" + _log_tail(log_path)
        )

    def _provision(self, http: httpx.Client, users: int) -> None:
        if not self.admin_added:
            self._cli_add_user(self.admin_email, "admin")
            self.admin_added = True
        if len(self.editors) >= users:
            return
        admin = {"Authorization": f"Bearer {self._login(http, self.admin_email)}"}
        use_api = True
        for number in range(len(self.editors), users):
            email = f"bench{number}@example.com"
            if use_api:
                body = {
                    "email": email,
                    "role": "editor",
                    "name": f"Bench {number}",
                    "password": self.password,
                }
                response = http.post("/api/admin/users", json=body, headers=admin)
                use_api = response.status_code not in (404, 405)
                if use_api and response.status_code != 201:
                    raise ServerError(
                        f"POST /api/admin/users: HTTP {response.status_code} {response.text[:300]}"
                    )
            if not use_api:
                self._cli_add_user(email, "editor")
            self.editors.append(email)

    def _cli_add_user(self, email: str, role: str) -> None:
        command = [*self.command, "user", "add", "--tenant", self.tenant, "--email", email, "--role", role]
        command += ["--name", "Bench", f"--password={self.password}"]
        done = subprocess.run(
            command, env=self.env, cwd=BENCH_DIR, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-1500:].replace(self.password, "***")
            raise ServerError(f"`collab user add` failed (exit {done.returncode}):\n    {output}")

    def _tokens(self, http: httpx.Client, users: int) -> list[str]:
        """One session per editor, kept across restarts (a login costs a password hash on the server)."""
        if self.tokens:
            probe = http.get("/api/auth/me", headers={"Authorization": f"Bearer {self.tokens[0]}"})
            if probe.status_code != 200:
                self.tokens = []
        for email in self.editors[len(self.tokens) : users]:
            self.tokens.append(self._login(http, email))
        return self.tokens[:users]

    def _login(self, http: httpx.Client, email: str) -> str:
        body = {"tenant": self.tenant, "email": email, "password": self.password}
        response = http.post("/api/auth/login", json=body)
        token = response.json().get("token") if response.status_code == 200 else None
        if not isinstance(token, str):
            raise ServerError(f"login as {email} failed: HTTP {response.status_code} {response.text[:300]}")
        return token

    def _create_records(self, http: httpx.Client, token: str, rooms: int) -> list[str]:
        ids: list[str] = []
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(rooms):
            body = {"collection": "customers", "fields": {}}
            response = http.post("/api/records", json=body, headers=headers)
            if response.status_code != 201:
                raise ServerError(f"POST /api/records: HTTP {response.status_code} {response.text[:300]}")
            ids.append(str(response.json()["id"]))
        return ids
