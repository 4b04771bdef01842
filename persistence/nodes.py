"""Rows of a deployment of several nodes (migration 0016): where each node listens, who owns which record.

Every function runs on the caller's connection in autocommit mode: the ownership's own connection, the one
that holds the advisory locks (collab/cluster/ownership.py). PostgreSQL only.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def lock_key(record_id: str) -> int:
    """The record's advisory-lock key: a stable signed 64-bit hash (`pg_try_advisory_lock(bigint)`)."""
    return int.from_bytes(hashlib.blake2b(record_id.encode(), digest_size=8).digest(), "big", signed=True)


async def register(connection: AsyncConnection, node_id: str, address: str) -> None:
    """This node serves at `address`; rows saying it owned records come from an earlier life: gone."""
    await connection.execute(
        text(
            "INSERT INTO nodes (node_id, address, started_at, seen_at) VALUES (:node, :address, now(), now())"
            " ON CONFLICT (node_id) DO UPDATE SET address = excluded.address,"
            " started_at = excluded.started_at, seen_at = excluded.seen_at"
        ),
        {"node": node_id, "address": address},
    )
    await connection.execute(text("DELETE FROM record_owners WHERE node_id = :node"), {"node": node_id})


async def heartbeat(connection: AsyncConnection, node_id: str) -> None:
    await connection.execute(
        text("UPDATE nodes SET seen_at = now() WHERE node_id = :node"), {"node": node_id}
    )


async def unregister(connection: AsyncConnection, node_id: str) -> None:
    await connection.execute(text("DELETE FROM record_owners WHERE node_id = :node"), {"node": node_id})
    await connection.execute(text("DELETE FROM nodes WHERE node_id = :node"), {"node": node_id})


async def try_lock(connection: AsyncConnection, record_id: str) -> bool:
    """Take the record's session-level advisory lock if no other session holds it (re-entrant within this
    one: each success must be matched by one `unlock`)."""
    got = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(record_id)})
    return bool(got)


async def unlock(connection: AsyncConnection, record_id: str) -> None:
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(record_id)})


async def set_owner(connection: AsyncConnection, record_id: str, node_id: str) -> None:
    await connection.execute(
        text(
            "INSERT INTO record_owners (record_id, node_id, since) VALUES (:record, :node, now())"
            " ON CONFLICT (record_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since"
        ),
        {"record": record_id, "node": node_id},
    )


async def clear_owner(connection: AsyncConnection, record_id: str, node_id: str) -> None:
    await connection.execute(
        text("DELETE FROM record_owners WHERE record_id = :record AND node_id = :node"),
        {"record": record_id, "node": node_id},
    )


async def owner_address(connection: AsyncConnection, record_id: str) -> tuple[str, str] | None:
    """(node id, address) of the node the row names as the record's owner, if any."""
    row = (
        await connection.execute(
            text(
                "SELECT n.node_id, n.address FROM record_owners o JOIN nodes n ON n.node_id = o.node_id"
                " WHERE o.record_id = :record"
            ),
            {"record": record_id},
        )
    ).first()
    return None if row is None else (row[0], row[1])
