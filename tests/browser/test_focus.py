"""Moving between pages of the app moves focus to the new page's main heading, so keyboard and
screen-reader users start at the new content; the first page of a load takes focus only to sign in."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, fill_sign_in, open_record
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_focus_lands_on_the_heading_of_each_new_page(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    page = await (await browser.new_context()).new_page()
    await page.goto(live_server.base_url + "/")
    await expect(page.get_by_label("Email")).to_be_focused(timeout=DEADLINE_MS)

    await fill_sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    list_heading = page.get_by_role("heading", level=1, name="Customers")
    await expect(list_heading).to_be_focused(timeout=DEADLINE_MS)
    page_errors.watch(page, "page")  # from here on: before signing in, the app's "who am I?" was a 401

    await open_record(page, "Panda")
    await expect(page.get_by_role("heading", level=1, name="Panda")).to_be_focused()
    # From the heading, Tab goes on into the page: the heading itself is not a Tab stop.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("heading", level=1, name="Panda")).not_to_be_focused()
    await expect(page.locator("main :focus")).to_have_count(1)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    sessions_heading = page.get_by_role("heading", level=1, name="Your sessions")
    await expect(sessions_heading).to_be_focused(timeout=DEADLINE_MS)
    await page.go_back()
    await expect(page.get_by_role("heading", level=1, name="Panda")).to_be_focused(timeout=DEADLINE_MS)

    # A reload is a first page: focus stays where the browser puts it.
    await page.reload()
    await expect(page.get_by_test_id("field-name")).to_be_editable(timeout=DEADLINE_MS)
    await expect(page.get_by_role("heading", level=1, name="Panda")).not_to_be_focused()
    assert page_errors.messages == []
