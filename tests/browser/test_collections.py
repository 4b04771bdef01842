"""The Collections page (admins): the sample collection with its fields, defining a new one with a text
and a select field, the server's 422 shown next to the field it is about; editors have no such page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, sign_in
from tests.browser.test_records_and_admin import check_phone_layout
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_admin_lists_and_creates_collections(
    live_server: LiveServer, browser: Browser, page_errors: PageErrors
) -> None:
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()

    collections = page.get_by_test_id("collections").get_by_test_id("collection")
    await expect(collections).to_have_count(1, timeout=DEADLINE_MS)
    customers = collections.filter(has_text="customers")
    for key, label, kind in (("name", "Name", "text"), ("revenue", "Revenue", "number"),
                             ("stage", "Stage", "select (lead, prospect, customer)")):  # fmt: skip
        row = customers.get_by_test_id("collection-field").filter(has_text=key).first
        await expect(row).to_contain_text(label)
        await expect(row).to_contain_text(kind)
    await check_phone_layout(page)

    form = page.get_by_test_id("add-collection")
    await form.get_by_label("Name (lower-case, e.g. people)").fill("people")
    await form.get_by_label("Label", exact=True).first.fill("People")
    first = form.get_by_test_id("field-row").nth(0)
    await first.get_by_label("Key").fill("Full Name")  # upper case and a space: the server refuses it
    await first.get_by_label("Label").fill("Full name")
    await form.get_by_role("button", name="Add field").click()
    second = form.get_by_test_id("field-row").nth(1)
    await second.get_by_label("Key").fill("status")
    await second.get_by_label("Label").fill("Status")
    await expect(second.get_by_label("Options (comma-separated)")).to_be_hidden()
    await second.get_by_label("Type").select_option("select")
    await second.get_by_label("Options (comma-separated)").fill("new, active, closed")
    await check_phone_layout(page)
    await form.get_by_role("button", name="Create collection").click()

    await expect(first).to_contain_text("Field 1: key: lower-case letters", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("collection-problem")).to_be_visible()
    await expect(collections).to_have_count(1)

    await first.get_by_label("Key").fill("full_name")
    await form.get_by_role("button", name="Create collection").click()
    await expect(page.get_by_test_id("created-collection")).to_contain_text(
        "Created the collection People.", timeout=DEADLINE_MS
    )
    await expect(collections).to_have_count(2)
    people = collections.filter(has_text="people")
    await expect(people.get_by_test_id("collection-field")).to_have_count(2)
    await expect(people.get_by_test_id("collection-field").nth(0)).to_contain_text("full_name")
    await expect(people.get_by_test_id("collection-field").nth(1)).to_contain_text(
        "select (new, active, closed)"
    )
    await check_phone_layout(page)

    await page.reload()  # stored on the server, not just drawn
    await expect(collections).to_have_count(2, timeout=DEADLINE_MS)
    # The refused definition is the one failed request Chromium reports; nothing else may go wrong.
    assert [m for m in page_errors.messages if "status of 422" not in m] == []


async def test_editor_has_no_collections_page(live_server: LiveServer, browser: Browser) -> None:
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    page = await sign_in(
        await browser.new_context(viewport=PHONE), live_server, "bob@example.com", "bob-password-1"
    )
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Sessions")).to_be_visible(timeout=DEADLINE_MS)
    await expect(nav.get_by_role("link", name="Collections")).to_have_count(0)
    await page.goto(live_server.base_url + "/#/admin/collections")
    await expect(page.get_by_role("alert")).to_have_text("Not found.", timeout=DEADLINE_MS)
