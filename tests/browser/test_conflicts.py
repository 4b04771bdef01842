"""Nobody's value is replaced silently: the person whose value lost a concurrent write sees a notice under
the field (whose value won, what theirs was) and puts theirs back with one click; everyone else sees an
open-conflict mark, and lists show a marker until someone settles it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"


async def test_an_offline_conflict_on_revenue_is_noticed_marked_and_put_back(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice_context = await browser.new_context()
    alice = await sign_in(alice_context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob_context = await browser.new_context()
    bob = await sign_in(bob_context, live_server, BOB_EMAIL, BOB_PASSWORD)
    # Bob also keeps the list open in another tab: it follows the collection's feed.
    watcher = await bob_context.new_page()
    await watcher.goto(live_server.base_url + "/")
    for page, who in ((alice, "alice"), (bob, "bob"), (watcher, "watcher")):
        page_errors.watch(page, who)
    badge = (
        watcher.get_by_test_id("record-list")
        .locator(f'[data-id="{record}"]')
        .get_by_test_id("record-conflicts")
    )
    await expect(badge).to_be_hidden(timeout=DEADLINE_MS)
    await open_record(alice, "Panda")
    await open_record(bob, "Panda")

    await alice_context.set_offline(True)
    await expect(alice.get_by_test_id("save-state")).to_have_text(
        "Offline — no unsaved changes", timeout=DEADLINE_MS
    )
    await alice.get_by_test_id("field-revenue").fill("200000")
    await bob.get_by_test_id("field-revenue").fill("150000")
    await bob.get_by_test_id("field-revenue").blur()
    await expect(bob.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await alice_context.set_offline(False)
    await expect(alice.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    # Whichever value won (the document decides by client ids), the other person is told.
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]["revenue"]
    assert stored in (200000, 150000)
    winner, loser = (alice, bob) if stored == 200000 else (bob, alice)
    won, lost = (200000, 150000) if stored == 200000 else (150000, 200000)
    notice = loser.get_by_test_id("conflict-notice-revenue")
    await expect(notice).to_contain_text(f"value won: «{won}».", timeout=DEADLINE_MS)
    await expect(notice).to_contain_text(f"Yours was «{lost}».")
    await expect(winner.get_by_test_id("conflict-mark-revenue")).to_be_visible(timeout=DEADLINE_MS)
    await expect(winner.get_by_test_id("conflict-notice-revenue")).to_have_count(0)
    await expect(badge).to_be_visible(timeout=DEADLINE_MS)  # live, from the feed
    await watcher.reload()
    await expect(badge).to_be_visible(timeout=DEADLINE_MS)  # and from the list itself

    await notice.get_by_role("button", name="Put mine back").click()
    for page in (alice, bob):
        await expect(page.get_by_test_id("field-revenue")).to_have_value(str(lost), timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("conflict-notice-revenue")).to_have_count(0, timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("conflict-mark-revenue")).to_have_count(0, timeout=DEADLINE_MS)
    await expect(badge).to_be_hidden(timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["revenue"] == lost
    await alice_context.close()
    await bob_context.close()


class Gate:
    """Holds what a page sends over its record's WebSocket while `holding`, then sends it all at once:
    two people's typing is then concurrent for sure (neither page has seen the other's keystrokes)."""

    def __init__(self) -> None:
        self.holding = False
        self._held: list[tuple[WebSocketRoute, str | bytes]] = []

    async def install(self, page: Page) -> None:
        def route(socket: WebSocketRoute) -> None:
            server = socket.connect_to_server()

            def from_page(message: str | bytes) -> None:
                if self.holding:
                    self._held.append((server, message))
                else:
                    server.send(message)

            socket.on_message(from_page)
            server.on_message(socket.send)

        await page.route_web_socket(re.compile(r"/ws/"), route)

    def release(self) -> None:
        self.holding = False
        held, self._held = self._held, []
        for server, message in held:
            server.send(message)


async def test_typing_into_name_at_the_same_moment_tells_the_replaced_person(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(), live_server, BOB_EMAIL, BOB_PASSWORD)
    gates = {alice: Gate(), bob: Gate()}
    for page, who in ((alice, "alice"), (bob, "bob")):
        page_errors.watch(page, who)
        await gates[page].install(page)
        await open_record(page, "Panda")

    texts = {alice: "Panda Logistics A", bob: "Panda Logistics B"}
    for gate in gates.values():
        gate.holding = True
    for page, text in texts.items():
        field = page.get_by_test_id("field-name")
        await field.click()
        await field.press("Control+a")
        await field.press_sequentially(text)
    for gate in gates.values():
        gate.release()
    for page in texts:
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]["name"]
    assert stored in texts.values()
    winner, loser = (alice, bob) if stored == texts[alice] else (bob, alice)
    for page in texts:
        await expect(page.get_by_test_id("field-name")).to_have_value(stored, timeout=DEADLINE_MS)
    notice = loser.get_by_test_id("conflict-notice-name")
    await expect(notice).to_contain_text(f"value won: «{texts[winner]}».", timeout=DEADLINE_MS)
    await expect(notice).to_contain_text(f"Yours was «{texts[loser]}».")
    await expect(winner.get_by_test_id("conflict-notice-name")).to_have_count(0)
    await expect(winner.get_by_test_id("conflict-mark-name")).to_be_visible(timeout=DEADLINE_MS)

    await notice.get_by_role("button", name="Put mine back").click()
    for page in texts:
        await expect(page.get_by_test_id("field-name")).to_have_value(texts[loser], timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("conflict-notice-name")).to_have_count(0, timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("conflict-mark-name")).to_have_count(0, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["name"] == texts[loser]
