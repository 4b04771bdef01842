"""The application services as the composition root builds them, without HTTP: `stack` runs the app's
lifespan (database migrated, first-start admin, writer, feed, registry) on the test's database, SQLite and
PostgreSQL, and hands out its services and principals to call them as."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from auth.principal import Principal
from collab.live.channel import ChannelClosed
from collab.services.deferred import Deferred
from collab.services.users import NewUser
from collab.settings import Settings
from server.app import create_app
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD
from web.services import Services

PASSWORD = "user-password-1"
T = TypeVar("T")


@dataclass
class Stack:
    services: Services
    admin: Principal
    tokens: dict[str, str] = field(default_factory=dict)  # session id -> token

    async def user(self, email: str, role: str) -> Principal:
        """A new user of the admin's tenant, logged in."""
        await self.services.users.create(self.admin, given(NewUser(email, role, password=PASSWORD)), ip="")
        token, principal = await self.services.sessions.login(
            "default", email, PASSWORD, user_agent="", ip=""
        )
        self.tokens[principal.session_id] = token
        return principal


def given(value: T) -> Deferred[T]:
    """A use-case's input, as a route passes it (read when the use-case asks)."""

    async def read() -> T:
        return value

    return read


async def never_read() -> Any:
    """The input of a caller who must be refused before it is read."""
    raise AssertionError("the input of a refused caller was read")


class RecordingChannel:
    """A live connection's far end that keeps how it was closed."""

    def __init__(self) -> None:
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def send(self, message: bytes) -> None:
        if self.closed.done():
            raise ChannelClosed()

    async def recv(self) -> bytes:
        message = await self._incoming.get()
        if message is None:
            raise ChannelClosed()
        return message

    async def close(self, code: int, reason: str = "") -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))
            self._incoming.put_nowait(None)


@contextlib.asynccontextmanager
async def running(database_url: str, **overrides: Any) -> AsyncIterator[Stack]:
    settings = Settings(database_url=database_url, bootstrap_admin_password=ADMIN_PASSWORD, **overrides)
    app = create_app(settings)
    async with app.http_app.router.lifespan_context(app.http_app):
        services: Services = app.state.services
        _, admin = await services.sessions.login("default", ADMIN_EMAIL, ADMIN_PASSWORD, user_agent="", ip="")
        yield Stack(services, admin)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running(database_url) as running_stack:
        yield running_stack
