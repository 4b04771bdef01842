"""PostgreSQL's pool at its limit: a request that finds every connection busy for the pool's time-out gets
503 with Retry-After (try again), never a 500, and the server serves again once a connection is free."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from persistence.database import Database, PoolSettings
from persistence.errors import is_unavailable
from tests.support.polling import poll_until
from tests.web.conftest import InProcess

Serve = Callable[..., AbstractAsyncContextManager[InProcess]]


def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pool settings are PostgreSQL's (SQLite's connections are files)")


async def test_a_session_waits_for_the_pool_then_fails_as_unavailable(database_url: str) -> None:
    _postgres_only(database_url)
    async with Database(database_url, PoolSettings(size=1, overflow=0, timeout_seconds=0.2)) as database:
        async with database.session() as holder:
            await holder.execute(text("SELECT 1"))  # checks out the pool's only connection
            async with database.session() as waiting:
                with pytest.raises(PoolTimeout) as raised:
                    await waiting.execute(text("SELECT 1"))
            assert is_unavailable(raised.value)  # the update writer retries it rather than refusing a write
        async with database.session() as after:
            assert await after.scalar(text("SELECT 1")) == 1


async def test_a_request_at_the_pool_limit_gets_503_then_the_server_recovers(
    database_url: str, serve_in_process: Serve
) -> None:
    _postgres_only(database_url)
    async with serve_in_process(
        database_pool_size=1, database_pool_overflow=0, database_pool_timeout_seconds=0.3
    ) as app:
        token = await app.login()
        async with Database(database_url) as outside, outside.session() as lock:
            # Every authenticated request reads `sessions`; while it is locked the first request holds the
            # pool's one connection, waiting.
            await lock.execute(text("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"))
            async with app.client(token) as http:
                first = asyncio.create_task(http.get("/api/auth/me"))
                await poll_until(lambda: _waiting_on_lock(outside), bool, "a request waiting on the lock")
                second = await http.get("/api/collections")
                assert second.status_code == 503, second.text
                assert second.json()["error"] == "unavailable"
                assert second.headers["Retry-After"] == "1"
                await lock.rollback()  # releases the table: the first request completes
                assert (await first).status_code == 200
                assert (await http.get("/api/collections")).status_code == 200


async def _waiting_on_lock(database: Database) -> int:
    async with database.session() as session:
        waiting: Any = await session.scalar(text(_WAITING))
    return int(waiting)


_WAITING = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)
