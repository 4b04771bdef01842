"""Presence everywhere (collab/cluster/presence.py, the per-tenant index of the board in Redis): a feed
stream opening on one node and `/api/admin/online` list the people of rooms on every node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.nodes import POSTGRES_ONLY, running_nodes
from tests.support.owners import owner_of
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]


async def _online(node: ServerProcess, token: str) -> dict[str, set[str]]:
    """Who is online, by name, with the titles of their records."""
    async with node.client(token) as http:
        answer = await http.get("/api/admin/online")
        answer.raise_for_status()
    people: list[dict[str, Any]] = answer.json()["people"]
    return {person["name"]: {record["title"] for record in person["records"]} for person in people}


async def test_the_feed_and_the_online_list_show_people_of_rooms_on_every_node(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        admin = await a.login()
        panda = await a.create_record(admin, {"name": "Panda"})
        otter = await a.create_record(admin, {"name": "Otter"})
        ann = await a.add_user("ann@example.com", "editor")
        bob = await a.add_user("bob@example.com", "editor")
        on_a = await YClient(f"{a.ws_url}/{panda}", ann).connect()  # Panda's room lives on A
        on_b = await YClient(f"{b.ws_url}/{otter}", bob).connect()  # Otter's on B
        assert await owner_of(database_url, panda) == "node0"
        assert await owner_of(database_url, otter) == "node1"
        for node in (a, b):
            await _until_online(node, admin, {"ann": {"Panda"}, "bob": {"Otter"}})
        for node in (b, a):
            async with FeedClient(node.base_url, admin, "customers") as feed:
                events = await feed.collect(2, types=("presence",))
            users = {event.data["record"]: [user["name"] for user in event.data["users"]] for event in events}
            assert users == {panda: ["ann"], otter: ["bob"]}, node.base_url
        await on_a.close()
        await on_b.close()
        for node in (a, b):  # gone from every node's list once they left
            await _until_online(node, admin, {})


async def _until_online(node: ServerProcess, token: str, expected: dict[str, set[str]]) -> None:
    async def read() -> dict[str, set[str]]:
        return await _online(node, token)

    await poll_until(read, lambda seen: seen == expected, f"online on {node.base_url}: {expected}")
