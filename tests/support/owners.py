"""What the database says about record owners (migration 0016), read by tests of several nodes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


async def scalar(database_url: str, sql: str, **params: Any) -> Any:
    """One value read on a connection of its own, as the database's owner (no tenant scope)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(sql), params)
    finally:
        await engine.dispose()


async def owner_of(database_url: str, record_id: str) -> str | None:
    """The node id the `record_owners` row names for the record, if any."""
    found = await scalar(database_url, "SELECT node_id FROM record_owners WHERE record_id = :r", r=record_id)
    return None if found is None else str(found)


async def lock_holder(database_url: str, record_id: str) -> int | None:
    """The PostgreSQL backend (pid) holding the record's advisory lock, if any."""
    from persistence.nodes import lock_key

    found = await scalar(
        database_url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND ((classid::bigint << 32) | objid::bigint) = (:key & x'ffffffffffffffff'::bigint)",
        key=lock_key(record_id),
    )
    return None if found is None else int(found)
