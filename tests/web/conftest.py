"""The app in this process, reached through httpx's ASGI transport: HTTP checks without a server process.

`serve_in_process(**settings)` runs the app's lifespan (database migrated, first-start admin, writer,
registry) on the test's database (SQLite and PostgreSQL, through `database_url`) and hands out clients
that can each claim their own source address. Its log lines go, through the production redaction, to a
file that the end-of-run scan for secrets reads (tests/conftest.py), like a live server's.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.hashing import cheap_password_hashing
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN
from tests.support.server_log import server_log

if TYPE_CHECKING:  # the app is imported when a test first serves it, not when the unit layer is collected
    from collab.settings import Settings
    from server.app import CollabApp
    from web.services import Services

USER_PASSWORD = "user-password-1"


class InProcess:
    def __init__(self, app: CollabApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def client(self, token: str | None = None, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)

    async def login(
        self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, address: str = "127.0.0.1"
    ) -> str:
        async with self.client(address=address) as http:
            response = await http.post(
                "/api/auth/login", json={"tenant": "default", "email": email, "password": password}
            )
            response.raise_for_status()
        token: str = response.json()["token"]
        SECRETS_SEEN.add(token)
        return token

    async def add_user(self, admin_token: str, email: str, role: str) -> str:
        """A user made through the admin API; returns a fresh session's token."""
        async with self.client(admin_token) as http:
            created = await http.post(
                "/api/admin/users", json={"email": email, "role": role, "password": USER_PASSWORD}
            )
            assert created.status_code == 201, created.text
        return await self.login(email, USER_PASSWORD)


@contextlib.asynccontextmanager
async def in_process(database_url: str, log_path: Path, **overrides: Any) -> AsyncIterator[InProcess]:
    from collab.settings import Settings
    from server.app import create_app

    settings = Settings(database_url=database_url, bootstrap_admin_password=ADMIN_PASSWORD, **overrides)
    app = create_app(settings)
    with server_log(log_path), cheap_password_hashing():
        async with app.http_app.router.lifespan_context(app.http_app):
            yield InProcess(app, settings)


@pytest.fixture
def serve_in_process(
    database_url: str, tmp_path: Path
) -> Callable[..., contextlib.AbstractAsyncContextManager[InProcess]]:
    return functools.partial(in_process, database_url, tmp_path / "in-process.log")
