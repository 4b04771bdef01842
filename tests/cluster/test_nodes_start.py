"""Two nodes on one database and one Redis start, answer, and say they are ready."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.nodes import POSTGRES_ONLY, running_nodes

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]


async def test_two_nodes_start_on_one_database_and_are_ready(database_url: str, tmp_path: Path) -> None:
    async with running_nodes(database_url, tmp_path) as nodes, httpx.AsyncClient() as client:
        for node in nodes:
            ready = await client.get(f"{node.base_url}/readyz")
            assert ready.status_code == 200, ready.text
