"""Steps the browser tests share: signing in through the page, opening a record, reading the page."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, ViewportSize, expect

from tests.support.live_server import LiveServer

DEADLINE_MS = 10_000
SAVED = re.compile(r"^Saved ✓ · \d\d:\d\d$")
PHONE: ViewportSize = {"width": 375, "height": 812}


async def sign_in(
    context: BrowserContext, server: LiveServer, email: str, password: str, tenant: str = "default"
) -> Page:
    page = await context.new_page()
    await page.goto(server.base_url + "/")
    await fill_sign_in(page, email, password, tenant)
    await expect(page.get_by_test_id("record-list")).to_be_visible(timeout=DEADLINE_MS)
    return page


async def fill_sign_in(page: Page, email: str, password: str, tenant: str = "default") -> None:
    form = page.get_by_test_id("login-form")
    await form.get_by_label("Organisation").fill(tenant)
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Sign in").click()


async def open_record(page: Page, title: str) -> None:
    await page.get_by_test_id("record-list").get_by_role("link", name=title).click()
    # The server confirms what is stored right after the initial sync, so "Saved" also means "synced".
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_be_editable(timeout=DEADLINE_MS)


async def expect_rich_text(page: Page, key: str, text: str, within_ms: float = DEADLINE_MS) -> None:
    """Wait until the rich-text field `key` shows `text`. Its innerText, not its textContent: the others'
    carets are widgets inside the editor whose names and zero-width characters are hidden, as they are
    not part of the text (screen readers skip them too). Only for short texts: CodeMirror draws only the
    lines in view."""
    editor = page.get_by_test_id(f"field-{key}")
    await expect(editor).to_have_text(text, use_inner_text=True, timeout=within_ms)


async def type_at(page: Page, test_id: str, where: str, text: str) -> None:
    """Click into a control, move with the key `where` (e.g. End, Control+Home), then type `text`."""
    field = page.get_by_test_id(test_id)
    await field.click()
    await field.press(where)
    await field.press_sequentially(text)


async def horizontal_overflow(page: Page) -> int:
    overflow: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


async def local_databases(page: Page) -> list[str]:
    """The names of this origin's IndexedDB databases, as the page sees them."""
    names: list[str] = await page.evaluate("async () => (await indexedDB.databases()).map((db) => db.name)")
    return names


async def user_id(server: LiveServer, token: str) -> str:
    async with server.client(token) as http:
        response = await http.get("/api/auth/me")
    response.raise_for_status()
    found: str = response.json()["user"]["id"]
    return found
