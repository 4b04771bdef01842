"""Signing out leaves nothing of the user on the device; a session revoked elsewhere ends at once."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Dialog, Page, WebSocketRoute, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import (
    DEADLINE_MS,
    SAVED,
    fill_sign_in,
    local_databases,
    open_record,
    sign_in,
    user_id,
)
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

CAROL_EMAIL = "carol@acme.example"
CAROL_PASSWORD = "carol-password-1"


async def test_sign_out_deletes_the_users_local_data_before_the_next_person_signs_in(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    alice_id = await user_id(live_server, admin_token)
    await live_server.cli("tenant", "add", "acme")
    await live_server.add_user(CAROL_EMAIL, "editor", password=CAROL_PASSWORD, tenant="acme")
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, "Panda")
    await page.get_by_test_id("field-email").fill("panda@example.com")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert f"collab:default:{alice_id}:{record}" in await local_databases(page)
    # The page holds no token (the cookie is HttpOnly); the log scan still gets this session's.
    token = next(c["value"] for c in await context.cookies() if c["name"] == "collab_session")
    SECRETS_SEEN.add(token)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_test_id("login-form")).to_be_visible(timeout=DEADLINE_MS)
    assert [name for name in await local_databases(page) if alice_id in name or record in name] == []
    assert await page.evaluate("sessionStorage.length") == 0

    # The next person on this browser, of another organisation, sees none of it.
    await fill_sign_in(page, CAROL_EMAIL, CAROL_PASSWORD, tenant="acme")
    await expect(page.get_by_test_id("record-list")).to_contain_text("No records yet.", timeout=DEADLINE_MS)
    await expect(page.get_by_text("Panda")).to_have_count(0)
    assert [name for name in await local_databases(page) if alice_id in name or record in name] == []
    # The first session is over on the server too.
    async with live_server.client(token) as http:
        assert (await http.get("/api/auth/me")).status_code == 401
    assert page_errors.messages == []


async def test_a_session_revoked_on_another_device_returns_to_sign_in(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    laptop = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    phone = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(phone, "phone")
    await open_record(laptop, "Panda")

    await phone.get_by_role("link", name="Sessions").click()
    sessions = phone.get_by_test_id("session")
    # The admin's token from the fixture is a session too: the laptop's is the newest other one.
    await expect(sessions).to_have_count(3, timeout=DEADLINE_MS)
    await expect(sessions.filter(has_text="This device")).to_have_count(1)
    others = sessions.filter(has_not_text="This device")
    await others.first.get_by_role("button", name="Sign out").click()
    await expect(sessions).to_have_count(2, timeout=DEADLINE_MS)
    await phone.get_by_role("button", name="Sign out all other devices").click()
    await expect(sessions).to_have_count(1, timeout=DEADLINE_MS)

    # The laptop's socket closed with 4401: it is back at the sign-in form, saying why.
    await expect(laptop.get_by_test_id("login-form")).to_be_visible(timeout=DEADLINE_MS)
    await expect(laptop.get_by_test_id("login-notice")).to_have_text("Your session has ended. Sign in again.")
    await expect(laptop.get_by_test_id("record-fields")).to_have_count(0)
    assert page_errors.messages == []


def answer_next_dialog(page: Page, accept: bool) -> asyncio.Future[str]:
    """Answer the page's next dialog at once (a dialog left open blocks the click that opened it)."""
    asked: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(dialog: Dialog) -> None:
        asked.set_result(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", answer)
    return asked


async def test_signing_out_with_unsaved_edits_asks_first(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")

    # Once the record is open, what the page sends over its WebSocket no longer reaches the server: an
    # edit made then stays unsaved (a deleted record would not do: its page is no longer editable).
    cut = asyncio.Event()

    def route(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        socket.on_message(lambda message: None if cut.is_set() else server.send(message))
        server.on_message(socket.send)

    await page.route_web_socket(re.compile(r"/ws/"), route)
    await open_record(page, "Panda")
    cut.set()
    await page.get_by_test_id("field-email").fill("panda@example.com")
    await expect(page.get_by_test_id("save-state")).not_to_have_text(SAVED)

    asked = answer_next_dialog(page, accept=False)
    await page.get_by_role("button", name="Sign out").click()
    question = await asyncio.wait_for(asked, DEADLINE_MS / 1000)
    assert question.startswith("1 of your changes have not reached the server yet.")
    await expect(page.get_by_test_id("current-user")).to_be_visible()
    await expect(page.get_by_test_id("field-email")).to_have_value("panda@example.com")
    assert [name for name in await local_databases(page) if record in name] != []

    asked = answer_next_dialog(page, accept=True)
    await page.get_by_role("button", name="Sign out").click()
    await asyncio.wait_for(asked, DEADLINE_MS / 1000)
    await expect(page.get_by_test_id("login-form")).to_be_visible(timeout=DEADLINE_MS)
    assert [name for name in await local_databases(page) if record in name] == []
    assert page_errors.messages == []
