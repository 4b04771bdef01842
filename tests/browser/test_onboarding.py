"""Onboarding and people (issue 19): an organisation registers itself from the sign-in page, its admin sees
who is online and deletes a user, who then shows as "Deleted user"."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, sign_in
from tests.support.app_server import AppServer
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN, LiveServer, running

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "panda-password-1"


async def test_an_organisation_registers_itself_and_its_admin_is_signed_in(
    database_url: str, tmp_path: Path, browser: Browser, page_errors: PageErrors
) -> None:
    SECRETS_SEEN.add(PASSWORD)
    server = AppServer(database_url, tmp_path / "server.log", env={"COLLAB_TENANT_REGISTRATION": "true"})
    async with running(server):
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(server.base_url + "/")
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        page_errors.watch(page, "newcomer")  # from here: the signed-out load's own 401 is expected
        register = page.get_by_test_id("register")
        await register.get_by_text("Create an organisation").click()
        form = page.get_by_test_id("register-form")
        await form.get_by_label("Organisation name").fill("Panda Logistics")
        await expect(form.get_by_label("Sign-in name")).to_have_value("panda-logistics")
        await form.get_by_label("Your name").fill("Ana")
        await form.get_by_label("Your email").fill("ana@panda.example")
        await form.get_by_label("Password").fill(PASSWORD)
        await form.get_by_role("button", name="Create organisation").click()
        await expect(page.get_by_test_id("record-list")).to_be_visible(timeout=DEADLINE_MS)
        await expect(page.get_by_text("Ana")).to_be_visible()
        # Closed while the server runs: once it stops, the signed-in page's feed would fail to reconnect.
        await context.close()
    assert page_errors.messages == []


async def test_registration_is_not_offered_unless_enabled(live_server: LiveServer, browser: Browser) -> None:
    page = await (await browser.new_context()).new_page()
    async with page.expect_response("**/api/tenants/registration") as asked:
        await page.goto(live_server.base_url + "/")
    assert await (await asked.value).json() == {"open": False}
    await expect(page.get_by_test_id("login-form")).to_be_visible()
    await expect(page.get_by_test_id("register")).to_have_count(0)


async def test_an_admin_sees_who_is_online_and_deletes_a_user(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda Logistics"})
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    bob = await sign_in(await browser.new_context(), live_server, "bob@example.com", "bob-password-1")
    await bob.get_by_test_id("record-list").get_by_role("link", name="Panda Logistics").click()
    await expect(bob.get_by_test_id("field-name")).to_have_value("Panda Logistics", timeout=DEADLINE_MS)

    admin = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(admin, "admin")
    await admin.goto(live_server.base_url + "/#/admin/users")
    online = admin.get_by_test_id("online-person")
    await expect(online.filter(has_text="bob")).to_contain_text("Panda Logistics", timeout=DEADLINE_MS)

    row = admin.get_by_test_id("user").filter(has_text="bob@example.com")
    await row.get_by_role("button", name="Delete bob").click()
    await expect(row.get_by_role("alert")).to_contain_text("cannot be undone")
    await row.get_by_role("button", name="Delete", exact=True).click()
    await expect(admin.get_by_test_id("user").filter(has_text="bob@example.com")).to_have_count(0)
    # Bob's open page learns at once that the account is gone.
    await expect(bob.get_by_text("no longer", exact=False).first).to_be_visible(timeout=DEADLINE_MS)
    assert page_errors.messages == []
