"""The save indicator and presence tell the truth: a lowered role mid-edit says the edits are not saved and
kept here, a server that is down is not "Offline", and our own disconnect announces nobody leaving (the
others see us "away" before "left")."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Set by the page before a record opens: presence.js reads it (documented there) instead of its 30 s.
GRACE_SETTING = "collab.awayGraceMs"


async def add_editor(live_server: LiveServer, admin_token: str, email: str) -> tuple[str, str]:
    """A new editor: their id and password."""
    async with live_server.client(admin_token) as http:
        created = await http.post("/api/admin/users", json={"email": email, "role": "editor"})
        created.raise_for_status()
        user = created.json()
    return user["id"], user["password"]


async def test_a_lowered_role_mid_edit_says_what_was_not_saved(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    ed_id, ed_password = await add_editor(live_server, admin_token, "ed@example.com")
    ed_context = await browser.new_context()
    await ed_context.grant_permissions(["clipboard-read", "clipboard-write"])
    ed = await sign_in(ed_context, live_server, "ed@example.com", ed_password)
    page_errors.watch(ed, "ed")
    await open_record(ed, "Panda")
    indicator = ed.get_by_test_id("save-state")

    # Typing a phrase is one edit, not one per keystroke.
    await ed.get_by_test_id("field-email").press_sequentially("ed@panda.example")
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)

    async with live_server.client(admin_token) as http:
        lowered = await http.patch(f"/api/admin/users/{ed_id}", json={"role": "viewer"})
        assert lowered.json()["role"] == "viewer"
    await ed.get_by_test_id("field-name").fill("Panda Logistics")
    await expect(indicator).to_have_text(
        "You can no longer edit — 1 edit not saved, kept on this device", timeout=DEADLINE_MS
    )
    await expect(ed.get_by_role("button", name="Retry")).to_be_hidden()
    await expect(ed.get_by_test_id("field-name")).to_be_disabled()
    # What was not saved can be copied: the field and the value this device holds.
    await ed.get_by_role("button", name="Copy my edits").click()
    await expect(ed.get_by_text("Your edits are copied")).to_be_visible(timeout=DEADLINE_MS)
    copied = await ed.evaluate("navigator.clipboard.readText()")
    assert copied == "Name: Panda Logistics"
    assert page_errors.messages == []


@pytest.mark.server_process  # the server goes down for real
async def test_a_server_that_is_down_is_not_offline(
    live_server: ServerProcess, admin_token: str, browser: Browser
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    await open_record(page, "Panda")
    indicator = page.get_by_test_id("save-state")

    await live_server.kill()
    await expect(indicator).to_have_text("Can't reach the server — no unsaved changes", timeout=DEADLINE_MS)
    await page.get_by_test_id("field-email").press_sequentially("panda@example.com")
    await expect(indicator).to_have_text("Can't reach the server — 1 change kept on this device")
    await live_server.start()
    await expect(indicator).to_have_text(SAVED, timeout=3 * DEADLINE_MS)


def unexpected(errors: PageErrors) -> list[str]:
    """The page errors, less what cutting a relayed socket makes Chromium log."""
    return [m for m in errors.messages if "WebSocket is already in CLOSING or CLOSED state" not in m]


class Relay:
    """The context's WebSockets, passed through Playwright so that a test can drop them at the server
    too, as a real network cut does (Chromium's offline emulation alone keeps the server's side open
    until it times out). Playwright routes no WebSocket of a page a service worker controls, so contexts
    using the relay block service workers (the app shell's cache is not what these tests are about)."""

    def __init__(self) -> None:
        self.to_server: list[WebSocketRoute] = []
        self.down = False

    async def route(self, context: BrowserContext) -> None:
        async def relay(route: WebSocketRoute) -> None:
            # Playwright's relay reaches the server even while the context is offline: a page retrying
            # during the cut must fail as it would on a real network.
            if self.down:
                await route.close(code=1001)
                return
            self.to_server.append(route.connect_to_server())

        await context.route_web_socket(re.compile(r"/ws/"), relay)

    async def cut(self, context: BrowserContext) -> None:
        """The device goes offline and the server sees its sockets drop."""
        self.down = True
        await context.set_offline(True)
        while self.to_server:
            await self.to_server.pop().close()

    async def restore(self, context: BrowserContext) -> None:
        self.down = False
        await context.set_offline(False)


async def others_notices(page: Page) -> list[str]:
    return await page.get_by_test_id("presence-notice").all_inner_texts()


async def test_our_own_disconnect_announces_nobody_leaving(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    _, bob_password = await add_editor(live_server, admin_token, "bob@example.com")
    alice_context = await browser.new_context(service_workers="block")  # see Relay
    network = Relay()
    await network.route(alice_context)
    alice = await sign_in(alice_context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), live_server, "bob@example.com", bob_password)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    await bob.evaluate(f"localStorage.setItem('{GRACE_SETTING}', '4000')")
    await open_record(alice, "Panda")
    await open_record(bob, "Panda")
    await expect(alice.get_by_test_id("avatar")).to_have_count(2, timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("avatar")).to_have_count(2, timeout=DEADLINE_MS)

    await network.cut(alice_context)
    await expect(alice.get_by_test_id("presence-status")).to_have_text("Reconnecting…", timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("presence-status")).to_be_visible()
    # Alice still shows Bob: her connection dropped, not his.
    await expect(alice.get_by_test_id("avatar").nth(1)).to_have_attribute("title", "bob")
    # Bob sees Alice away first, then, after the grace period, gone.
    await expect(bob.get_by_test_id("avatar").nth(1)).to_have_attribute(
        "title", "Admin (away)", timeout=DEADLINE_MS
    )
    await expect(bob.get_by_test_id("presence-notice").last).to_have_text("Admin left", timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("avatar")).to_have_count(1)
    assert "bob left" not in await others_notices(alice)

    await network.restore(alice_context)
    await expect(alice.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("presence-status")).to_be_hidden()
    await expect(bob.get_by_test_id("presence-notice").last).to_have_text("Admin joined", timeout=DEADLINE_MS)
    assert not [text for text in await others_notices(alice) if re.search(r"\bleft\b", text)]
    assert unexpected(page_errors) == []


async def test_back_within_the_grace_period_nobody_left(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    _, bob_password = await add_editor(live_server, admin_token, "bob@example.com")
    alice_context = await browser.new_context(service_workers="block")  # see Relay
    network = Relay()
    await network.route(alice_context)
    alice = await sign_in(alice_context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), live_server, "bob@example.com", bob_password)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    await open_record(alice, "Panda")
    await open_record(bob, "Panda")  # the default grace period: 30 s
    await expect(bob.get_by_test_id("avatar")).to_have_count(2, timeout=DEADLINE_MS)

    await network.cut(alice_context)
    await expect(bob.get_by_test_id("avatar").nth(1)).to_have_attribute(
        "title", "Admin (away)", timeout=DEADLINE_MS
    )
    await network.restore(alice_context)
    await expect(alice.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(bob.get_by_test_id("avatar").nth(1)).to_have_attribute("title", "Admin", timeout=DEADLINE_MS)
    notices = await others_notices(bob)
    assert "Admin left" not in notices and "Admin joined" not in notices
    assert unexpected(page_errors) == []


async def test_a_save_that_gets_no_answer_turns_into_an_error_with_retry(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    context = await browser.new_context()
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    # The first socket goes silent on demand: what the server sends no longer reaches the page.
    silent = asyncio.Event()

    def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        if silent.is_set():
            return

        def to_page(message: str | bytes) -> None:
            if not silent.is_set():
                route.send(message)

        server.on_message(to_page)

    await context.route_web_socket(re.compile(r"/ws/"), relay)
    await page.clock.install()
    await open_record(page, "Panda")
    indicator = page.get_by_test_id("save-state")

    silent.set()
    await page.get_by_test_id("field-email").fill("panda@example.com")
    await expect(indicator).to_have_text("Saving…")
    await page.clock.fast_forward(11_000)  # the state may not wait 10 s without progress
    await expect(indicator).to_have_text("No answer from the server — 1 change kept on this device")
    await page.get_by_role("button", name="Retry").click()
    await expect(indicator).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_role("button", name="Retry")).to_be_hidden()
    assert page_errors.messages == []


async def test_a_deactivated_account_keeps_its_unsaved_edits_in_view(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    ed_id, ed_password = await add_editor(live_server, admin_token, "ed@example.com")
    ed_context = await browser.new_context()
    await ed_context.grant_permissions(["clipboard-read", "clipboard-write"])
    ed = await sign_in(ed_context, live_server, "ed@example.com", ed_password)
    page_errors.watch(ed, "ed")
    await open_record(ed, "Panda")
    indicator = ed.get_by_test_id("save-state")

    # Offline, an edit waits on the device; meanwhile an admin deactivates the account.
    await ed_context.set_offline(True)
    await ed.get_by_test_id("field-email").fill("ed@panda.example")
    await expect(indicator).to_have_text("Offline — 1 change kept on this device")
    async with live_server.client(admin_token) as http:
        (await http.patch(f"/api/admin/users/{ed_id}", json={"active": False})).raise_for_status()
    await ed_context.set_offline(False)
    await expect(indicator).to_have_text(
        "You can no longer edit — 1 edit not saved, kept on this device", timeout=DEADLINE_MS
    )
    await expect(ed.get_by_test_id("field-email")).to_have_value("ed@panda.example")
    await ed.get_by_role("button", name="Copy my edits").click()
    await expect(ed.get_by_text("Your edits are copied")).to_be_visible(timeout=DEADLINE_MS)
    assert await ed.evaluate("navigator.clipboard.readText()") == "Email: ed@panda.example"
    await ed.get_by_role("button", name="Sign in again").click()
    await expect(ed.get_by_test_id("login-form")).to_be_visible(timeout=DEADLINE_MS)
    assert page_errors.messages == []
