"""Offline and back: edits made without a connection are kept on the device (IndexedDB), counted in the
indicator, merged when the connection returns, and only then called saved. A record opened before can
be reopened and edited offline. A conflict this produces is in the history, and its lost value can be
put back."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"


async def test_offline_edits_are_kept_counted_merged_and_then_saved(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    fields = {"name": "Panda", "revenue": 1000, "next_call": "2030-03-14"}
    record = await live_server.create_record(admin_token, fields)
    await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice_context = await browser.new_context()
    alice = await sign_in(alice_context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), live_server, BOB_EMAIL, BOB_PASSWORD)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    await open_record(alice, "Panda")
    await open_record(bob, "Panda")
    indicator = alice.get_by_test_id("save-state")

    await alice_context.set_offline(True)
    await expect(indicator).to_have_text("Offline — no unsaved changes", timeout=DEADLINE_MS)
    await alice.get_by_test_id("field-email").fill("panda@example.com")
    await alice.get_by_test_id("field-revenue").fill("5000")
    await expect(indicator).to_have_text("Offline — 2 changes kept on this device")
    # Meanwhile Bob, online, sets the same field: a conflict once Alice is back.
    await bob.get_by_test_id("field-revenue").fill("6000")
    await bob.get_by_test_id("field-revenue").blur()  # a focused field waits for blur to show remote values
    await expect(bob.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    # Still offline, Alice leaves the record: the list shows what this device keeps, and the record
    # opens from it with her edits, still counted as not saved.
    await alice.get_by_role("link", name="← Customers").click()
    kept = alice.get_by_test_id("record-list").get_by_test_id("record")
    await expect(kept).to_have_count(1, timeout=DEADLINE_MS)
    await expect(kept).to_contain_text("Panda")
    await expect(kept).to_contain_text("2 unsaved")
    await kept.get_by_role("link", name="Panda").click()
    await expect(alice.get_by_test_id("field-email")).to_have_value("panda@example.com", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("field-email")).to_be_editable()
    await expect(indicator).to_have_text("Offline — 2 changes kept on this device")
    await alice.get_by_test_id("field-stage").select_option("prospect")
    await expect(indicator).to_have_text("Offline — 3 changes kept on this device")
    # Clearing a field only deletes: no clock moves, yet it counts, and waits for a commit after it.
    await alice.get_by_test_id("field-next_call").fill("")
    await expect(indicator).to_have_text("Offline — 4 changes kept on this device")
    await expect(bob.get_by_test_id("field-email")).to_have_value("")

    await alice_context.set_offline(False)
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("field-email")).to_have_value("panda@example.com", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("field-stage")).to_have_value("prospect", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("field-next_call")).to_have_value("", timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert stored["email"] == "panda@example.com"
    assert stored["stage"] == "prospect"
    assert "next_call" not in stored
    # Both end on the stored revenue, whichever write won.
    winner = str(stored["revenue"])
    assert winner in ("5000", "6000")
    for page in (alice, bob):
        await expect(page.get_by_test_id("field-revenue")).to_have_value(winner, timeout=DEADLINE_MS)

    # The history shows the conflict; putting the lost value back reaches everyone.
    loser = "6000" if winner == "5000" else "5000"
    await bob.get_by_test_id("open-history").click()
    conflict = bob.get_by_test_id("history-list").locator(".conflict")
    await expect(conflict).to_have_count(1, timeout=DEADLINE_MS)
    await expect(conflict).to_contain_text(re.compile(f"set {loser} at the same time"))
    await conflict.get_by_role("button", name="Put this value back").click()
    await conflict.get_by_role("button", name="Put back", exact=True).click()  # the confirmation
    # The put-back is itself a change, shown on top.
    await expect(bob.get_by_test_id("change").first).to_contain_text("put back", timeout=DEADLINE_MS)
    await bob.get_by_role("button", name="Close").click()
    for page in (alice, bob):
        await expect(page.get_by_test_id("field-revenue")).to_have_value(loser, timeout=DEADLINE_MS)
    # The browser itself logs each request that failed offline; nothing else may have gone wrong.
    assert [m for m in page_errors.messages if "net::ERR_INTERNET_DISCONNECTED" not in m] == []


async def test_a_record_deleted_under_the_page_says_so_and_comes_back_by_itself(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    indicator = page.get_by_test_id("save-state")
    retry = page.get_by_role("button", name="Retry")
    await expect(retry).to_be_hidden()

    # Deleting the record closes its sockets with 4404 ("record deleted by …"), which y-websocket does not
    # retry on its own: the page says who and stops taking edits that could not be saved.
    async with live_server.client(admin_token) as http:
        (await http.delete(f"/api/records/{record}")).raise_for_status()
    await expect(indicator).to_have_text("Disconnected", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("deleted-banner")).to_contain_text("Deleted by")
    await expect(page.get_by_test_id("field-email")).to_be_disabled()

    # Restored elsewhere: the page reconnects by itself and takes edits again.
    async with live_server.client(admin_token) as http:
        (await http.post(f"/api/records/{record}/undelete")).raise_for_status()
    await expect(page.get_by_test_id("deleted-banner")).to_be_hidden(timeout=DEADLINE_MS)
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    await page.get_by_test_id("field-email").fill("panda@example.com")
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert stored["email"] == "panda@example.com"
    # While deleted, the page asks whether the record is back yet, and the browser logs each 404.
    assert [m for m in page_errors.messages if "404" not in m] == []
