"""Offline from a cold start: the service worker keeps the app shell, so a reload without a network shows
the app, the records kept on this device (which open and accept edits), and makes new records, each
created exactly once when the network is back, even when the first attempt's answer is lost."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

OFFLINE_NOTE = "Offline — showing records on this device"


async def start_offline(context: BrowserContext, page: Page) -> None:
    """Once the app shell is kept (the service worker active), lose the network and start the app again."""
    active = await page.evaluate(
        """(deadline) => new Promise((resolve) => {
          navigator.serviceWorker.ready.then(() => resolve(true))
          setTimeout(() => resolve(false), deadline)
        })""",
        DEADLINE_MS,
    )
    assert active, "no service worker took over"
    await context.set_offline(True)
    await page.reload()
    await expect(page.get_by_test_id("offline-note")).to_contain_text(OFFLINE_NOTE, timeout=DEADLINE_MS)


async def stored(live_server: LiveServer, token: str) -> list[dict[str, object]]:
    async with live_server.client(token) as http:
        response = await http.get("/api/records", params={"collection": "customers"})
    response.raise_for_status()
    records: list[dict[str, object]] = response.json()["records"]
    return records


def without_offline_noise(messages: list[str]) -> list[str]:
    # The browser logs each request that failed offline (or whose answer was cut off on purpose).
    return [m for m in messages if not re.search(r"net::ERR_(INTERNET_DISCONNECTED|FAILED)", m)]


async def test_a_reload_offline_shows_the_app_and_the_kept_records_which_take_edits(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    await live_server.create_record(admin_token, {"name": "Never opened here"})
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    await page.get_by_role("link", name="← Customers").click()
    await expect(page.get_by_test_id("record-list").get_by_test_id("record")).to_have_count(2)

    await start_offline(context, page)
    kept = page.get_by_test_id("record-list").get_by_test_id("record")
    await expect(kept).to_have_count(1)  # only what this device keeps
    await expect(kept).to_contain_text("Panda")
    await kept.get_by_role("link", name="Panda").click()
    revenue = page.get_by_test_id("field-revenue")
    await expect(revenue).to_have_value("1000", timeout=DEADLINE_MS)
    await expect(revenue).to_be_editable()
    await revenue.fill("2500")
    indicator = page.get_by_test_id("save-state")
    await expect(indicator).to_have_text("Offline — 1 change kept on this device")

    await context.set_offline(False)
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == {
            "name": "Panda",
            "revenue": 2500,
        }
    assert without_offline_noise(page_errors.messages) == []


async def create_offline(context: BrowserContext, page: Page) -> Page:
    """Start offline, make a record with "New record" and type into it."""
    await start_offline(context, page)
    await page.get_by_test_id("new-record").click()
    name = page.get_by_test_id("field-name")
    await expect(name).to_have_value("New customer", timeout=DEADLINE_MS)
    await expect(name).to_be_editable()
    await name.fill("Made offline")
    await page.get_by_test_id("field-revenue").fill("42")
    await expect(page.get_by_test_id("save-state")).to_have_text(
        re.compile(r"^Offline — \d+ changes kept on this device$")
    )
    # Kept like any record: the list offline shows it, and it opens again.
    await page.get_by_role("link", name="← Customers").click()
    kept = page.get_by_test_id("record-list").get_by_test_id("record")
    await expect(kept).to_have_count(1)
    await expect(kept).to_contain_text("not on the server yet")
    await kept.get_by_role("link", name="Made offline").click()
    await expect(page.get_by_test_id("field-revenue")).to_have_value("42", timeout=DEADLINE_MS)
    return page


async def test_a_record_made_offline_is_created_once_with_what_was_typed(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await create_offline(context, page)
    assert await stored(live_server, admin_token) == []

    await context.set_offline(False)
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    records = await stored(live_server, admin_token)
    assert [record["fields"] for record in records] == [{"name": "Made offline", "revenue": 42}]
    assert page.url.endswith(f"#/records/{records[0]['id']}")
    # Online again, the list is the server's: the record once.
    await page.get_by_role("link", name="← Customers").click()
    listed = page.get_by_test_id("record-list").get_by_test_id("record")
    await expect(listed).to_have_count(1, timeout=DEADLINE_MS)
    await expect(listed).to_contain_text("Made offline")
    assert without_offline_noise(page_errors.messages) == []


async def test_a_create_whose_answer_was_lost_still_makes_one_record(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await create_offline(context, page)

    # The first create reaches the server, which makes the record; its answer never reaches the page.
    creates: list[int] = []

    async def lose_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        creates.append(response.status)
        if len(creates) == 1:
            await route.abort("failed")
        else:
            await route.fulfill(response=response)

    await page.route(re.compile(r"/api/records$"), lose_first_answer)
    await context.set_offline(False)
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert creates[:2] == [201, 200]  # made by the first attempt, found by the retry
    records = await stored(live_server, admin_token)
    assert [record["fields"] for record in records] == [{"name": "Made offline", "revenue": 42}]
    assert without_offline_noise(page_errors.messages) == []


async def test_a_record_made_offline_whose_page_is_closed_is_sent_from_the_list(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await create_offline(context, page)
    await page.get_by_role("link", name="← Customers").click()
    await expect(page.get_by_test_id("offline-note")).to_be_visible()

    await context.set_offline(False)
    # The list is the server's again; the record arrives in it, created and then filled from this device.
    await expect(page.get_by_test_id("offline-note")).to_be_hidden(timeout=DEADLINE_MS)
    listed = page.get_by_test_id("record-list").get_by_test_id("record")
    await expect(listed).to_have_count(1, timeout=DEADLINE_MS)
    await expect(listed).to_contain_text("Made offline", timeout=DEADLINE_MS)
    await expect(listed).not_to_contain_text("not on the server yet")
    records = await stored(live_server, admin_token)
    assert [record["fields"] for record in records] == [{"name": "Made offline", "revenue": 42}]
    await listed.get_by_role("link", name="Made offline").click()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert without_offline_noise(page_errors.messages) == []
