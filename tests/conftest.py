# --- database_url (persistence) -------------------------------------------------------------------------
# Every test that takes `database_url` runs twice: on a fresh SQLite file and on a fresh PostgreSQL
# database created for it (and dropped after) on the server of COLLAB_TEST_POSTGRES_URL.
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_ADMIN_URL = os.environ.get(
    "COLLAB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'collab.db'}"
        return
    name = f"collab_test_{secrets.token_hex(6)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # any failure means the tests cannot run
            pytest.fail(
                f"PostgreSQL for tests is unavailable at {POSTGRES_ADMIN_URL}: {exc!r}", pytrace=False
            )
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# --- end of database_url --------------------------------------------------------------------------------


# --- live servers ---------------------------------------------------------------------------------------
from tests.support.live_server import LOG_FILES, SECRETS_SEEN, LiveServer  # noqa: E402


@pytest.fixture
async def live_server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A real `collab serve` on port 0, on SQLite and on PostgreSQL (through `database_url`)."""
    server = LiveServer(database_url, tmp_path / "server.log")
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


@pytest.fixture
async def admin_token(live_server: LiveServer) -> str:
    return await live_server.login()


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """After the whole run: no token or password used by any test appears in any server's log, also not
    percent-encoded (a request may spell a parameter, or a value, in escapes; the log keeps them)."""
    yield
    leaks = []
    for path in LOG_FILES:
        if path.exists():
            text = path.read_text(errors="replace")
            text += "\n" + unquote(unquote(text))
            leaks += [f"{path}: ...{secret[:4]}" for secret in SECRETS_SEEN if secret in text]
    assert not leaks, f"secrets found in logs: {leaks}"
