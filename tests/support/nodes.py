"""Several `collab serve` processes on one PostgreSQL database and one Redis: a deployment of N nodes.

The nodes start one after another (the first applies the migrations and creates the first admin), share
the secret key, and use a Redis prefix of their own, so that tests sharing the Redis server never hear
each other.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.server_process import ServerProcess

REDIS_URL = "redis://127.0.0.1:6379/0"
# A Redis that is configured but never answers: nothing listens on port 1 (connections are refused at once).
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"

# Several nodes need one database they all reach: PostgreSQL only (`pytestmark = POSTGRES_ONLY`).
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def cluster_env(redis_url: str = REDIS_URL, **extra: str) -> dict[str, str]:
    """The settings every node of one test deployment shares."""
    return {
        "COLLAB_REDIS_URL": redis_url,
        "COLLAB_REDIS_PREFIX": f"collab-test-{secrets.token_hex(4)}",
        "COLLAB_SECRET_KEY": secrets.token_hex(32),
        **extra,
    }


def env_with_redis(redis: str) -> dict[str, str]:
    """`cluster_env()` with Redis "up" (the shared one) or "unreachable" (configured, never answering)."""
    return cluster_env() if redis == "up" else cluster_env(redis_url=UNREACHABLE_REDIS_URL)


@contextlib.asynccontextmanager
async def running_nodes(
    database_url: str,
    tmp_path: Path,
    count: int = 2,
    env: dict[str, str] | None = None,
    node_ids: list[str] | None = None,
) -> AsyncIterator[list[ServerProcess]]:
    """`count` nodes, started in order; each logs to `tmp_path/node-N.log`; all are killed at the end.
    Their node ids are `node0`, `node1`... unless `node_ids` names them."""
    shared = env if env is not None else cluster_env()
    ids = node_ids if node_ids is not None else [f"node{n}" for n in range(count)]
    nodes: list[ServerProcess] = []
    try:
        for n in range(count):
            node = ServerProcess(
                database_url, tmp_path / f"node-{n}.log", {**shared, "COLLAB_NODE_ID": ids[n]}
            )
            await node.start()
            nodes.append(node)
        yield nodes
    finally:
        for node in nodes:
            await node.kill()
