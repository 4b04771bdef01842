"""Where a cold join's CPU and an idle record's memory go, in-process: no sockets, no other process.

The app as `collab serve` builds it (`server.app.create_app`, its lifespan entered here) on a fresh SQLite
file; users and records are provisioned through its HTTP API (httpx over ASGI). Then N clients join at
once, each on a record of its own, through the app's own WebSocket entry (`CollabApp.__call__`: Origin,
token lookup, per-user cap, the record check, the room's load, the connection), on in-memory ASGI
receive/send: a client counts as joined when the server sent its sync step 2. What is measured:

- CPU time (`time.process_time`) per join: runs of two sizes, the difference divided, so start-up and
  provisioning drop out; with `--profile`, the functions that took it (cProfile, by own time);
- memory per idle record with its connection, once every join is idle: Python objects (tracemalloc,
  grouped by file with `--memory N`) and RSS (which also sees yrs and SQLite), both as (after - before) / N.

uvicorn's protocol object and transport per connection are not in it (`bench.join` measures a real server).

```sh
.venv/bin/python -m bench.join_profile                    # 100 and 300 joins
.venv/bin/python -m bench.join_profile --profile 30       # plus the top 30 functions
.venv/bin/python -m bench.join_profile --memory 25        # plus where an idle record's bytes are
```
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import os
import pstats
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from auth import passwords
from bench import procstat
from collab.settings import Settings
from server.app import CollabApp, create_app

_PASSWORD = "bench-join-password-0123456789"
_ORIGIN = "http://testserver"
_SYNC_STEP1_EMPTY = b"\x00\x00\x01\x00"  # what a fresh y-websocket client sends first
_PER_USER = 20  # clients per user, as bench/servers.py spreads them


class _Client:
    """One client on the app's WebSocket entry, over in-memory ASGI receive/send."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.joined = asyncio.get_running_loop().create_future()
        self.closed: tuple[int, str] | None = None
        self.inbox.put_nowait({"type": "websocket.connect"})

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.inbox.put_nowait({"type": "websocket.receive", "bytes": _SYNC_STEP1_EMPTY})
        elif kind == "websocket.send":
            data = message.get("bytes") or b""
            if data[:2] == b"\x00\x01" and not self.joined.done():
                self.joined.set_result(None)
        elif kind == "websocket.close":
            self.closed = (message.get("code", 1000), message.get("reason", ""))
            if not self.joined.done():
                self.joined.set_exception(RuntimeError(f"refused: {self.closed}"))

    def leave(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})


def _scope(record_id: str, token: str) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": f"/ws/{record_id}",
        "raw_path": f"/ws/{record_id}".encode(),
        "query_string": f"token={token}".encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"origin", _ORIGIN.encode())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "state": {},
    }


class Installation:
    """The app with its lifespan entered, and what the joins need: tokens and records."""

    def __init__(self, app: CollabApp) -> None:
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=_ORIGIN)
        self.tokens: list[str] = []

    async def login(self, email: str) -> str:
        body = {"tenant": "default", "email": email, "password": _PASSWORD}
        response = await self.http.post("/api/auth/login", json=body)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    async def provision(self, clients: int) -> None:
        admin = {"Authorization": f"Bearer {await self.login('admin@example.com')}"}
        for number in range(len(self.tokens), -(-clients // _PER_USER)):
            email = f"bench{number}@example.com"
            body = {"email": email, "role": "editor", "name": f"Bench {number}", "password": _PASSWORD}
            (await self.http.post("/api/admin/users", json=body, headers=admin)).raise_for_status()
            self.tokens.append(await self.login(email))

    async def records(self, count: int) -> list[str]:
        headers = {"Authorization": f"Bearer {self.tokens[0]}"}
        ids = []
        for _ in range(count):
            body = {"collection": "customers", "fields": {}}
            response = await self.http.post("/api/records", json=body, headers=headers)
            response.raise_for_status()
            ids.append(str(response.json()["id"]))
        return ids

    async def join_all(self, record_ids: list[str]) -> tuple[list[_Client], list[asyncio.Task[None]]]:
        """Every client connects at once; returns once each has its sync step 2."""
        clients = [_Client() for _ in record_ids]
        tasks = [
            asyncio.create_task(
                self.app(_scope(record_id, self.tokens[n // _PER_USER]), client.receive, client.send)
            )
            for n, (record_id, client) in enumerate(zip(record_ids, clients, strict=True))
        ]
        await asyncio.gather(*(client.joined for client in clients))
        return clients, tasks


@contextlib.asynccontextmanager
async def installation(workdir: Path) -> AsyncIterator[Installation]:
    settings = Settings.from_env(
        {},
        database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        bootstrap_admin_password=_PASSWORD,
        bootstrap_admin_email="admin@example.com",
        max_connections_per_user=100_000,
        http_reads_per_second=0,
        http_writes_per_second=0,
    )
    app = create_app(settings)
    # Logins are provisioning, not what is measured: hashed at argon2's least cost (as in-process tests do).
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    async with app.http_app.router.lifespan_context(app.http_app):
        found = Installation(app)
        try:
            yield found
        finally:
            await found.http.aclose()


async def _leave(clients: list[_Client], tasks: list[asyncio.Task[None]]) -> None:
    for client in clients:
        client.leave()
    await asyncio.gather(*tasks)


def _rss() -> int:
    return procstat.rss_bytes([os.getpid()])


async def measure(sizes: tuple[int, int], profile: int, memory: int) -> dict[str, float]:
    """Joins of two sizes on one installation (fresh records each): CPU and memory per join."""
    with tempfile.TemporaryDirectory(prefix="collab-join-profile-") as workdir:
        async with installation(Path(workdir)) as found:
            await found.provision(max(sizes))
            warm = await found.records(5)
            await _leave(*await found.join_all(warm))  # imports, caches and the pool warmed up
            cpu: list[float] = []
            profiler = cProfile.Profile(time.process_time) if profile else None
            for size in sizes:
                record_ids = await found.records(size)
                gc.collect()
                started = time.process_time()
                if profiler is not None and size == max(sizes):
                    profiler.enable()
                clients, tasks = await found.join_all(record_ids)
                if profiler is not None:
                    profiler.disable()
                cpu.append(time.process_time() - started)
                await _leave(clients, tasks)
            result = {"cpu_ms_per_join": (cpu[1] - cpu[0]) / (sizes[1] - sizes[0]) * 1000}
            result.update(await _idle_memory(found, max(sizes), memory))
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(profile)
        print(out.getvalue(), file=sys.stderr)
    return result


async def _idle_memory(found: Installation, count: int, top: int) -> dict[str, float]:
    """Two batches of `count` idle joins: RSS over the first (tracemalloc's own records would inflate it),
    Python's live bytes (tracemalloc) over the second."""
    record_ids = await found.records(count)
    gc.collect()
    rss_before = _rss()
    idle = await found.join_all(record_ids)
    await asyncio.sleep(1.5)  # the rooms build their history index once the join is answered
    gc.collect()
    rss = (_rss() - rss_before) / count / 1024
    record_ids = await found.records(count)
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    traced = await found.join_all(record_ids)
    await asyncio.sleep(1.5)
    gc.collect()
    diff = tracemalloc.take_snapshot().compare_to(before, "filename")
    tracemalloc.stop()
    if top:
        print(f"Python bytes per idle record + connection, by file (top {top}):", file=sys.stderr)
        for stat in diff[:top]:
            print(f"  {stat.size_diff / count:9.0f}  {stat.traceback[0].filename}", file=sys.stderr)
    await _leave(*idle)
    await _leave(*traced)
    python = sum(stat.size_diff for stat in diff) / count / 1024
    return {"python_kb_per_idle": python, "rss_kb_per_idle": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.join_profile", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=(100, 300), help="joins in the two runs")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions (cProfile)")
    parser.add_argument("--memory", type=int, default=0, help="print the top N files by idle bytes")
    args = parser.parse_args(argv)
    sizes = (args.sizes[0], args.sizes[1])
    result = asyncio.run(measure(sizes, args.profile, args.memory))
    for key, value in result.items():
        print(f"{key}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
