"""What every layer shares: the databases, real servers, the end-of-run scan of server logs for secrets.

The layers: `pytest -m unit` runs the tests that need no database, server, Node or browser (seconds);
the rest run against SQLite and PostgreSQL (tests/support/postgres.py says what happens without one).
Heavy imports stay inside fixtures, so that collecting the unit layer stays quick.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support.live_server import LOG_FILES, SECRETS_SEEN, LiveServer, running, server_for

pytest_plugins = ["tests.support.postgres", "tests.support.layers"]

# What a unit test may not ask for: a database, a server, a browser (each also pulls in a database).
_NOT_UNIT = {"database_url", "live_server", "serve_in_process", "browser", "chromium"}


def pytest_configure(config: pytest.Config) -> None:
    # schemathesis' plugin (pyproject.toml keeps it from loading itself) costs a second of imports: only
    # runs that may collect its tests (tests/web/test_api_properties.py) load it.
    if config.getoption("markexpr") != "unit":
        config.pluginmanager.import_plugin("schemathesis.pytest.plugin")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-m unit` does not even import a test module that marks nothing `unit` (importing the others, with
    the app, schemathesis and hypothesis strategies behind them, would take longer than the unit tests):
    so a unit test is marked with the literal `pytest.mark.unit`, on its module or on itself."""
    if (
        config.getoption("markexpr") == "unit"
        and collection_path.suffix == ".py"
        and collection_path.name.startswith("test_")
        and "pytest.mark.unit" not in collection_path.read_text()
    ):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("unit") is not None:
            needs = _NOT_UNIT.intersection(getattr(item, "fixturenames", ()))
            if needs:
                raise pytest.UsageError(f"{item.nodeid} is marked unit but uses {', '.join(sorted(needs))}")


# --- database_url (persistence) -------------------------------------------------------------------------
# Every test that takes `database_url` runs twice: on a fresh SQLite file and on a fresh PostgreSQL
# database created for it (and dropped after) on the server of COLLAB_TEST_POSTGRES_URL.


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'collab.db'}"
        return
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from tests.support.postgres import POSTGRES_ADMIN_URL

    name = f"collab_test_{secrets.token_hex(6)}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # it answered when the run began (tests/support/postgres.py)
            pytest.fail(
                f"PostgreSQL for tests is unavailable at {POSTGRES_ADMIN_URL}: {exc!r}", pytrace=False
            )
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


# --- live servers ---------------------------------------------------------------------------------------


@pytest.fixture
async def live_server(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    """A real server on port 0, on SQLite and on PostgreSQL (through `database_url`): the app in this
    process, or a `collab serve` process for a test marked `server_process` (it kills or restarts it)."""
    async with running(server_for(request.node, database_url, tmp_path / "server.log")) as server:
        yield server


@pytest.fixture
async def admin_token(live_server: LiveServer) -> str:
    return await live_server.login()


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """After the whole run: no token or password used by any test appears in any server's log, also not
    percent-encoded (a request may spell a parameter, or a value, in escapes; the log keeps them). Under
    xdist each worker scans the logs of the servers its tests ran, against the secrets they saw."""
    yield
    leaks = []
    for path in LOG_FILES:
        if path.exists():
            text = path.read_text(errors="replace")
            text += "\n" + unquote(unquote(text))
            leaks += [f"{path}: ...{secret[:4]}" for secret in SECRETS_SEEN if secret in text]
    assert not leaks, f"secrets found in logs: {leaks}"
