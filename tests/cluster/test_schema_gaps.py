"""Schema edits reach rooms on other nodes (collab/cluster/schemas.py): a collection edited on node A
changes what its open rooms on node B accept, through a bus hint, or while Redis is unreachable through
B's poll of the collections it has open rooms of (every second)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.nodes import (
    POSTGRES_ONLY,
    env_with_redis,
    running_nodes,
)
from tests.support.owners import owner_of
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]

# A schema edit reaches the other node within this (the poll runs every second while Redis is down).
WITHIN_SECONDS = 2.5


@pytest.mark.parametrize("redis", ["up", "unreachable"])
async def test_a_schema_edited_on_one_node_reaches_the_rooms_of_the_other(
    database_url: str, tmp_path: Path, redis: str
) -> None:
    env = env_with_redis(redis)
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token, {"name": "Panda"})
        editor = await YClient(f"{b.ws_url}/{record}", token).connect()  # the room lives on B
        editor.fields["rate"] = 5  # no such field yet: corrected away
        await editor.wait_until(lambda: "rate" not in editor.fields, "the unknown field removed")
        assert await owner_of(database_url, record) == "node1"
        async with a.client(token) as http:
            fields: list[dict[str, Any]] = next(
                c
                for c in (await http.get("/api/collections")).json()["collections"]
                if c["name"] == "customers"
            )["fields"]
            fields.append({"key": "rate", "label": "Rate", "type": "decimal", "scale": 2})
            answer = await http.patch("/api/collections/customers", json={"fields": fields})
            assert answer.status_code == 200, answer.text
        edited = time.monotonic()
        # B's room follows the new fields: the value is kept and corrected to the field's scale.
        while editor.fields.get("rate") != "5.00":
            assert time.monotonic() - edited < WITHIN_SECONDS, "B's room still refuses the new field"
            editor.fields["rate"] = 5
            await editor.wait_until(lambda: editor.fields.get("rate") in (None, "5.00"), "a correction")
        print(f"\nschema edit on A reached B's room within {time.monotonic() - edited:.2f} s (redis {redis})")
        await editor.wait_saved()
        await editor.close()
