"""The PostgreSQL the tests run against, and what a run does when none answers (a pytest plugin).

Every database test runs on SQLite and on PostgreSQL (its `postgresql` parameter). Locally, when no
PostgreSQL answers at COLLAB_TEST_POSTGRES_URL, those variants are deselected and the run says so in one
line at its end. CI sets COLLAB_REQUIRE_POSTGRES=1 (.ci/run): then the run stops before any test instead.
A server that answers but refuses what a test asks still fails that test (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

POSTGRES_ADMIN_URL = os.environ.get(
    "COLLAB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRED = os.environ.get("COLLAB_REQUIRE_POSTGRES", "") not in ("", "0")
_CONNECT_SECONDS = 3.0
_PROBLEM = pytest.StashKey[str | None]()
_LEFT_OUT = pytest.StashKey[int]()


def uses_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


def problem(config: pytest.Config) -> str | None:
    """Why no PostgreSQL can be used (None when one answers); asked once per run."""
    if _PROBLEM not in config.stash:
        config.stash[_PROBLEM] = asyncio.run(_probe())
    return config.stash[_PROBLEM]


async def _probe() -> str | None:
    engine = create_async_engine(
        POSTGRES_ADMIN_URL, poolclass=NullPool, connect_args={"timeout": _CONNECT_SECONDS}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # refused, unresolvable, timed out, authentication: none of it is usable
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        await engine.dispose()
    return None


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRED and not hasattr(config, "workerinput"):  # an xdist worker: its controller asked already
        reason = problem(config)
        if reason is not None:
            raise pytest.UsageError(f"COLLAB_REQUIRE_POSTGRES is set, but {POSTGRES_ADMIN_URL}: {reason}")


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` chose: only what is left may need PostgreSQL
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(uses_postgres(item) for item in items):
        return
    reason = problem(config)
    if reason is None:
        return
    if REQUIRED:
        raise pytest.UsageError(f"COLLAB_REQUIRE_POSTGRES is set, but {POSTGRES_ADMIN_URL}: {reason}")
    left_out = [item for item in items if uses_postgres(item)]
    config.hook.pytest_deselected(items=left_out)
    items[:] = [item for item in items if not uses_postgres(item)]
    config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if _PROBLEM not in config.stash and hasattr(config, "workerinput"):
        return
    if _PROBLEM not in config.stash and not getattr(config.option, "numprocesses", None):
        return  # nothing in this run needed PostgreSQL
    reason = problem(config)  # under xdist the workers collected; the controller asks for itself
    if reason is not None:
        count = config.stash.get(_LEFT_OUT, None)
        variants = f"{count} postgresql variants" if count is not None else "the postgresql variants"
        terminalreporter.write_line(
            f"PostgreSQL: none answers at {POSTGRES_ADMIN_URL} ({reason}); {variants} not run "
            "(COLLAB_REQUIRE_POSTGRES=1 makes this an error)",
            yellow=True,
        )
