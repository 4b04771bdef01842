"""Every collection in the app: a sidebar lists the collections the user may read (one row on a phone), each
has its own address, list and "New record"; a record's back link returns to its own collection; `#/` opens
where the user left; the tab names the record or the collection; no "null" or "undefined" shows as text."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, SAVED, horizontal_overflow, sign_in
from tests.browser.test_records_and_admin import check_phone_layout
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

DESKTOP: ViewportSize = {"width": 1200, "height": 800}
VIEWER_EMAIL = "vera@example.com"
VIEWER_PASSWORD = "vera-password-1"


async def create_people(server: LiveServer, token: str) -> None:
    fields = [
        {"key": "full_name", "label": "Full name", "type": "text"},
        {"key": "email", "label": "Email", "type": "text"},
    ]
    async with server.client(token) as http:
        response = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": fields}
        )
    response.raise_for_status()


def sidebar(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Collections")


async def expect_current(page: Page, label: str) -> None:
    """The sidebar marks `label`'s collection, and only it."""
    await expect(sidebar(page).get_by_role("link", name=label, exact=True)).to_have_attribute(
        "aria-current", "page", timeout=DEADLINE_MS
    )
    await expect(sidebar(page).locator("[aria-current]")).to_have_count(1)


async def assert_no_null_text(page: Page) -> None:
    """Neither as text shown nor in the page's text (hidden parts, attributes a screen reader reads)."""
    text = await page.locator("body").inner_text()
    assert not re.search(r"\b(null|undefined)\b", text), text
    html = await page.locator("body").evaluate("(body) => body.outerHTML")
    assert not re.search(r"\b(null|undefined)\b", html), html


async def test_sidebar_addresses_back_links_and_tab_titles(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_people(live_server, admin_token)
    await live_server.create_record(admin_token, {"name": "Panda"})
    await live_server.create_record(admin_token, {"full_name": "Grace Hopper"}, collection="people")
    page = await sign_in(
        await browser.new_context(viewport=DESKTOP), live_server, ADMIN_EMAIL, ADMIN_PASSWORD
    )
    page_errors.watch(page, "page")
    records = page.get_by_test_id("record-list").get_by_test_id("record")
    titles = page.get_by_test_id("record-list").get_by_role("link")

    # No collection visited yet: the first one, at its own address.
    await expect(sidebar(page).get_by_role("link")).to_have_text(["Customers", "People"], timeout=DEADLINE_MS)
    await expect_current(page, "Customers")
    await expect(page).to_have_url(re.compile(r"#/c/customers$"))
    await expect(page).to_have_title("Customers · collab")
    await expect(titles).to_have_text(["Panda"], timeout=DEADLINE_MS)

    await sidebar(page).get_by_role("link", name="People").click()
    await expect(page).to_have_url(re.compile(r"#/c/people$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("People")
    await expect(titles).to_have_text(["Grace Hopper"], timeout=DEADLINE_MS)
    await expect_current(page, "People")
    await expect(page).to_have_title("People · collab")

    # "New record" makes a People record, named after the collection.
    await page.get_by_test_id("new-record").click()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-full_name")).to_have_value("New person")
    await expect(page).to_have_title("New person · collab")
    await expect_current(page, "People")
    back = page.get_by_role("link", name="← People")
    await expect(back).to_have_attribute("href", "#/c/people")
    await back.click()
    await expect(page).to_have_url(re.compile(r"#/c/people$"))
    await expect(records).to_have_count(2, timeout=DEADLINE_MS)

    # A record's tab is named after the record.
    await page.get_by_test_id("record-list").get_by_role("link", name="Grace Hopper").click()
    await expect(page).to_have_title("Grace Hopper · collab", timeout=DEADLINE_MS)
    await expect(page.get_by_role("link", name="← People")).to_be_visible()

    # `#/` opens where the user left: People, not the first collection.
    await page.goto(live_server.base_url + "/#/")
    await page.reload()
    await expect(page).to_have_url(re.compile(r"#/c/people$"), timeout=DEADLINE_MS)
    await expect(page.get_by_role("heading", level=1)).to_have_text("People")
    await expect(records).to_have_count(2, timeout=DEADLINE_MS)
    await expect_current(page, "People")
    assert page_errors.messages == []


async def test_phone_has_one_row_of_collections(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_people(live_server, admin_token)
    # Long labels: on a phone they scroll within the row instead of widening the page or wrapping.
    for name in ("projects", "assignments", "invoices", "vehicles"):
        async with live_server.client(admin_token) as http:
            response = await http.post("/api/collections", json={
                "name": name, "label": f"{name.capitalize()} and more",
                "fields": [{"key": "title", "label": "Title", "type": "text"}],
            })  # fmt: skip
        response.raise_for_status()
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    links = sidebar(page).get_by_role("link")
    await expect(links).to_have_count(6, timeout=DEADLINE_MS)
    tops = {round((await links.nth(i).bounding_box() or {"y": -1.0})["y"]) for i in range(6)}
    assert len(tops) == 1, tops  # one row
    box = await sidebar(page).bounding_box()
    assert box is not None and box["height"] < 70, box
    await check_phone_layout(page)

    await links.filter(has_text="Vehicles").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Vehicles and more", timeout=DEADLINE_MS)
    await expect_current(page, "Vehicles and more")
    assert await horizontal_overflow(page) <= 0
    assert page_errors.messages == []


async def test_no_null_or_undefined_as_text(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record_id = await live_server.create_record(admin_token, {"name": "Panda"})
    await live_server.add_user(VIEWER_EMAIL, "viewer", password=VIEWER_PASSWORD)
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    page_errors.watch(page, "page")
    await page.goto(live_server.base_url + "/")
    await expect(page.get_by_test_id("login-form")).to_be_visible(timeout=DEADLINE_MS)
    await assert_no_null_text(page)

    page = await sign_in(context, live_server, VIEWER_EMAIL, VIEWER_PASSWORD)
    await assert_no_null_text(page)
    await page.goto(f"{live_server.base_url}/#/records/{record_id}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("read-only")).to_be_visible()
    await assert_no_null_text(page)
    await expect(page).to_have_title("Panda · collab")
