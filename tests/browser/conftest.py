"""Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by Python Playwright.

Playwright's own browser downloads are never used. A missing Chromium or an unbuilt bundle fails the
tests with what to run, rather than skipping them: CI must not go green without having looked.

One Chromium serves the whole run (a launch costs about a second per test), so the browser tests run on
the session's event loop (`pytestmark = pytest.mark.asyncio(loop_scope="session")` in each module), and so
do the servers they drive (`live_server` and `admin_token` below).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.support.live_server import LiveServer, running, server_for

CHROMIUM = Path("/usr/bin/chromium")
BUNDLE = Path(__file__).resolve().parents[2] / "web" / "static" / "dist" / "app.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser binary, once the page it is to test has been built."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} is missing: cd web && npm ci && npm run build", pytrace=False)
    return CHROMIUM


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium_process(chromium: Path) -> AsyncIterator[Browser]:
    """One Chromium for the whole run (a launch costs about a second); each test gets contexts of its own."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium_process: Browser) -> AsyncIterator[Browser]:
    """The shared Chromium; the contexts (profiles: cookies, storage, pages) a test opened are closed after
    it, so nothing of one test is left for the next."""
    yield chromium_process
    for context in chromium_process.contexts:
        await context.close()


# The tests run on the session's loop; a server process is driven from the loop that started it.
@pytest_asyncio.fixture(loop_scope="session")
async def live_server(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    async with running(server_for(request.node, database_url, tmp_path / "server.log")) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def admin_token(live_server: LiveServer) -> str:
    return await live_server.login()


class PageErrors:
    """Uncaught exceptions and console errors of pages, so a test can require that there were none."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page: Page, name: str) -> None:
        page.on("pageerror", lambda error: self.messages.append(f"{name}: uncaught {error}"))
        page.on("console", lambda message: self._console(name, message))

    def _console(self, name: str, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.messages.append(f"{name}: console.{message.type}: {message.text}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()
