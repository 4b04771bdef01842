"""Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by Python Playwright.

Playwright's own browser downloads are never used. A missing Chromium or an unbuilt bundle fails the
tests with what to run, rather than skipping them: CI must not go green without having looked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

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


@pytest.fixture
def chromium() -> Path:
    """The browser binary, once the page it is to test has been built."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} is missing: cd web && npm ci && npm run build", pytrace=False)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


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
