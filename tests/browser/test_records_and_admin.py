"""The records list (search as you type, create, delete with Undo) and the admin pages, on a phone-sized
screen: nothing scrolls sideways, and every control has a label."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, Response, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, horizontal_overflow, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

MIN_TAP_PX = 44


async def small_controls(page: Page) -> list[str]:
    """Visible buttons, inputs and links in the header/nav that are less than 44 px tall."""
    found: list[str] = await page.evaluate(f"""() => [...document.querySelectorAll(
        'button, input:not([type=checkbox]), select, textarea, nav a, .records a')]
        .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < {MIN_TAP_PX})
        .map((el) => el.outerHTML.slice(0, 80))""")
    return found


async def unlabelled_controls(page: Page) -> list[str]:
    found: list[str] = await page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.offsetParent !== null && el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML.slice(0, 80))""")
    return found


def is_user_patch(response: Response) -> bool:
    return response.request.method == "PATCH" and "/api/admin/users/" in response.url


async def check_phone_layout(page: Page) -> None:
    assert await horizontal_overflow(page) <= 0
    assert await small_controls(page) == []
    assert await unlabelled_controls(page) == []


async def test_search_create_and_delete_with_undo(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    for name in ("Panda", "Penguin", "Koala"):
        await live_server.create_record(admin_token, {"name": name})
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    records = page.get_by_test_id("record-list").get_by_test_id("record")
    await expect(records).to_have_count(3)
    await check_phone_layout(page)

    # The server searches; typing on narrows the list without pressing anything.
    search = page.get_by_label("Search customers")
    await search.press_sequentially("pan")
    await expect(records).to_have_count(1, timeout=DEADLINE_MS)
    await expect(records).to_contain_text("Panda")
    await search.fill("nobody here")
    await expect(page.get_by_test_id("table-empty")).to_have_text("No records match.", timeout=DEADLINE_MS)
    await search.fill("")
    await expect(records).to_have_count(3, timeout=DEADLINE_MS)

    await page.get_by_role("button", name="Delete Koala").click()
    await expect(records).to_have_count(2, timeout=DEADLINE_MS)
    toast = page.get_by_test_id("toast")
    await expect(toast).to_contain_text("Deleted “Koala”.")
    await page.reload()
    await expect(records).to_have_count(2, timeout=DEADLINE_MS)  # deleted on the server, not just hidden
    await page.get_by_role("button", name="Delete Penguin").click()
    await page.get_by_test_id("toast").get_by_role("button", name="Undo").click()
    await expect(records).to_have_count(2, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("record-list")).to_contain_text("Penguin")
    await expect(page.get_by_test_id("record-list")).not_to_contain_text("Koala")

    await page.get_by_test_id("new-record").click()
    await expect(page.get_by_test_id("field-name")).to_have_value("New customer", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("who-when")).to_contain_text("Created by Admin on", timeout=DEADLINE_MS)
    await page.get_by_test_id("field-name").fill("Wombat")
    await expect(page.get_by_test_id("who-when")).to_contain_text("Last updated by Admin just now")
    await check_phone_layout(page)
    await page.get_by_role("link", name="← Customers").click()
    await expect(records).to_have_count(3, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("record-list")).to_contain_text("Wombat")
    assert page_errors.messages == []


async def test_admins_add_users_change_roles_and_read_the_audit_log(
    live_server: LiveServer, browser: Browser, page_errors: PageErrors
) -> None:
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await page.get_by_role("link", name="Users").click()
    users = page.get_by_test_id("user")
    await expect(users).to_have_count(1, timeout=DEADLINE_MS)

    form = page.get_by_test_id("add-user")
    await form.get_by_label("Email").fill("dan@example.com")
    await form.get_by_label("Name").fill("Dan")
    await form.get_by_label("Role").select_option("viewer")
    await form.get_by_role("button", name="Add user").click()
    await expect(users).to_have_count(2, timeout=DEADLINE_MS)
    password = await page.get_by_test_id("new-password").text_content()
    assert password
    await check_phone_layout(page)

    # The generated password works; the role is raised and the account deactivated from the page.
    token = await live_server.login("dan@example.com", password)
    SECRETS_SEEN.add(password)
    async with page.expect_response(is_user_patch) as answer:
        await page.get_by_label("Role of Dan").select_option("editor")
    assert (await answer.value).status == 200
    async with page.expect_response(is_user_patch) as answer:
        await users.filter(has_text="Dan").get_by_label("Active").uncheck()
    assert (await answer.value).status == 200
    async with live_server.client(token) as http:
        assert (await http.get("/api/auth/me")).status_code == 401  # deactivating ended his sessions
    await page.reload()
    await expect(page.get_by_label("Role of Dan")).to_have_value("editor", timeout=DEADLINE_MS)
    await expect(users.filter(has_text="Dan").get_by_label("Active")).not_to_be_checked()

    # The last admin cannot demote themselves: the refusal is shown and the control put back.
    async with page.expect_response(is_user_patch) as answer:
        await page.get_by_label("Role of Admin").select_option("viewer")
    assert (await answer.value).status == 409
    await expect(page.get_by_role("alert")).to_be_visible(timeout=DEADLINE_MS)
    await expect(page.get_by_label("Role of Admin")).to_have_value("admin")

    await page.get_by_role("link", name="Audit log").click()
    entries = page.get_by_test_id("audit-entry")
    await expect(entries.first).to_be_visible(timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("audit")).to_contain_text("user.create")
    await check_phone_layout(page)
    await page.get_by_role("link", name="Sessions").click()
    await expect(page.get_by_test_id("session").first).to_be_visible(timeout=DEADLINE_MS)
    await check_phone_layout(page)
    # The browser logs the refused PATCH itself; nothing else may have gone wrong.
    assert [m for m in page_errors.messages if "status of 409" not in m] == []
