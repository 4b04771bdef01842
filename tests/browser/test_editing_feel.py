"""Editing with others feels like an editor: a focused field shows another person's value at once and
keeps the caret, a prompt says who is editing a field before I type over them, and Ctrl+Z takes back my
own last word (the first character too), never theirs."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, expect_rich_text, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"
LIVE_MS = 2_000  # "at once": another person's value in a focused field


async def alice_and_bob(
    server: LiveServer, browser: Browser, page_errors: PageErrors, title: str
) -> tuple[Page, Page]:
    """The admin ("Admin") and an editor ("bob"), each in their own browser context, on the record."""
    await server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice = await sign_in(await browser.new_context(), server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), server, BOB_EMAIL, BOB_PASSWORD)
    for name, page in (("alice", alice), ("bob", bob)):
        page_errors.watch(page, name)
        await open_record(page, title)
    return alice, bob


async def caret(page: Page, test_id: str) -> list[int]:
    found: list[int] = await page.get_by_test_id(test_id).evaluate(
        "el => [el.selectionStart, el.selectionEnd]"
    )
    return found


async def stored_fields(server: LiveServer, token: str, pages: tuple[Page, ...]) -> dict[str, object]:
    for page in pages:
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    record = pages[0].url.rsplit("/", 1)[1]
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}")
    response.raise_for_status()
    fields: dict[str, object] = response.json()["fields"]
    return fields


async def test_a_focused_field_shows_another_persons_value_at_once_and_keeps_the_caret(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda", "revenue": 100})
    alice, bob = await alice_and_bob(live_server, browser, page_errors, "Panda")

    # Alice's caret is in the middle of the name ("Pan|da") when Bob adds to its end.
    name = alice.get_by_test_id("field-name")
    await name.click()
    await name.press("Home")
    for _ in range(3):
        await name.press("ArrowRight")
    await bob.get_by_test_id("field-name").fill("Panda Logistics")
    await expect(name).to_have_value("Panda Logistics", timeout=LIVE_MS)
    await expect(name).to_be_focused()
    assert await caret(alice, "field-name") == [3, 3]
    # Bob puts something in front: her caret moves with the text it was in.
    await bob.get_by_test_id("field-name").fill("Big Panda Logistics")
    await expect(name).to_have_value("Big Panda Logistics", timeout=LIVE_MS)
    assert await caret(alice, "field-name") == [7, 7]
    await name.press_sequentially("X")
    await expect(bob.get_by_test_id("field-name")).to_have_value("Big PanXda Logistics", timeout=LIVE_MS)

    # A focused number shows the new value at once too.
    revenue = alice.get_by_test_id("field-revenue")
    await revenue.click()
    await bob.get_by_test_id("field-revenue").fill("150000")
    await expect(revenue).to_have_value("150000", timeout=LIVE_MS)
    await expect(revenue).to_be_focused()
    # A number half typed is not a value yet: it is kept, and the field says what is stored meanwhile.
    await revenue.fill("")
    await revenue.press_sequentially("2e")
    await bob.get_by_test_id("field-revenue").fill("175000")
    await expect(alice.get_by_test_id("editing-prompt-revenue")).to_contain_text(
        "Meanwhile Revenue was set to 175000.", timeout=LIVE_MS
    )
    assert await revenue.evaluate("el => el.validity.badInput")
    await revenue.press("Tab")
    await expect(revenue).to_have_value("175000")

    assert (await stored_fields(live_server, admin_token, (alice, bob)))["name"] == "Big PanXda Logistics"
    assert page_errors.messages == []


async def test_a_prompt_says_who_is_editing_a_field_and_waits_for_them_or_goes_ahead(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    alice, bob = await alice_and_bob(live_server, browser, page_errors, "Panda")
    prompt = bob.get_by_test_id("editing-prompt-name")
    await expect(prompt).to_have_attribute("role", "status")

    # Nobody else in the field: no prompt.
    await bob.get_by_test_id("field-name").click()
    await expect(alice.get_by_test_id("editing-name")).to_have_text("bob is editing", timeout=DEADLINE_MS)
    await expect(prompt).to_be_empty()
    await bob.get_by_test_id("field-email").click()
    await expect(alice.get_by_test_id("editing-name")).to_be_empty(timeout=DEADLINE_MS)

    # Alice types into the name; Bob comes into it: the prompt says who, and typing is not blocked.
    await alice.get_by_test_id("field-name").click()
    await alice.get_by_test_id("field-name").press("End")
    await alice.get_by_test_id("field-name").press_sequentially(" A")
    await expect(bob.get_by_test_id("editing-name")).to_have_text("Admin is editing", timeout=DEADLINE_MS)
    await bob.get_by_test_id("field-name").click()
    await expect(prompt).to_contain_text("Admin is editing Name right now.", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("field-name")).to_be_focused()
    await expect(alice.get_by_test_id("editing-prompt-name")).to_be_empty()  # Alice was there first

    # Go ahead: the prompt goes, the focus stays, and Bob's typing goes through without asking again.
    await prompt.get_by_role("button", name="Go ahead").click()
    await expect(prompt).to_be_empty()
    await expect(bob.get_by_test_id("field-name")).to_be_focused()
    await bob.get_by_test_id("field-name").press("End")
    await bob.get_by_test_id("field-name").press_sequentially("B")
    await expect(alice.get_by_test_id("field-name")).to_have_value("Panda AB", timeout=DEADLINE_MS)
    await expect(prompt).to_be_empty()

    # Leaving and coming back is a new burst: asked again. Wait leaves the field and writes nothing.
    await bob.get_by_test_id("field-email").click()
    await alice.get_by_test_id("field-name").press_sequentially("C")  # she is still typing
    await bob.get_by_test_id("field-name").click()
    await expect(prompt).to_contain_text("Admin is editing Name right now.", timeout=DEADLINE_MS)
    await prompt.get_by_role("button", name="Wait").click()
    await expect(prompt).to_have_text("Waiting for Admin to finish Name…")
    await expect(bob.get_by_test_id("field-name")).not_to_be_focused()
    await expect(alice.get_by_test_id("editing-name")).to_be_empty(timeout=DEADLINE_MS)

    # Alice leaves the field: Bob is told he may go ahead.
    await alice.get_by_test_id("field-name").press("Tab")
    await expect(prompt).to_have_text("Admin is done — go ahead.", timeout=DEADLINE_MS)
    await bob.get_by_test_id("field-name").click()
    await expect(prompt).to_be_empty()
    assert page_errors.messages == []


async def test_rich_text_undo_takes_back_a_word_at_a_time_down_to_the_first_character(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    # No notes: the first keystroke makes the field's Y.Text.
    await live_server.create_record(admin_token, {"name": "Panda"})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    notes = page.get_by_test_id("field-notes")
    await notes.click()
    await notes.press_sequentially("Met in Lyon")

    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "Met in")
    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "Met")
    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "")
    await notes.press("Control+Shift+Z")  # as a keyboard sends it: with Shift, the key is "Z"
    await expect_rich_text(page, "notes", "Met")
    await notes.press("Control+y")
    await expect_rich_text(page, "notes", "Met in")

    # Lines typed without a pause are steps too: one Ctrl+Z never takes a whole note.
    await notes.press("Control+End")
    await notes.press_sequentially(" Lyon\nSigned\nPaid")
    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "Met in Lyon\nSigned\n")
    await notes.press("Control+z")
    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "Met in Lyon\n")
    assert (await stored_fields(live_server, admin_token, (page,)))["notes"] == "Met in Lyon\n"
    assert page_errors.messages == []


async def test_scalar_undo_takes_back_my_words_and_never_the_other_persons(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    alice, bob = await alice_and_bob(live_server, browser, page_errors, "Panda")
    name = alice.get_by_test_id("field-name")
    bobs_name = bob.get_by_test_id("field-name")

    # An empty field: undo goes back to empty, the first character too; redo comes back.
    email = alice.get_by_test_id("field-email")
    await email.click()
    await email.press_sequentially("ops")
    await email.press("Control+z")
    await expect(email).to_have_value("")
    await expect(bob.get_by_test_id("field-email")).to_have_value("", timeout=DEADLINE_MS)
    await email.press("Control+Shift+Z")
    await expect(email).to_have_value("ops")

    # A word at a time, and never past what was there before I typed.
    await name.click()
    await name.press("End")
    await name.press_sequentially(" Logistics Group")
    await name.press("Control+z")
    await expect(name).to_have_value("Panda Logistics")
    await expect(bobs_name).to_have_value("Panda Logistics", timeout=DEADLINE_MS)
    await name.press("Control+z")
    await expect(name).to_have_value("Panda")
    await name.press("Control+z")
    await expect(name).to_have_value("Panda")
    await name.press("Control+y")
    await expect(name).to_have_value("Panda Logistics")
    assert await caret(alice, "field-name") == [15, 15]

    # Bob adds to the name while Alice is still in it: her undo does not take his text away.
    await bobs_name.click()
    await bobs_name.press("End")
    await bobs_name.press_sequentially("!")
    await expect(name).to_have_value("Panda Logistics!", timeout=DEADLINE_MS)
    await bobs_name.press("Tab")
    await expect(alice.get_by_test_id("editing-name")).to_be_empty(timeout=DEADLINE_MS)
    await name.press("Control+z")
    await expect(alice.get_by_test_id("editing-prompt-name")).to_have_text(
        re.compile("Name was changed by someone else after your last edit")
    )
    await expect(name).to_have_value("Panda Logistics!")
    # What she types next is hers to undo, down to his value and no further.
    await name.press("End")
    await name.press_sequentially(" Ltd")
    await expect(bobs_name).to_have_value("Panda Logistics! Ltd", timeout=DEADLINE_MS)
    await name.press("Control+z")
    await name.press("Control+z")
    await expect(name).to_have_value("Panda Logistics!")
    await expect(bobs_name).to_have_value("Panda Logistics!", timeout=DEADLINE_MS)

    stored = await stored_fields(live_server, admin_token, (alice, bob))
    assert (stored["name"], stored.get("email")) == ("Panda Logistics!", "ops")
    assert page_errors.messages == []
