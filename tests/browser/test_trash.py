"""A record deleted while someone has it open: their page says "Deleted by X · Undo", and recovers by itself
when the record is restored (from the trash page by someone else, or by their own Undo); the trash page
lists who deleted what; Duplicate opens a copy."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, SAVED, horizontal_overflow, sign_in, type_at
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "user-password-1"


def unexpected(page_errors: PageErrors) -> list[str]:
    """Page errors, but the 404s of the deleted record's page asking whether the record is back yet."""
    return [m for m in page_errors.messages if "status of 404" not in m]


async def me(server: LiveServer, token: str) -> dict[str, Any]:
    async with server.client(token) as http:
        user: dict[str, Any] = (await http.get("/api/auth/me")).json()["user"]
        return user


async def open_record_at(page: Page, server: LiveServer, record: str) -> None:
    await page.goto(f"{server.base_url}/#/records/{record}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_be_editable(timeout=DEADLINE_MS)


async def stored_name(server: LiveServer, token: str, record: str) -> Any:
    async with server.client(token) as http:
        return (await http.get(f"/api/records/{record}")).json()["fields"].get("name")


async def test_deleted_while_open_then_restored_from_the_trash_page(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    await live_server.add_user("ann@example.com", "editor", PASSWORD)
    bob_token = await live_server.add_user("bob@example.com", "editor", PASSWORD)
    bob = await me(live_server, bob_token)
    ann_page = await sign_in(await browser.new_context(), live_server, "ann@example.com", PASSWORD)
    page_errors.watch(ann_page, "ann")
    await open_record_at(ann_page, live_server, record)
    bob_page = await sign_in(
        await browser.new_context(viewport=PHONE), live_server, "bob@example.com", PASSWORD
    )
    page_errors.watch(bob_page, "bob")
    await bob_page.goto(f"{live_server.base_url}/#/c/customers/trash")
    empty = bob_page.get_by_test_id("trash-empty")
    await expect(empty).to_have_text("Nothing in the trash", timeout=DEADLINE_MS)

    async with live_server.client(bob_token) as http:
        assert (await http.delete(f"/api/records/{record}")).status_code == 204
    banner = ann_page.get_by_test_id("deleted-banner")
    await expect(banner).to_be_visible(timeout=DEADLINE_MS)
    await expect(ann_page.get_by_test_id("deleted-by")).to_have_text(f"Deleted by {bob['name']} · ")
    await expect(banner.get_by_role("button", name="Undo")).to_be_visible()
    await expect(ann_page.get_by_test_id("field-name")).not_to_be_editable()

    # The open trash page follows the feed: the deleted record appears there by itself.
    row = bob_page.get_by_test_id("trash-row")
    await expect(row).to_have_count(1, timeout=DEADLINE_MS)
    await expect(empty).to_be_hidden()
    await expect(row).to_contain_text("Panda")
    await expect(row).to_contain_text(f"Deleted by {bob['name']}")
    await expect(bob_page.get_by_test_id("retention")).to_have_text(
        "Deleted records are purged after 30 days."
    )
    assert await horizontal_overflow(bob_page) <= 0  # a phone: nothing scrolls sideways
    await row.get_by_role("button", name="Restore Panda").click()
    await expect(bob_page.get_by_test_id("trash-empty")).to_have_text(
        "Nothing in the trash", timeout=DEADLINE_MS
    )

    # Ann's page recovers by itself: the banner goes, the socket is back, and her next edit is stored.
    await expect(banner).to_be_hidden(timeout=DEADLINE_MS)
    await expect(ann_page.get_by_test_id("field-name")).to_be_editable(timeout=DEADLINE_MS)
    await type_at(ann_page, "field-name", "End", " bear")
    await expect(ann_page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert await stored_name(live_server, admin_token, record) == "Panda bear"
    assert unexpected(page_errors) == []


async def test_undo_on_the_page_brings_it_back_and_viewers_get_no_undo(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Koala"})
    await live_server.add_user("ann@example.com", "editor", PASSWORD)
    await live_server.add_user("vic@example.com", "viewer", PASSWORD)
    ann_page = await sign_in(await browser.new_context(), live_server, "ann@example.com", PASSWORD)
    vic_page = await sign_in(await browser.new_context(), live_server, "vic@example.com", PASSWORD)
    page_errors.watch(ann_page, "ann")
    page_errors.watch(vic_page, "vic")
    await open_record_at(ann_page, live_server, record)
    await vic_page.goto(f"{live_server.base_url}/#/records/{record}")
    await expect(vic_page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/records/{record}")).status_code == 204
    await expect(vic_page.get_by_test_id("deleted-banner")).to_be_visible(timeout=DEADLINE_MS)
    await expect(vic_page.get_by_test_id("undo-delete")).to_be_hidden()
    await ann_page.get_by_test_id("undo-delete").click()

    for page in (ann_page, vic_page):  # both recover: Ann by her Undo, Vic from the feed
        await expect(page.get_by_test_id("deleted-banner")).to_be_hidden(timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await type_at(ann_page, "field-name", "End", "!")
    await expect(vic_page.get_by_test_id("field-name")).to_have_value("Koala!", timeout=DEADLINE_MS)
    assert unexpected(page_errors) == []


async def test_duplicate_opens_a_copy_with_the_same_values(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Penguin", "revenue": 12})
    await live_server.add_user("ann@example.com", "editor", PASSWORD)
    page = await sign_in(await browser.new_context(), live_server, "ann@example.com", PASSWORD)
    page_errors.watch(page, "ann")
    await open_record_at(page, live_server, record)
    await page.get_by_test_id("duplicate").click()
    await expect(page).not_to_have_url(f"{live_server.base_url}/#/records/{record}", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_have_value("Penguin", timeout=DEADLINE_MS)
    copy = page.url.rsplit("/", 1)[-1]
    assert copy != record
    async with live_server.client(admin_token) as http:
        body = (await http.get(f"/api/records/{copy}")).json()
    assert body["fields"] == {"name": "Penguin", "revenue": 12}
    assert unexpected(page_errors) == []
