"""`/readyz`: ready only with the database answering at the current schema; one word per check, no detail."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from collab.services.health import NOT_MIGRATED, OK, UNREACHABLE, Health
from persistence.database import Database
from tests.web.conftest import InProcess

Serve = Callable[..., AbstractAsyncContextManager[InProcess]]


async def test_a_serving_server_is_ready_and_says_why_not_when_it_is_not(serve_in_process: Serve) -> None:
    async with serve_in_process() as served:
        async with served.client() as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "checks": {"database": OK}}
        assert ready.headers["cache-control"] == "no-store"

        # The same server once its database stops answering: 503, and the reason stays in the log.
        async with Database("postgresql+asyncpg://nobody@127.0.0.1:1/gone") as gone:
            services = served.app.state.services
            served.app.state.services = dataclasses.replace(services, health=Health(gone, 1.0))
            try:
                async with served.client() as http:
                    down = await http.get("/readyz")
            finally:
                served.app.state.services = services
        assert down.status_code == 503
        assert down.json() == {"status": "not ready", "checks": {"database": UNREACHABLE}}
        assert "127.0.0.1" not in down.text and "nobody" not in down.text


async def test_a_database_not_at_the_current_schema_is_not_ready(tmp_path: Path) -> None:
    async with Database(f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}") as database:
        readiness = await Health(database).readiness()
    assert not readiness.ready and readiness.checks == {"database": NOT_MIGRATED}


async def test_a_configured_redis_is_checked_too(
    serve_in_process: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        serve_in_process(redis_url="redis://127.0.0.1:6379/0", secret_key="k" * 32) as served,
        served.client() as http,
    ):
        ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": OK, "redis": OK}

    unreachable = serve_in_process(redis_url="redis://secret-user:hunter2@127.0.0.1:1/0", secret_key="k" * 32)
    with caplog.at_level(logging.WARNING, logger="server.app"):
        async with unreachable as served, served.client() as http:
            down = await http.get("/readyz")
    # It started anyway (one node needs nothing from Redis) and said so, naming no host or password.
    started = [r.getMessage() for r in caplog.records if r.name == "server.app"]
    assert any("starting without Redis" in message for message in started), started
    assert not any("hunter2" in message or "127.0.0.1" in message for message in started)
    assert down.status_code == 503
    assert down.json() == {"status": "not ready", "checks": {"database": OK, "redis": UNREACHABLE}}
    assert "127.0.0.1" not in down.text and "hunter2" not in down.text
