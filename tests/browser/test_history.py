"""The history drawer: any entry's value can be put back, after a confirmation, as the caller's edit;
deleting the record and bringing it back are entries too."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_plain_entry_is_put_back_after_a_confirmation(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with live_server.client(bob_token) as http:  # a colleague's plain mistake
        tag = (await http.get(f"/api/records/{record}")).headers["etag"]
        patched = await http.patch(
            f"/api/records/{record}", json={"fields": {"revenue": 5}}, headers={"If-Match": tag}
        )
        assert patched.status_code == 200
    async with live_server.client(admin_token) as http:  # deleted and brought back: both are entries
        assert (await http.delete(f"/api/records/{record}")).status_code in (200, 204)
        assert (await http.post(f"/api/records/{record}/undelete")).status_code == 200
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    await expect(page.get_by_test_id("field-revenue")).to_have_value("5", timeout=DEADLINE_MS)
    await page.get_by_test_id("open-history").click()
    mistake = page.get_by_test_id("change").filter(has_text="1000 → 5")
    await expect(mistake).to_have_count(1, timeout=DEADLINE_MS)
    back, deleted = page.get_by_test_id("change").nth(0), page.get_by_test_id("change").nth(1)
    await expect(back).to_contain_text("Admin brought this record back")
    await expect(deleted).to_contain_text("Admin deleted this record")
    await expect(back.get_by_role("button")).to_have_count(0)
    # Asking first; cancelling changes nothing.
    await mistake.get_by_role("button", name="Put this value back").click()
    await expect(mistake).to_contain_text("Put 1000 back into")
    await mistake.get_by_role("button", name="Cancel").click()
    await expect(mistake.get_by_role("button", name="Put back", exact=True)).to_be_hidden()
    await expect(page.get_by_test_id("change")).to_have_count(5)
    await mistake.get_by_role("button", name="Put this value back").click()
    await mistake.get_by_role("button", name="Put back", exact=True).click()
    # The put-back is itself a change, the caller's, shown on top.
    newest = page.get_by_test_id("change").first
    await expect(newest).to_contain_text("put back", timeout=DEADLINE_MS)
    await expect(newest).to_contain_text("5 → 1000")
    await page.get_by_role("button", name="Close").click()
    await expect(page.get_by_test_id("field-revenue")).to_have_value("1000", timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["revenue"] == 1000
    assert page_errors.messages == []


async def test_filter_by_person_and_put_back_with_a_why(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    for email, fields in (("bob@example.com", {"revenue": 5}), ("cat@example.com", {"stage": "lead"})):
        token = await live_server.add_user(email, "editor")
        async with live_server.client(token) as http:
            tag = (await http.get(f"/api/records/{record}")).headers["etag"]
            patched = await http.patch(
                f"/api/records/{record}", json={"fields": fields}, headers={"If-Match": tag}
            )
            assert patched.status_code == 200
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    await page.get_by_test_id("open-history").click()
    changes = page.get_by_test_id("change")
    await expect(changes).to_have_count(4, timeout=DEADLINE_MS)  # name and revenue created, Bob's, Cat's
    # The people of the whole history are offered; choosing one shows only their entries.
    person = page.get_by_test_id("history-person")
    await expect(person.locator("option")).to_have_count(4)  # anyone, Admin, Bob, Cat
    await person.select_option(label="bob")
    await expect(changes).to_have_count(1, timeout=DEADLINE_MS)
    await expect(changes.first).to_contain_text("1000 → 5")
    await page.get_by_test_id("history-field").select_option(label="Stage")
    await expect(page.get_by_test_id("history-list")).to_contain_text("No changes match these filters.")
    await expect(changes).to_have_count(0)
    await page.get_by_test_id("history-field").select_option(label="Any field")
    mistake = changes.filter(has_text="1000 → 5")
    await expect(mistake).to_have_count(1, timeout=DEADLINE_MS)
    await mistake.get_by_role("button", name="Put this value back").click()
    why = "Bob's <i>typo</i>: five instead of 1000"
    await mistake.get_by_test_id("put-back-why").fill(why)
    await mistake.get_by_role("button", name="Put back", exact=True).click()
    # Shown again (still filtered by Bob, so without the put-back, which is the admin's) once it is done.
    await expect(mistake.get_by_role("button", name="Put back", exact=True)).to_be_hidden()
    await person.select_option(label="Anyone")
    newest = changes.first
    await expect(newest).to_contain_text("5 → 1000", timeout=DEADLINE_MS)
    await expect(newest.get_by_test_id("change-comment")).to_have_text(f"Why: {why}")
    await expect(newest.locator("i")).to_have_count(0)  # text, never markup
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["revenue"] == 1000
    assert page_errors.messages == []
