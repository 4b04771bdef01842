"""Viewers see everything live and can change nothing; editors see who else is on a record and which
field each one is in."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import (
    DEADLINE_MS,
    PHONE,
    SAVED,
    expect_rich_text,
    horizontal_overflow,
    open_record,
    sign_in,
)
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIELDS = ["name", "email", "revenue", "stage", "active", "next_call"]  # native controls


async def test_a_viewer_sees_live_edits_and_cannot_change_anything(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda", "notes": "Met in Lyon."})
    await live_server.add_user("vic@example.com", "viewer", password="vic-password-1")
    admin = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    viewer = await sign_in(
        await browser.new_context(viewport=PHONE), live_server, "vic@example.com", "vic-password-1"
    )
    page_errors.watch(viewer, "viewer")
    await expect(viewer.get_by_test_id("new-record")).to_have_count(0)
    await expect(viewer.get_by_role("button", name="Delete Panda")).to_have_count(0)

    await viewer.get_by_test_id("record-list").get_by_role("link", name="Panda").click()
    banner = viewer.get_by_test_id("read-only")
    await expect(banner).to_have_text("You can view but not edit", timeout=DEADLINE_MS)
    await expect(viewer.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    for key in FIELDS:
        await expect(viewer.get_by_test_id(f"field-{key}")).to_be_disabled()
    # The rich text is shown rendered (markdown.js), not as an editor: typing into it changes nothing.
    notes = viewer.get_by_test_id("field-notes")
    await expect(notes).not_to_have_attribute("contenteditable", "true")
    await expect(notes.locator(".cm-content")).to_have_count(0)
    await notes.click()
    await viewer.keyboard.type("Hacked ")
    await expect_rich_text(viewer, "notes", "Met in Lyon.")
    assert await horizontal_overflow(viewer) <= 0

    # Others' edits still arrive.
    await open_record(admin, "Panda")
    await admin.get_by_test_id("field-name").fill("Panda Express")
    await expect(viewer.get_by_test_id("field-name")).to_have_value("Panda Express", timeout=DEADLINE_MS)
    await expect(viewer.get_by_role("heading", name="Panda Express")).to_be_visible()
    for key in FIELDS:
        await expect(viewer.get_by_test_id(f"field-{key}")).to_be_disabled()
    await expect(viewer.get_by_test_id("field-notes").locator(".cm-content")).to_have_count(0)
    # The history opens, with nothing to put back.
    await viewer.get_by_test_id("open-history").click()
    newest = viewer.get_by_test_id("change").first
    await expect(newest).to_contain_text("Admin changed Name", timeout=DEADLINE_MS)
    await expect(viewer.get_by_role("button", name="Put this value back")).to_have_count(0)
    assert page_errors.messages == []


async def test_people_on_a_record_see_each_other_and_the_field_each_one_is_in(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    alice = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob_context = await browser.new_context(viewport=PHONE)
    bob = await sign_in(bob_context, live_server, "bob@example.com", "bob-password-1")
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    await open_record(alice, "Panda")
    await expect(alice.get_by_test_id("avatar")).to_have_count(1)
    await expect(alice.get_by_test_id("avatar")).to_have_attribute("title", "Admin (you)")

    await open_record(bob, "Panda")
    await expect(alice.get_by_test_id("presence-notice").last).to_have_text("bob joined", timeout=DEADLINE_MS)
    for page, other in ((alice, "bob"), (bob, "Admin")):
        avatars = page.get_by_test_id("avatar")
        await expect(avatars).to_have_count(2, timeout=DEADLINE_MS)
        other_avatar = avatars.nth(1)
        await expect(other_avatar).to_have_attribute("title", other)
        # Initials to see, then the name for screen readers.
        await expect(other_avatar).to_have_text(other[:2].upper() + other)
        # The colour is the one the server stamped, not a fallback.
        assert await other_avatar.evaluate("el => el.style.getPropertyValue('--who')") not in ("", "#5b6576")

    # Bob's focus moves through the fields: Alice's markers follow it.
    await bob.get_by_test_id("field-email").focus()
    await expect(alice.get_by_test_id("editing-email")).to_have_text("bob is editing", timeout=DEADLINE_MS)
    await bob.get_by_test_id("field-notes").focus()
    await expect(alice.get_by_test_id("editing-notes")).to_have_text("bob is editing", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("editing-email")).to_have_text("")
    await bob.get_by_test_id("field-notes").blur()
    await expect(alice.get_by_test_id("editing-notes")).to_have_text("", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("editing-notes")).to_have_text("")  # nobody marks their own field
    assert await horizontal_overflow(bob) <= 0

    await bob.get_by_role("link", name="← Customers").click()
    await expect(alice.get_by_test_id("presence-notice").last).to_have_text("bob left", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("avatar")).to_have_count(1)
    assert page_errors.messages == []
