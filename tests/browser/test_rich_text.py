"""Rich-text fields are CodeMirror editors bound to the record's Y.Text (y-codemirror.next): two people
type into one at once and each sees the other's letters within a second, the other's caret shows in
that field only, named and coloured as the server stamps them, Ctrl+Z undoes only one's own typing, and
the server's length limit is kept at the keyboard."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, expect_rich_text, sign_in, type_at
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"
MERGED_WITHIN_MS = 1_000
MAX_TEXT_CHARS = 100_000  # collab/records/schema.py


async def create_deals(server: LiveServer, token: str) -> None:
    """A collection with two rich-text fields (the sample one has a single one)."""
    fields = [
        {"key": "title", "label": "Title", "type": "text"},
        {"key": "notes", "label": "Notes", "type": "richtext"},
        {"key": "summary", "label": "Summary", "type": "richtext"},
    ]
    deals = {"name": "deals", "label": "Deals", "fields": fields}
    async with server.client(token) as http:
        response = await http.post("/api/collections", json=deals)
    response.raise_for_status()


async def open_by_address(page: Page, server: LiveServer, record_id: str) -> None:
    """Open a record the list does not show (it lists customers only) by its address."""
    await page.goto(f"{server.base_url}/#/records/{record_id}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-notes")).to_be_editable(timeout=DEADLINE_MS)


async def alice_and_bob_on(
    record_id: str, server: LiveServer, browser: Browser, page_errors: PageErrors
) -> tuple[Page, Page]:
    """The admin (Alice) and a new editor (Bob), each in their own browser context, on the record."""
    await server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice = await sign_in(await browser.new_context(), server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), server, BOB_EMAIL, BOB_PASSWORD)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    await open_by_address(alice, server, record_id)
    await open_by_address(bob, server, record_id)
    return alice, bob


async def test_two_people_type_into_one_rich_text_field_and_see_each_others_caret_there_only(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_deals(live_server, admin_token)
    record = await live_server.create_record(
        admin_token, {"title": "Panda deal", "notes": "Met in Lyon.", "summary": "Big."}, collection="deals"
    )
    alice, bob = await alice_and_bob_on(record, live_server, browser, page_errors)

    # The editor is named by its label, and clicking the label puts the caret in it.
    await expect(alice.get_by_label("Summary", exact=True)).to_have_attribute("data-testid", "field-summary")
    await alice.locator("label", has_text="Summary").click()
    await expect(alice.get_by_test_id("field-summary")).to_be_focused()

    # Both type at once, at either end: each sees the other's letters merged within a second.
    await asyncio.gather(
        type_at(alice, "field-notes", "Control+End", " Signed."),
        type_at(bob, "field-notes", "Control+Home", "Bob: "),
    )
    for page in (alice, bob):
        await expect_rich_text(page, "notes", "Bob: Met in Lyon. Signed.", within_ms=MERGED_WITHIN_MS)

    # Bob is in the notes: Alice sees his caret there, under his name and in his colour, not in the summary.
    notes_carets = alice.get_by_test_id("field-notes").locator(".cm-ySelectionCaret")
    summary_carets = alice.get_by_test_id("field-summary").locator(".cm-ySelectionCaret")
    await expect(notes_carets).to_have_count(1, timeout=DEADLINE_MS)
    await expect(notes_carets.locator(".cm-ySelectionInfo")).to_have_text("bob")
    await expect(summary_carets).to_have_count(0)
    bob_colour = (
        await alice.get_by_test_id("avatar").nth(1).evaluate("el => el.style.getPropertyValue('--who')")
    )
    await expect(notes_carets).to_have_attribute("style", re.compile(re.escape(bob_colour)))
    # Bob sees Alice's caret, never his own.
    await expect(bob.get_by_test_id("field-notes").locator(".cm-ySelectionInfo")).to_have_text(["Admin"])

    # Ctrl+Z undoes Bob's typing only, a word at a time ("Bob", ": "): Alice's stays, for both of them.
    await bob.get_by_test_id("field-notes").press("Control+z")
    await bob.get_by_test_id("field-notes").press("Control+z")
    for page in (alice, bob):
        await expect_rich_text(page, "notes", "Met in Lyon. Signed.", within_ms=MERGED_WITHIN_MS)

    # His caret follows him into the summary, and leaves the notes.
    await type_at(bob, "field-summary", "End", " Very.")
    await expect_rich_text(alice, "summary", "Big. Very.", within_ms=MERGED_WITHIN_MS)
    await expect(summary_carets.locator(".cm-ySelectionInfo")).to_have_text("bob", timeout=DEADLINE_MS)
    await expect(notes_carets).to_have_count(0)

    # Tab leaves the editor (no tab is typed), and his caret goes with him.
    await bob.get_by_test_id("field-summary").press("Tab")
    await expect(bob.get_by_test_id("field-summary")).not_to_be_focused()
    await expect_rich_text(bob, "summary", "Big. Very.")
    await expect(summary_carets).to_have_count(0, timeout=DEADLINE_MS)

    for page in (alice, bob):
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        response = await http.get(f"/api/records/{record}")
    response.raise_for_status()
    stored = response.json()["fields"]
    assert (stored["notes"], stored["summary"]) == ("Met in Lyon. Signed.", "Big. Very.")
    assert page_errors.messages == []


async def patch_fields(server: LiveServer, token: str, record_id: str, fields: dict[str, object]) -> None:
    async with server.client(token) as http:
        tag = (await http.get(f"/api/records/{record_id}")).headers["etag"]
        response = await http.patch(
            f"/api/records/{record_id}", json={"fields": fields}, headers={"If-Match": tag}
        )
    response.raise_for_status()


async def test_the_editor_follows_the_y_text_the_record_holds(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    """A record made without notes has no Y.Text: the first keystroke creates one. An HTTP PATCH that
    clears the notes and then sets them puts a new Y.Text in the record: the open editor binds to it."""
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    alice, bob = await alice_and_bob_on(record, live_server, browser, page_errors)

    await type_at(alice, "field-notes", "End", "First.")
    await expect_rich_text(bob, "notes", "First.", within_ms=MERGED_WITHIN_MS)

    await patch_fields(live_server, admin_token, record, {"notes": None})
    for page in (alice, bob):
        await expect_rich_text(page, "notes", "")
    await patch_fields(live_server, admin_token, record, {"notes": "Second."})
    for page in (alice, bob):
        await expect_rich_text(page, "notes", "Second.")

    # Typing goes into the new Y.Text, both ways, and carets are drawn in it.
    await type_at(bob, "field-notes", "Control+End", " Bob.")
    await expect_rich_text(alice, "notes", "Second. Bob.", within_ms=MERGED_WITHIN_MS)
    await type_at(alice, "field-notes", "Control+Home", "Alice: ")
    await expect_rich_text(bob, "notes", "Alice: Second. Bob.", within_ms=MERGED_WITHIN_MS)
    carets = bob.get_by_test_id("field-notes").locator(".cm-ySelectionInfo")
    await expect(carets).to_have_text("Admin", timeout=DEADLINE_MS)
    for page in (alice, bob):
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert stored["notes"] == "Alice: Second. Bob."
    assert page_errors.messages == []


async def test_rich_text_stops_at_the_servers_length_limit(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    full = ("x" * 99 + "\n") * (MAX_TEXT_CHARS // 100)
    await live_server.create_record(admin_token, {"name": "Panda", "notes": full})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await page.get_by_test_id("record-list").get_by_role("link", name="Panda").click()
    await expect(page.get_by_test_id("field-notes")).to_be_editable(timeout=DEADLINE_MS)

    # Full: typing adds nothing; after deleting one character, one fits again.
    await type_at(page, "field-notes", "Control+End", "yz")
    await page.get_by_test_id("field-notes").press("Backspace")
    await page.get_by_test_id("field-notes").press_sequentially("yz")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    record = page.url.rsplit("/", 1)[1]
    async with live_server.client(admin_token) as http:
        response = await http.get(f"/api/records/{record}")
    response.raise_for_status()
    assert response.json()["fields"]["notes"] == full[:-1] + "y"
    assert page_errors.messages == []
