"""The browser path end to end, in real Chromium against a real `collab serve`.

Two people sign in through the page, open the same record, and type into it at once: each sees the
other's edits live, and the indicator says "Saved" only once the server has stored them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import (
    DEADLINE_MS,
    PHONE,
    SAVED,
    expect_rich_text,
    horizontal_overflow,
    open_record,
    sign_in,
    type_at,
)
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"


async def record_save_states(page: Page) -> None:
    """Start logging every state the indicator shows into `window.saveStates`."""
    await page.evaluate("""() => {
        const indicator = document.querySelector('[data-testid="save-state"]')
        window.saveStates = []
        new MutationObserver(() => window.saveStates.push(indicator.dataset.state))
            .observe(indicator, { attributes: true, attributeFilter: ['data-state'] })
    }""")


async def test_two_people_edit_one_record_live(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors, tmp_path: Path
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda", "notes": "First met in Lyon."})
    await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(viewport=PHONE), live_server, BOB_EMAIL, BOB_PASSWORD)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    assert await horizontal_overflow(bob) <= 0

    await open_record(alice, "Panda")
    await open_record(bob, "Panda")
    await record_save_states(alice)

    await type_at(alice, "field-name", "End", " Express")
    await expect(bob.get_by_test_id("field-name")).to_have_value("Panda Express", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert "saving" in await alice.evaluate("window.saveStates")

    # Both type into the rich text at once, at either end: the Y.Text merges them, and each caret
    # stays on its own character while the other's letters arrive.
    await asyncio.gather(
        type_at(alice, "field-notes", "Control+Home", "★ "),
        type_at(bob, "field-notes", "Control+End", " Called on Monday."),
    )
    merged = "★ First met in Lyon. Called on Monday."
    for page in (alice, bob):
        await expect_rich_text(page, "notes", merged)
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    # Every other kind of control carries its value across too.
    await alice.get_by_test_id("field-stage").select_option("customer")
    await alice.get_by_test_id("field-active").check()
    await bob.get_by_test_id("field-revenue").fill("6000")
    await bob.get_by_test_id("field-next_call").fill("2030-03-14")
    await expect(bob.get_by_test_id("field-stage")).to_have_value("customer", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("field-active")).to_be_checked(timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("field-revenue")).to_have_value("6000", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("field-next_call")).to_have_value("2030-03-14", timeout=DEADLINE_MS)
    for page in (alice, bob):
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert await horizontal_overflow(bob) <= 0

    # Bob goes back to the end of the notes: Alice sees his caret there, his name on it when hovered.
    await bob.get_by_test_id("field-notes").click()
    await bob.get_by_test_id("field-notes").press("Control+End")
    await alice.evaluate("document.activeElement.blur()")
    caret = alice.get_by_test_id("field-notes").locator(".cm-ySelectionCaret")
    await expect(caret.locator(".cm-ySelectionInfo")).to_have_text("bob", timeout=DEADLINE_MS)
    box = await caret.bounding_box()
    assert box is not None
    await alice.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # COLLAB_SCREENSHOTS=docs/images refreshes the pictures the README shows.
    shots = Path(os.environ.get("COLLAB_SCREENSHOTS") or tmp_path)
    await alice.screenshot(path=shots / "editor.png", full_page=True, animations="disabled")
    await bob.evaluate("document.activeElement.blur()")
    await bob.screenshot(path=shots / "editor-phone.png", full_page=True, animations="disabled")
    assert page_errors.messages == []


@pytest.mark.server_process  # SIGKILL: only what was committed survives
async def test_saved_edits_survive_a_crash_and_offline_edits_are_sent_later(
    live_server: ServerProcess, admin_token: str, browser: Browser
) -> None:
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    await page.get_by_test_id("new-record").click()
    await expect(page.get_by_test_id("field-name")).to_have_value("New customer", timeout=DEADLINE_MS)
    indicator = page.get_by_test_id("save-state")
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    record = page.url.rsplit("/", 1)[1]

    await page.get_by_test_id("field-revenue").fill("6000")
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    await live_server.kill()  # SIGKILL: only what was committed survives
    # The device is online: it is the server that cannot be reached (issue 15), not "Offline".
    await expect(indicator).to_have_text("Can't reach the server — no unsaved changes", timeout=DEADLINE_MS)

    # Edits made while offline are kept by the page and sent when the server is back.
    await page.get_by_test_id("field-email").fill("panda@example.com")
    await expect(indicator).to_have_text("Can't reach the server — 1 change kept on this device")
    await live_server.start()
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)

    async with live_server.client(admin_token) as http:
        response = await http.get(f"/api/records/{record}")
    response.raise_for_status()
    stored = response.json()["fields"]
    assert stored == {"name": "New customer", "revenue": 6000, "email": "panda@example.com"}
