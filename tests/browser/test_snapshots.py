"""An admin takes a snapshot in the snapshots drawer, compares it with the record after an editor's
edit, and restores it: the editor's open page shows the old value again, live."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_admin_restores_a_snapshot_and_an_editor_sees_it_live(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda", "notes": "Met in Lyon."})
    await live_server.add_user("ed@example.com", "editor", password="ed-password-1")
    admin = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    editor = await sign_in(await browser.new_context(), live_server, "ed@example.com", "ed-password-1")
    page_errors.watch(admin, "admin")
    page_errors.watch(editor, "editor")
    await open_record(admin, "Panda")
    await open_record(editor, "Panda")

    # The admin takes a snapshot by hand: it is on the timeline, with its reason and author.
    await admin.get_by_role("button", name="Snapshots").click()
    drawer = admin.get_by_test_id("snapshots")
    await expect(drawer).to_be_visible()
    await drawer.get_by_role("button", name="Take snapshot").click()
    status = drawer.get_by_test_id("snapshot-status")
    await expect(status).to_contain_text("Snapshot taken", timeout=DEADLINE_MS)
    mine = drawer.locator("[data-testid=snapshot][data-reason=manual]")
    await expect(mine).to_have_count(1, timeout=DEADLINE_MS)
    await expect(mine).to_contain_text("Taken by hand · by Admin")
    await drawer.get_by_role("button", name="Close").click()
    await expect(drawer).to_be_hidden()

    # The editor types a longer name; it is saved, and the admin's page has it.
    name = editor.get_by_test_id("field-name")
    await name.click()
    await name.press("End")
    await name.press_sequentially(" Express")
    await expect(editor.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(admin.get_by_test_id("field-name")).to_have_value("Panda Express", timeout=DEADLINE_MS)
    # Editors see the drawer, but nothing to restore with.
    await editor.get_by_role("button", name="Snapshots").click()
    editor_drawer = editor.get_by_test_id("snapshots")
    await (
        editor_drawer.locator("[data-testid=snapshot][data-reason=manual]")
        .get_by_role("button", name="Compare with now")
        .click()
    )
    await expect(editor_drawer.get_by_test_id("compare-name")).to_have_attribute(
        "data-changed", "true", timeout=DEADLINE_MS
    )
    await expect(editor.get_by_role("button", name="Restore this version")).to_have_count(0)
    await editor.keyboard.press("Escape")
    await expect(editor_drawer).to_be_hidden()

    # The admin compares the snapshot with now: the name is marked changed, the notes are not.
    await admin.get_by_role("button", name="Snapshots").click()
    await mine.get_by_role("button", name="Compare with now").click()
    comparison = drawer.get_by_test_id("snapshot-compare")
    name_row = comparison.get_by_test_id("compare-name")
    await expect(name_row).to_have_attribute("data-changed", "true", timeout=DEADLINE_MS)
    await expect(name_row).to_contain_text("Changed")
    await expect(name_row.get_by_role("cell")).to_have_text(["Panda", "Panda Express"])
    await expect(comparison.get_by_test_id("compare-notes")).to_have_attribute("data-changed", "false")

    # Restoring asks first; cancelling changes nothing.
    await comparison.get_by_role("button", name="Restore this version").click()
    confirm = admin.get_by_role("alertdialog", name="Restore this version?")
    await expect(confirm).to_be_visible()
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_be_hidden()
    await expect(editor.get_by_test_id("field-name")).to_have_value("Panda Express")
    await comparison.get_by_role("button", name="Restore this version").click()
    await confirm.get_by_role("button", name="Restore", exact=True).click()
    await expect(confirm).to_be_hidden()
    await expect(status).to_contain_text("Restored", timeout=DEADLINE_MS)
    await expect(name_row).to_have_attribute("data-changed", "false", timeout=DEADLINE_MS)

    # The editor's open page has the old name back, without a reload.
    await expect(editor.get_by_test_id("field-name")).to_have_value("Panda", timeout=DEADLINE_MS)
    await expect(editor.get_by_role("heading", name="Panda", exact=True)).to_be_visible()
    await expect(admin.get_by_test_id("field-name")).to_have_value("Panda", timeout=DEADLINE_MS)
    assert page_errors.messages == []
