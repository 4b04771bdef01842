"""A deployment run natively: N `collab serve` nodes behind Debian's HAProxy, driven by deploy/haproxy.cfg.

The balancer gets the deployment's own config file, with the variables it expands pointing at the nodes
(`COLLAB_BALANCER_BIND`, and one variable per node, in the order of the `server` lines), plus a second file
of the test's own: a stats page, from which a test reads which nodes HAProxy has up and how many
connections it holds to each. The nodes listen on ports chosen
before they start, so that their internal URLs and the balancer's server lines can name them, and so that
a node restarted on its port is found again by the balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import LOG_FILES, ROOT
from tests.support.nodes import cluster_env
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess

HAPROXY = "/usr/sbin/haproxy"
DEPLOY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 15.0
_SERVER_LINE = re.compile(r'^\s*server\s+(\S+)\s+"\$\{(\w+)\}"', re.MULTILINE)


def need_haproxy() -> None:
    """Skip, saying why, where HAProxy is not installed (CI installs Debian's `haproxy`: .ci/run)."""
    if shutil.which(HAPROXY) is None:
        pytest.skip(f"{HAPROXY} is missing: `apt-get install haproxy` (Debian's package, as CI installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_lines(config: Path) -> list[tuple[str, str]]:
    """The config's servers: (HAProxy's name for it, the variable giving its address), in order."""
    return _SERVER_LINE.findall(config.read_text())


def node_variables(config: Path) -> list[str]:
    """The variables giving the nodes' addresses, one per node (a node may have several server lines)."""
    return list(dict.fromkeys(variable for _, variable in server_lines(config)))


class Balancer:
    """HAProxy in the foreground (`-f config -db`), on a free port, with a stats page of its own."""

    def __init__(self, config: Path, addresses: list[str], log_path: Path) -> None:
        self.config = config
        self.servers = server_lines(config)
        self.variables = node_variables(config)
        if len(self.variables) != len(addresses):
            raise ValueError(f"{config} names {len(self.variables)} nodes, not {len(addresses)}")
        self.addresses = addresses
        self.log_path = log_path
        LOG_FILES.append(log_path)
        self.port = free_port()
        self.stats_port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def environment(self) -> dict[str, str]:
        """What the deployment's config expands: where to listen and where each node is."""
        env = {"COLLAB_BALANCER_BIND": f"{HOST}:{self.port}"}
        env.update(dict(zip(self.variables, self.addresses, strict=True)))
        return env

    async def start(self) -> None:
        stats = self.log_path.with_suffix(".stats.cfg")
        stats.write_text(f"listen test_stats\n    bind {HOST}:{self.stats_port}\n    stats uri /stats\n")
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                HAPROXY, "-f", str(self.config), "-f", str(stats), "-db",
                env={**os.environ, **self.environment()}, stdout=log, stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
        try:
            await poll_until(
                self._listening, bool, f"haproxy listening on {self.port}", START_TIMEOUT_SECONDS
            )
        except BaseException:
            await self.stop()
            raise

    async def _listening(self) -> bool:
        assert self.process is not None
        if self.process.returncode is not None:
            raise RuntimeError(f"haproxy exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            _, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    async def _stats(self) -> list[dict[str, str]]:
        """The stats page's rows of the nodes (HAProxy's names for them in `svname`)."""
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://{HOST}:{self.stats_port}/stats;csv")
        rows = csv.DictReader(io.StringIO(response.text.lstrip("# ")))
        names = {name for name, _ in self.servers}
        return [row for row in rows if row["svname"] in names]

    async def states(self) -> dict[str, str]:
        """HAProxy's view of each node: "UP", "DOWN", "UP 1/2" (going down), "DOWN 1/2" (coming up)..."""
        return {row["svname"]: row["status"] for row in await self._stats()}

    async def current_sessions(self) -> dict[str, int]:
        """Connections HAProxy holds open to each node now (a WebSocket counts while it is open)."""
        return {row["svname"]: int(row["scur"] or 0) for row in await self._stats()}

    async def wait_states(self, wanted: dict[str, str], within: float = 20.0) -> dict[str, str]:
        def matches(states: dict[str, str]) -> bool:
            return all(states.get(name) == status for name, status in wanted.items())

        return await poll_until(self.states, matches, f"haproxy's nodes {wanted}", within)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        if self.process is not None:
            await self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    nodes: list[ServerProcess]
    balancer: Balancer

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.balancer.base_url, headers=headers, timeout=10)


def node_settings(shared: dict[str, str]) -> Callable[[list[int]], list[dict[str, str]]]:
    """Each node's settings: the shared ones, its id (`node1`... as HAProxy names them) and its
    internal URL (where the other nodes relay to it)."""

    def settings(ports: list[int]) -> list[dict[str, str]]:
        return [
            {**shared, "COLLAB_NODE_ID": f"node{n + 1}", "COLLAB_INTERNAL_URL": f"http://{HOST}:{port}"}
            for n, port in enumerate(ports)
        ]

    return settings


@contextlib.asynccontextmanager
async def running_cluster(
    database_url: str,
    tmp_path: Path,
    count: int = 2,
    env: dict[str, str] | None = None,
    *,
    settings: Callable[[list[int]], list[dict[str, str]]] | None = None,
    config: Path = DEPLOY_CONFIG,
) -> AsyncIterator[Cluster]:
    """`count` nodes (started in order: the first migrates) and the balancer in front of them; all killed at
    the end. `env`: settings every node shares (default `cluster_env()`); `settings(ports)`: instead, each
    node's own settings, given the ports chosen for them (a deployment file's, mapped to this machine)."""
    need_haproxy()
    ports = [free_port() for _ in range(count)]
    envs = (settings or node_settings(env if env is not None else cluster_env()))(ports)
    nodes: list[ServerProcess] = []
    balancer: Balancer | None = None
    try:
        for n, (port, node_env) in enumerate(zip(ports, envs, strict=True)):
            node = ServerProcess(database_url, tmp_path / f"node-{n + 1}.log", node_env)
            node.port = port
            await node.start()
            nodes.append(node)
        balancer = Balancer(config, [f"{HOST}:{port}" for port in ports], tmp_path / "haproxy.log")
        await balancer.start()
        yield Cluster(nodes, balancer)
    finally:
        if balancer is not None:
            await balancer.stop()
        for node in nodes:
            await node.kill()


@contextlib.asynccontextmanager
async def own_redis(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Redis of the test's own (the shared one must stay up for everyone else), killed at the end."""
    process = await asyncio.create_subprocess_exec(
        "redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:

        async def answers() -> bool:
            try:
                _, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True

        await poll_until(answers, bool, f"redis-server on {port}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
