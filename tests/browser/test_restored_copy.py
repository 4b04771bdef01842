"""A restored server never makes a browser duplicate or resurrect content: edits made offline after a
backup are, once the backup is restored, not merged back (rich text would duplicate, later values come
back) but kept as a copy from before, which the person reviews field by field. Both ways a copy from
before meets the restored server: a tab left open reconnects (4409), or the record is opened again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, expect_rich_text, open_record, sign_in, type_at
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.server_process]


async def _edit_offline_after_a_backup(
    server: ServerProcess, token: str, browser: Browser, tmp_path: Path
) -> tuple[str, BrowserContext, Page]:
    """ "Hello" and an email, saved; a backup; then offline: " world" and another email; the server
    stopped, the backup restored, the server started again (same port: the same origin's copies)."""
    record = await server.create_record(token, {"name": "Acme"})
    context = await browser.new_context()
    page = await sign_in(context, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    await open_record(page, "Acme")
    await type_at(page, "field-notes", "Control+End", "Hello")
    await page.get_by_test_id("field-email").fill("old@example.com")
    await page.get_by_test_id("field-email").blur()
    indicator = page.get_by_test_id("save-state")
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    backup = tmp_path / "collab.backup"
    await server.cli("backup", str(backup))

    await context.set_offline(True)
    await type_at(page, "field-notes", "Control+End", " world")
    await page.get_by_test_id("field-email").fill("new@example.com")
    await page.get_by_test_id("field-email").blur()
    await expect(indicator).to_have_text("Offline — 2 changes kept on this device", timeout=DEADLINE_MS)
    await server.terminate()
    await server.cli("restore", str(backup), "--yes")
    await server.start()
    return record, context, page


async def _review_then_apply_one_and_discard_the_other(
    server: ServerProcess, page: Page, record: str
) -> None:
    review = page.get_by_test_id("restored-copy")
    await expect(review).to_contain_text(
        "Your copy from before has 2 fields that differ", timeout=DEADLINE_MS
    )
    # The record is as restored: no duplicated text, nothing resurrected.
    await expect_rich_text(page, "notes", "Hello")
    await expect(page.get_by_test_id("field-email")).to_have_value("old@example.com")
    email, notes = review.get_by_test_id("restored-email"), review.get_by_test_id("restored-notes")
    await expect(email).to_contain_text("On the server: old@example.com")
    await expect(email).to_contain_text("Yours: new@example.com")
    await expect(notes).to_contain_text("On the server: Hello")
    await expect(notes).to_contain_text("Yours: Hello world")

    await email.get_by_role("button", name="Apply mine").click()
    await expect(page.get_by_test_id("field-email")).to_have_value("new@example.com")
    await expect(email).to_have_count(0)
    token = await server.login()

    async def stored() -> dict[str, object]:
        async with server.client(token) as http:
            fields: dict[str, object] = (await http.get(f"/api/records/{record}")).json()["fields"]
        return fields

    await poll_until(
        stored, lambda fields: fields.get("email") == "new@example.com", "the applied value stored"
    )
    await notes.get_by_role("button", name="Discard").click()
    await expect(review).to_be_hidden()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert (await stored())["notes"] == "Hello"
    # Reviewed: opening the record again offers nothing more.
    await page.reload()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect_rich_text(page, "notes", "Hello")
    await expect(review).to_be_hidden()


async def test_an_open_tab_reconnecting_to_a_restored_server_keeps_its_copy_for_review(
    live_server: ServerProcess, admin_token: str, browser: Browser, page_errors: PageErrors, tmp_path: Path
) -> None:
    record, context, page = await _edit_offline_after_a_backup(live_server, admin_token, browser, tmp_path)
    page_errors.watch(page, "page")
    await context.set_offline(False)  # the tab reconnects with its epoch: refused (4409), reopened afresh
    await _review_then_apply_one_and_discard_the_other(live_server, page, record)
    assert [m for m in page_errors.messages if "net::ERR_" not in m] == []


async def test_a_record_opened_again_after_a_restore_keeps_the_copy_for_review(
    live_server: ServerProcess, admin_token: str, browser: Browser, page_errors: PageErrors, tmp_path: Path
) -> None:
    record, context, page = await _edit_offline_after_a_backup(live_server, admin_token, browser, tmp_path)
    await page.close()  # the offline edits stay in this device's copy
    await context.set_offline(False)
    page = await context.new_page()
    page_errors.watch(page, "page")
    await page.goto(f"{live_server.base_url}/#/records/{record}")
    await _review_then_apply_one_and_discard_the_other(live_server, page, record)
    assert [m for m in page_errors.messages if "net::ERR_" not in m] == []
